// Layers shared by the zoo's CNN families, built like torchvision.ops.misc and torchvision's
// private helpers so every family gets identical names, shapes and forward semantics.
#pragma once

#include "leaf_modules.h"
#include "htp/zoo/scoped.h"

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include <cstdint>

namespace htp::zoo {

struct NormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
};

// A Conv2d with torchvision's "same" padding for odd kernels, (kernel - 1) / 2.
torch::nn::Conv2d conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t groups = 1,
                         bool bias = false);

torch::nn::BatchNorm2d batch_norm(int64_t channels, const NormOptions& norm = {});

// torchvision.ops.Conv2dNormActivation: Conv2d (no bias), BatchNorm2d, then the activation unless kNone.
Sequential conv_norm_activation(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                Activation activation, const NormOptions& norm = {}, int64_t groups = 1);

// torchvision.ops.SqueezeExcitation: input * scale_activation(fc2(activation(fc1(avgpool(input))))).
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t squeeze_channels, Activation activation,
                        Activation scale_activation);
  torch::Tensor forward(const torch::Tensor& input);

 private:
  torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
  torch::nn::Conv2d fc1_{nullptr};
  torch::nn::Conv2d fc2_{nullptr};
  torch::nn::AnyModule activation_;
  torch::nn::AnyModule scale_activation_;
};
TORCH_MODULE(SqueezeExcitation);

// torchvision's _make_divisible: rounds channels to a multiple of `divisor`, losing at most 10%.
int64_t make_divisible(double value, int64_t divisor = 8);

// call() for a child held type-erased (activations chosen at construction time).
torch::Tensor call_any(const torch::nn::Module& parent, torch::nn::AnyModule& child, torch::Tensor x);

}  // namespace htp::zoo
