#include "blocks.h"

#include <algorithm>
#include <utility>

namespace htp::zoo {

torch::nn::Conv2d conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding((kernel - 1) / 2)
                               .groups(groups)
                               .bias(bias));
}

torch::nn::BatchNorm2d batch_norm(int64_t channels, const NormOptions& norm) {
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(channels).eps(norm.eps).momentum(norm.momentum));
}

Sequential conv_norm_activation(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                Activation activation, const NormOptions& norm, int64_t groups) {
  Sequential block("Conv2dNormActivation");
  block->push_back(conv2d(in, out, kernel, stride, groups));
  block->push_back(batch_norm(out, norm));
  if (activation != Activation::kNone) block->push_back(make_activation(activation));
  return block;
}

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t squeeze_channels,
                                             Activation activation, Activation scale_activation)
    : avgpool_(register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1))),
      fc1_(register_module("fc1", conv2d(channels, squeeze_channels, 1, 1, 1, /*bias=*/true))),
      fc2_(register_module("fc2", conv2d(squeeze_channels, channels, 1, 1, 1, /*bias=*/true))),
      activation_(make_activation(activation)),
      scale_activation_(make_activation(scale_activation)) {
  register_module("activation", activation_.ptr());
  register_module("scale_activation", scale_activation_.ptr());
}

torch::Tensor SqueezeExcitationImpl::forward(const torch::Tensor& input) {
  auto scale = call(*this, avgpool_, input);
  scale = call(*this, fc1_, scale);
  scale = call_any(*this, activation_, scale);
  scale = call(*this, fc2_, scale);
  scale = call_any(*this, scale_activation_, scale);
  return scale * input;
}

int64_t make_divisible(double value, int64_t divisor) {
  const auto half = static_cast<double>(divisor) / 2;
  int64_t rounded = std::max(divisor, static_cast<int64_t>(value + half) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * value) rounded += divisor;
  return rounded;
}

torch::Tensor call_any(const torch::nn::Module& parent, torch::nn::AnyModule& child, torch::Tensor x) {
  TraceScope scope(child_name(parent, *child.ptr()));
  return child.forward<torch::Tensor>(std::move(x));
}

}  // namespace htp::zoo
