#include "leaf_modules.h"

#include <torch/nn/modules/activation.h>

#include <stdexcept>
#include <vector>

namespace htp::zoo {

torch::Tensor LinearImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }

torch::Tensor HardswishImpl::forward(const torch::Tensor& x) { return torch::hardswish(x); }

torch::Tensor HardsigmoidImpl::forward(const torch::Tensor& x) { return torch::hardsigmoid(x); }

StochasticDepthImpl::StochasticDepthImpl(double p) : p_(p) {}

torch::Tensor StochasticDepthImpl::forward(const torch::Tensor& x) {
  // Like torchvision, eval mode records no op at all, so traced graphs match.
  if (!is_training() || p_ == 0.0) return x;
  std::vector<int64_t> row_shape(x.dim(), 1);
  row_shape[0] = x.size(0);
  const double survival = 1.0 - p_;
  auto noise = torch::empty(row_shape, x.options()).bernoulli_(survival);
  if (survival > 0.0) noise.div_(survival);
  return x * noise;
}

torch::nn::AnyModule make_activation(Activation kind) {
  switch (kind) {
    case Activation::kReLU: return torch::nn::AnyModule(torch::nn::ReLU());
    case Activation::kReLU6: return torch::nn::AnyModule(torch::nn::ReLU6());
    case Activation::kHardswish: return torch::nn::AnyModule(Hardswish());
    case Activation::kHardsigmoid: return torch::nn::AnyModule(Hardsigmoid());
    case Activation::kSiLU: return torch::nn::AnyModule(torch::nn::SiLU());
    case Activation::kSigmoid: return torch::nn::AnyModule(torch::nn::Sigmoid());
    case Activation::kNone: break;
  }
  throw std::logic_error("make_activation: no module for Activation::kNone");
}

}  // namespace htp::zoo
