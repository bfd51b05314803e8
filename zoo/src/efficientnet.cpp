// torchvision.models.efficientnet: EfficientNet-B0 to B7, B0's MBConv stages scaled in width and depth.
#include "blocks.h"
#include "families.h"
#include "init.h"

#include <torch/nn/modules/dropout.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace htp::zoo {
namespace {

// One row of the paper's table 1 (torchvision's MBConvConfig before scaling).
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

// What torchvision's efficientnet_bN builder passes to its EfficientNet class.
struct VariantConfig {
  double width_mult;
  double depth_mult;
  double dropout;
  NormOptions norm;
};

// Indexed by EfficientNetVariant. torchvision gives B5-B7 BatchNorm2d(eps=0.001, momentum=0.01), the settings of
// the ported weights they ship; B0-B4 keep BatchNorm2d's defaults.
constexpr std::array<VariantConfig, 8> kVariants = {{
    {1.0, 1.0, 0.2, {}},
    {1.0, 1.1, 0.2, {}},
    {1.1, 1.2, 0.3, {}},
    {1.2, 1.4, 0.3, {}},
    {1.4, 1.8, 0.4, {}},
    {1.6, 2.2, 0.4, {0.001, 0.01}},
    {1.8, 2.6, 0.5, {0.001, 0.01}},
    {2.0, 3.1, 0.5, {0.001, 0.01}},
}};

// torchvision's MBConvConfig.adjust_channels and adjust_depth.
StageConfig scaled(StageConfig stage, const VariantConfig& variant) {
  stage.in = make_divisible(static_cast<double>(stage.in) * variant.width_mult);
  stage.out = make_divisible(static_cast<double>(stage.out) * variant.width_mult);
  stage.layers = static_cast<int64_t>(std::ceil(static_cast<double>(stage.layers) * variant.depth_mult));
  return stage;
}

std::vector<StageConfig> scaled_stages(const VariantConfig& variant) {
  std::vector<StageConfig> stages;
  for (const auto& stage : kB0Stages) stages.push_back(scaled(stage, variant));
  return stages;
}

// One MBConv block: its stage's row with the block's own input channels and stride.
struct BlockConfig {
  int64_t in;
  int64_t out;
  int64_t kernel;
  int64_t stride;
  int64_t expand_ratio;
  double drop_prob;
  NormOptions norm;
};

class MBConvImpl : public torch::nn::Module {
 public:
  explicit MBConvImpl(const BlockConfig& config)
      : use_res_connect_(config.stride == 1 && config.in == config.out),
        block_(register_module("block", Sequential())) {
    const int64_t in = config.in;
    const int64_t expanded = make_divisible(static_cast<double>(in * config.expand_ratio));
    if (expanded != in) block_->push_back(conv_norm_activation(in, expanded, 1, 1, Activation::kSiLU, config.norm));
    block_->push_back(conv_norm_activation(expanded, expanded, config.kernel, config.stride, Activation::kSiLU,
                                           config.norm, expanded));
    block_->push_back(
        SqueezeExcitation(expanded, std::max<int64_t>(1, in / 4), Activation::kSiLU, Activation::kSigmoid));
    block_->push_back(conv_norm_activation(expanded, config.out, 1, 1, Activation::kNone, config.norm));
    stochastic_depth_ = register_module("stochastic_depth", StochasticDepth(config.drop_prob));
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

int64_t total_blocks(const std::vector<StageConfig>& stages) {
  int64_t total = 0;
  for (const auto& stage : stages) total += stage.layers;
  return total;
}

// Stages are nested Sequentials; the drop probability grows linearly with the block's overall index.
Sequential make_features(const std::vector<StageConfig>& stages, int64_t last_conv_channels,
                         const NormOptions& norm) {
  Sequential features;
  features->push_back(conv_norm_activation(3, stages.front().in, 3, 2, Activation::kSiLU, norm));
  const auto total = static_cast<double>(total_blocks(stages));
  int64_t block_id = 0;
  for (const auto& config : stages) {
    Sequential stage;
    for (int64_t i = 0; i < config.layers; ++i, ++block_id) {
      const double drop_prob = kStochasticDepthProb * static_cast<double>(block_id) / total;
      stage->push_back(MBConv(BlockConfig{i == 0 ? config.in : config.out, config.out, config.kernel,
                                          i == 0 ? config.stride : 1, config.expand_ratio, drop_prob, norm}));
    }
    features->push_back(stage);
  }
  features->push_back(conv_norm_activation(stages.back().out, last_conv_channels, 1, 1, Activation::kSiLU, norm));
  return features;
}

class EfficientNetImpl : public torch::nn::Module {
 public:
  explicit EfficientNetImpl(const VariantConfig& variant) {
    const auto stages = scaled_stages(variant);
    const int64_t last_conv_channels = 4 * stages.back().out;
    features_ = register_module("features", make_features(stages, last_conv_channels, variant.norm));
    avgpool_ = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    classifier_ = register_module("classifier", Sequential());
    classifier_->push_back(torch::nn::Dropout(variant.dropout));
    classifier_->push_back(Linear(last_conv_channels, 1000));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = call(*this, features_, x);
    x = call(*this, avgpool_, x);
    x = torch::flatten(x, 1);
    return call(*this, classifier_, x);
  }

 private:
  Sequential features_{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
  Sequential classifier_{nullptr};
};
TORCH_MODULE(EfficientNet);

}  // namespace

ZooModel build_efficientnet(EfficientNetVariant variant) {
  const auto& config = kVariants.at(static_cast<size_t>(variant));
  return image_classifier(EfficientNet(config).ptr(), LinearInit::kUniformFanOut);
}

}  // namespace htp::zoo
