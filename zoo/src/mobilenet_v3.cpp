// torchvision.models.mobilenetv3: MobileNetV3 in its "small" configuration, width multiplier 1.
#include "blocks.h"
#include "families.h"
#include "init.h"

#include <torch/nn/modules/dropout.h>

#include <array>

namespace htp::zoo {
namespace {

// MobileNetV3 uses BatchNorm2d(eps=0.001, momentum=0.01) throughout.
const NormOptions kNorm{0.001, 0.01};

// One row of the paper's table 2 (torchvision's InvertedResidualConfig without dilation).
struct BlockConfig {
  int64_t in;
  int64_t kernel;
  int64_t expanded;
  int64_t out;
  bool use_se;
  bool use_hardswish;
  int64_t stride;
};

constexpr std::array<BlockConfig, 11> kSmallBlocks = {{
    {16, 3, 16, 16, true, false, 2},
    {16, 3, 72, 24, false, false, 2},
    {24, 3, 88, 24, false, false, 1},
    {24, 5, 96, 40, true, true, 2},
    {40, 5, 240, 40, true, true, 1},
    {40, 5, 240, 40, true, true, 1},
    {40, 5, 120, 48, true, true, 1},
    {48, 5, 144, 48, true, true, 1},
    {48, 5, 288, 96, true, true, 2},
    {96, 5, 576, 96, true, true, 1},
    {96, 5, 576, 96, true, true, 1},
}};
constexpr int64_t kSmallLastChannel = 1024;

class InvertedResidualImpl : public torch::nn::Module {
 public:
  explicit InvertedResidualImpl(const BlockConfig& config)
      : use_res_connect_(config.stride == 1 && config.in == config.out),
        block_(register_module("block", Sequential())) {
    const auto activation = config.use_hardswish ? Activation::kHardswish : Activation::kReLU;
    const int64_t expanded = config.expanded;
    if (expanded != config.in)
      block_->push_back(conv_norm_activation(config.in, expanded, 1, 1, activation, kNorm));
    block_->push_back(
        conv_norm_activation(expanded, expanded, config.kernel, config.stride, activation, kNorm, expanded));
    if (config.use_se) {
      block_->push_back(SqueezeExcitation(expanded, make_divisible(expanded / 4), Activation::kReLU,
                                          Activation::kHardsigmoid));
    }
    block_->push_back(conv_norm_activation(expanded, config.out, 1, 1, Activation::kNone, kNorm));
  }

  torch::Tensor forward(torch::Tensor x) {
    auto result = call(*this, block_, x);
    if (use_res_connect_) result = result + x;
    return result;
  }

 private:
  bool use_res_connect_;
  Sequential block_;
};
TORCH_MODULE(InvertedResidual);

Sequential make_features(int64_t last_conv_channels) {
  Sequential features;
  features->push_back(conv_norm_activation(3, kSmallBlocks.front().in, 3, 2, Activation::kHardswish, kNorm));
  for (const auto& config : kSmallBlocks) features->push_back(InvertedResidual(config));
  features->push_back(
      conv_norm_activation(kSmallBlocks.back().out, last_conv_channels, 1, 1, Activation::kHardswish, kNorm));
  return features;
}

class MobileNetV3Impl : public torch::nn::Module {
 public:
  static constexpr int64_t kLastConvChannels = 6 * kSmallBlocks.back().out;

  MobileNetV3Impl()
      : features_(register_module("features", make_features(kLastConvChannels))),
        avgpool_(register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1))),
        classifier_(register_module("classifier", Sequential())) {
    classifier_->push_back(Linear(kLastConvChannels, kSmallLastChannel));
    classifier_->push_back(Hardswish());
    classifier_->push_back(torch::nn::Dropout(0.2));
    classifier_->push_back(Linear(kSmallLastChannel, 1000));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = call(*this, features_, x);
    x = call(*this, avgpool_, x);
    x = torch::flatten(x, 1);
    return call(*this, classifier_, x);
  }

 private:
  Sequential features_;
  torch::nn::AdaptiveAvgPool2d avgpool_;
  Sequential classifier_;
};
TORCH_MODULE(MobileNetV3);

}  // namespace

ZooModel build_mobilenet_v3_small() { return image_classifier(MobileNetV3().ptr(), LinearInit::kNormal); }

}  // namespace htp::zoo
