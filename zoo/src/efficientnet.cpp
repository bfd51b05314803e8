// torchvision.models.efficientnet: EfficientNet-B0 (MBConv stages, width and depth multipliers 1).
#include "blocks.h"
#include "families.h"
#include "init.h"

#include <torch/nn/modules/dropout.h>

#include <algorithm>
#include <array>

namespace htp::zoo {
namespace {

// One row of the paper's table 1 (torchvision's MBConvConfig).
struct StageConfig {
  int64_t expand_ratio;
  int64_t kernel;
  int64_t stride;
  int64_t in;
  int64_t out;
  int64_t layers;
};

constexpr std::array<StageConfig, 7> kB0Stages = {{
    {1, 3, 1, 32, 16, 1},
    {6, 3, 2, 16, 24, 2},
    {6, 5, 2, 24, 40, 2},
    {6, 3, 2, 40, 80, 3},
    {6, 5, 1, 80, 112, 3},
    {6, 5, 2, 112, 192, 4},
    {6, 3, 1, 192, 320, 1},
}};
constexpr double kStochasticDepthProb = 0.2;

class MBConvImpl : public torch::nn::Module {
 public:
  MBConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t expand_ratio, double drop_prob)
      : use_res_connect_(stride == 1 && in == out), block_(register_module("block", Sequential())) {
    const int64_t expanded = make_divisible(static_cast<double>(in * expand_ratio));
    if (expanded != in) block_->push_back(conv_norm_activation(in, expanded, 1, 1, Activation::kSiLU));
    block_->push_back(
        conv_norm_activation(expanded, expanded, kernel, stride, Activation::kSiLU, {}, expanded));
    block_->push_back(
        SqueezeExcitation(expanded, std::max<int64_t>(1, in / 4), Activation::kSiLU, Activation::kSigmoid));
    block_->push_back(conv_norm_activation(expanded, out, 1, 1, Activation::kNone));
    stochastic_depth_ = register_module("stochastic_depth", StochasticDepth(drop_prob));
  }

  torch::Tensor forward(torch::Tensor x) {
    auto result = call(*this, block_, x);
    if (!use_res_connect_) return result;
    result = call(*this, stochastic_depth_, result);
    return result + x;
  }

 private:
  bool use_res_connect_;
  Sequential block_;
  StochasticDepth stochastic_depth_{nullptr};
};
TORCH_MODULE(MBConv);

int64_t total_blocks() {
  int64_t total = 0;
  for (const auto& stage : kB0Stages) total += stage.layers;
  return total;
}

// Stages are nested Sequentials; the drop probability grows linearly with the block's overall index.
Sequential make_features(int64_t last_conv_channels) {
  Sequential features;
  features->push_back(conv_norm_activation(3, kB0Stages.front().in, 3, 2, Activation::kSiLU));
  const auto total = static_cast<double>(total_blocks());
  int64_t block_id = 0;
  for (const auto& config : kB0Stages) {
    Sequential stage;
    for (int64_t i = 0; i < config.layers; ++i, ++block_id) {
      const int64_t in = i == 0 ? config.in : config.out;
      const int64_t stride = i == 0 ? config.stride : 1;
      const double drop_prob = kStochasticDepthProb * static_cast<double>(block_id) / total;
      stage->push_back(MBConv(in, config.out, config.kernel, stride, config.expand_ratio, drop_prob));
    }
    features->push_back(stage);
  }
  features->push_back(
      conv_norm_activation(kB0Stages.back().out, last_conv_channels, 1, 1, Activation::kSiLU));
  return features;
}

class EfficientNetImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kLastConvChannels = 4 * kB0Stages.back().out;

  EfficientNetImpl()
      : features_(register_module("features", make_features(kLastConvChannels))),
        avgpool_(register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1))),
        classifier_(register_module("classifier", Sequential())) {
    classifier_->push_back(torch::nn::Dropout(0.2));
    classifier_->push_back(Linear(kLastConvChannels, 1000));
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
TORCH_MODULE(EfficientNet);

}  // namespace

ZooModel build_efficientnet_b0() {
  return image_classifier(EfficientNet().ptr(), LinearInit::kUniformFanOut);
}

}  // namespace htp::zoo
