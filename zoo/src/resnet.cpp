// torchvision.models.resnet: ResNet with BasicBlock (resnet18) or Bottleneck (resnet50) stages.
#include "blocks.h"
#include "families.h"
#include "init.h"

#include <torch/nn/modules/activation.h>

#include <array>
#include <string>
#include <vector>

namespace htp::zoo {
namespace {

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride, Sequential downsample)
      : conv1_(register_module("conv1", conv2d(in, planes, 3, stride))),
        bn1_(register_module("bn1", batch_norm(planes))),
        relu_(register_module("relu", torch::nn::ReLU())),
        conv2_(register_module("conv2", conv2d(planes, planes, 3))),
        bn2_(register_module("bn2", batch_norm(planes))) {
    if (downsample) downsample_ = register_module("downsample", downsample);
  }

  torch::Tensor forward(torch::Tensor x) {
    auto out = call(*this, conv1_, x);
    out = call(*this, bn1_, out);
    out = call(*this, relu_, out);
    out = call(*this, conv2_, out);
    out = call(*this, bn2_, out);
    const auto identity = downsample_ ? call(*this, downsample_, x) : x;
    return call(*this, relu_, out + identity);
  }

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::ReLU relu_;
  torch::nn::Conv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  Sequential downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;

  BottleneckImpl(int64_t in, int64_t planes, int64_t stride, Sequential downsample)
      : conv1_(register_module("conv1", conv2d(in, planes, 1))),
        bn1_(register_module("bn1", batch_norm(planes))),
        conv2_(register_module("conv2", conv2d(planes, planes, 3, stride))),
        bn2_(register_module("bn2", batch_norm(planes))),
        conv3_(register_module("conv3", conv2d(planes, planes * kExpansion, 1))),
        bn3_(register_module("bn3", batch_norm(planes * kExpansion))),
        relu_(register_module("relu", torch::nn::ReLU())) {
    if (downsample) downsample_ = register_module("downsample", downsample);
  }

  torch::Tensor forward(torch::Tensor x) {
    auto out = call(*this, conv1_, x);
    out = call(*this, bn1_, out);
    out = call(*this, relu_, out);
    out = call(*this, conv2_, out);
    out = call(*this, bn2_, out);
    out = call(*this, relu_, out);
    out = call(*this, conv3_, out);
    out = call(*this, bn3_, out);
    const auto identity = downsample_ ? call(*this, downsample_, x) : x;
    return call(*this, relu_, out + identity);
  }

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  torch::nn::Conv2d conv3_;
  torch::nn::BatchNorm2d bn3_;
  torch::nn::ReLU relu_;
  Sequential downsample_{nullptr};
};
TORCH_MODULE(Bottleneck);

enum class BlockType { kBasic, kBottleneck };

int64_t expansion(BlockType type) { return type == BlockType::kBasic ? 1 : BottleneckImpl::kExpansion; }

// ResNet._make_layer: the first block changes stride/width (with a downsample path if needed).
Sequential make_layer(BlockType type, int64_t& inplanes, int64_t planes, int64_t blocks, int64_t stride) {
  const int64_t out = planes * expansion(type);
  Sequential downsample{nullptr};
  if (stride != 1 || inplanes != out) {
    downsample = Sequential();
    downsample->push_back(conv2d(inplanes, out, 1, stride));
    downsample->push_back(batch_norm(out));
  }
  Sequential layer;
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t block_stride = i == 0 ? stride : 1;
    const Sequential block_downsample = i == 0 ? downsample : Sequential{nullptr};
    if (type == BlockType::kBasic) {
      layer->push_back(BasicBlock(inplanes, planes, block_stride, block_downsample));
    } else {
      layer->push_back(Bottleneck(inplanes, planes, block_stride, block_downsample));
    }
    inplanes = out;
  }
  return layer;
}

class ResNetImpl : public torch::nn::Module {
 public:
  ResNetImpl(BlockType type, const std::array<int64_t, 4>& blocks)
      : conv1_(register_module("conv1", conv2d(3, 64, 7, 2))),
        bn1_(register_module("bn1", batch_norm(64))),
        relu_(register_module("relu", torch::nn::ReLU())),
        maxpool_(register_module("maxpool",
                                 torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)))) {
    int64_t inplanes = 64;
    const std::array<int64_t, 4> planes = {64, 128, 256, 512};
    for (size_t i = 0; i < planes.size(); ++i) {
      const int64_t stride = i == 0 ? 1 : 2;
      layers_.push_back(register_module("layer" + std::to_string(i + 1),
                                        make_layer(type, inplanes, planes[i], blocks[i], stride)));
    }
    avgpool_ = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    fc_ = register_module("fc", Linear(inplanes, 1000));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = call(*this, conv1_, x);
    x = call(*this, bn1_, x);
    x = call(*this, relu_, x);
    x = call(*this, maxpool_, x);
    for (auto& layer : layers_) x = call(*this, layer, x);
    x = call(*this, avgpool_, x);
    x = torch::flatten(x, 1);
    return call(*this, fc_, x);
  }

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::ReLU relu_;
  torch::nn::MaxPool2d maxpool_;
  std::vector<Sequential> layers_;
  torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
  Linear fc_{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace

ZooModel build_resnet18() {
  const std::array<int64_t, 4> blocks = {2, 2, 2, 2};
  return image_classifier(ResNet(BlockType::kBasic, blocks).ptr(), LinearInit::kTorchDefault);
}

ZooModel build_resnet50() {
  const std::array<int64_t, 4> blocks = {3, 4, 6, 3};
  return image_classifier(ResNet(BlockType::kBottleneck, blocks).ptr(), LinearInit::kTorchDefault);
}

}  // namespace htp::zoo
