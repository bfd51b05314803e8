// Leaf modules torchvision uses whose torch::nn counterpart is missing in LibTorch 1.13 or traces
// differently. Named like torchvision's classes so class_name() reports the same hierarchy.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace htp::zoo {

// torch::nn::Linear computes addmm(bias, x, weight.t()) for 2-d inputs; Python's nn.Linear records a
// single aten::linear, which is what torchvision's traced graphs (and torch.onnx) have.
class LinearImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(Linear);

class HardswishImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(Hardswish);

class HardsigmoidImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(Hardsigmoid);

// torchvision.ops.StochasticDepth in "row" mode (the only mode its classifiers use): identity in eval.
class StochasticDepthImpl : public torch::nn::Module {
 public:
  explicit StochasticDepthImpl(double p);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double p_;
};
TORCH_MODULE(StochasticDepth);

// The activation layers torchvision's builders are parameterised with.
enum class Activation { kNone, kReLU, kReLU6, kHardswish, kHardsigmoid, kSiLU, kSigmoid };

// A fresh module for `kind`; kNone is not a module and throws std::logic_error.
torch::nn::AnyModule make_activation(Activation kind);

}  // namespace htp::zoo
