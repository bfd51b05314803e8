#include "init.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

namespace htp::zoo {
namespace {

void init_conv(torch::nn::Conv2dImpl& conv) {
  // torchvision's MobileNets/EfficientNet pass no nonlinearity (leaky_relu, a=0): the same gain as relu.
  torch::nn::init::kaiming_normal_(conv.weight, 0.0, torch::kFanOut, torch::kReLU);
  if (conv.bias.defined()) torch::nn::init::zeros_(conv.bias);
}

void init_linear(torch::nn::LinearImpl& linear, LinearInit scheme) {
  if (scheme == LinearInit::kTorchDefault) return;
  if (scheme == LinearInit::kNormal) {
    torch::nn::init::normal_(linear.weight, 0.0, 0.01);
  } else {
    const double range = 1.0 / std::sqrt(static_cast<double>(linear.options.out_features()));
    torch::nn::init::uniform_(linear.weight, -range, range);
  }
  torch::nn::init::zeros_(linear.bias);
}

void randomize_batch_norm(torch::nn::BatchNorm2dImpl& norm) {
  norm.weight.uniform_(0.5, 1.5);
  norm.bias.uniform_(-0.2, 0.2);
  norm.running_mean.uniform_(-0.2, 0.2);
  norm.running_var.uniform_(0.5, 1.5);
}

}  // namespace

void init_weights(torch::nn::Module& root, LinearInit linear) {
  torch::NoGradGuard no_grad;
  for (const auto& module : root.modules()) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) init_conv(*conv);
    if (auto* fc = module->as<torch::nn::Linear>()) init_linear(*fc, linear);
    if (auto* norm = module->as<torch::nn::BatchNorm2d>()) randomize_batch_norm(*norm);
  }
}

void freeze(torch::nn::Module& root) {
  root.eval();
  for (auto& parameter : root.parameters()) parameter.set_requires_grad(false);
  for (auto& buffer : root.buffers()) buffer.set_requires_grad(false);
}

}  // namespace htp::zoo
