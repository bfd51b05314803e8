// Weight initialisation and packaging shared by the zoo families.
#pragma once

#include "htp/zoo/zoo.h"

#include <torch/nn/module.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace htp::zoo {

// How torchvision initialises a family's Linear layers (convolutions are always kaiming-normal fan_out).
enum class LinearInit {
  kTorchDefault,   // ResNet keeps nn.Linear's own init
  kNormal,         // MobileNets: N(0, 0.01), zero bias
  kUniformFanOut,  // EfficientNet: U(-1/sqrt(out), 1/sqrt(out)), zero bias
};

// torchvision's init scheme, then random BatchNorm statistics and affine parameters, so that folding
// or converting BatchNorm is really exercised (torchvision's identity BatchNorms would hide mistakes).
// Draws from the current torch RNG only.
void init_weights(torch::nn::Module& root, LinearInit linear);

// Eval mode and no gradients anywhere: the tracer only embeds tensors that do not require grad.
void freeze(torch::nn::Module& root);

// Packages a single-image classifier whose Impl has `torch::Tensor forward(torch::Tensor)`.
template <typename Impl>
ZooModel image_classifier(std::shared_ptr<Impl> root, LinearInit linear) {
  init_weights(*root, linear);
  freeze(*root);
  ZooModel model;
  model.module = root;
  model.forward = [root](const std::vector<torch::Tensor>& inputs) {
    if (inputs.size() != 1) throw std::invalid_argument("image classifiers take exactly one input tensor");
    return std::vector<torch::Tensor>{root->forward(inputs[0])};
  };
  model.output_names = {"output"};
  return model;
}

}  // namespace htp::zoo
