// torchvision.models.mobilenetv2: MobileNetV2 with its InvertedResidual blocks, width multiplier 1.
#include "blocks.h"
#include "families.h"
#include "init.h"

#include <torch/nn/modules/dropout.h>

#include <array>

namespace htp::zoo {
namespace {

class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
      : use_res_connect_(stride == 1 && in == out), conv_(register_module("conv", Sequential())) {
    const int64_t hidden = in * expand_ratio;
    if (expand_ratio != 1) conv_->push_back(conv_norm_activation(in, hidden, 1, 1, Activation::kReLU6));
    conv_->push_back(
        conv_norm_activation(hidden, hidden, 3, stride, Activation::kReLU6, {}, /*groups=*/hidden));
    conv_->push_back(conv2d(hidden, out, 1));
    conv_->push_back(batch_norm(out));
  }

  torch::Tensor forward(torch::Tensor x) {
    if (use_res_connect_) return x + call(*this, conv_, x);
    return call(*this, conv_, x);
  }

 private:
  bool use_res_connect_;
  Sequential conv_;
};
TORCH_MODULE(InvertedResidual);

struct StageConfig {
  int64_t expand_ratio;
  int64_t channels;
  int64_t repeats;
  int64_t stride;
};

constexpr std::array<StageConfig, 7> kStages = {{
    {1, 16, 1, 1},
    {6, 24, 2, 2},
    {6, 32, 3, 2},
    {6, 64, 4, 2},
    {6, 96, 3, 1},
    {6, 160, 3, 2},
    {6, 320, 1, 1},
}};

Sequential make_features(int64_t last_channel) {
  Sequential features;
  int64_t channels = 32;
  features->push_back(conv_norm_activation(3, channels, 3, 2, Activation::kReLU6));
  for (const auto& stage : kStages) {
    for (int64_t i = 0; i < stage.repeats; ++i) {
      features->push_back(
          InvertedResidual(channels, stage.channels, i == 0 ? stage.stride : 1, stage.expand_ratio));
      channels = stage.channels;
    }
  }
  features->push_back(conv_norm_activation(channels, last_channel, 1, 1, Activation::kReLU6));
  return features;
}

class MobileNetV2Impl : public torch::nn::Module {
 public:
  static constexpr int64_t kLastChannel = 1280;

  MobileNetV2Impl()
      : features_(register_module("features", make_features(kLastChannel))),
        classifier_(register_module("classifier", Sequential())) {
    classifier_->push_back(torch::nn::Dropout(0.2));
    classifier_->push_back(Linear(kLastChannel, 1000));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = call(*this, features_, x);
    // torchvision pools functionally here, so the pooling belongs to the root module.
    x = torch::adaptive_avg_pool2d(x, {1, 1});
    x = torch::flatten(x, 1);
    return call(*this, classifier_, x);
  }

 private:
  Sequential features_;
  Sequential classifier_;
};
TORCH_MODULE(MobileNetV2);

}  // namespace

ZooModel build_mobilenet_v2() { return image_classifier(MobileNetV2().ptr(), LinearInit::kNormal); }

}  // namespace htp::zoo
