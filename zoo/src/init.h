// Weight initialisation and packaging shared by the zoo families.
#pragma once

#include "htp/zoo/zoo.h"

#include <torch/nn/module.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
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

// A ZooModel around a frozen `root` whose Impl has `torch::Tensor forward(torch::Tensor)`, one image in.
template <typename Impl>
ZooModel single_image_model(std::shared_ptr<Impl> root, std::string output_name) {
  freeze(*root);
  ZooModel model;
  model.module = root;
  model.forward = [root](const std::vector<torch::Tensor>& inputs) {
    if (inputs.size() != 1) throw std::invalid_argument("image models take exactly one input tensor");
    return std::vector<torch::Tensor>{root->forward(inputs[0])};
  };
  model.output_names = {std::move(output_name)};
  return model;
}

// Packages a single-image classifier (its input is set by the registry).
template <typename Impl>
ZooModel image_classifier(std::shared_ptr<Impl> root, LinearInit linear) {
  init_weights(*root, linear);
  return single_image_model(root, "output");
}

// Packages an image model whose batch stays symbolic, its input named `images` as Ultralytics' and
// Segment Anything's exports name it; `output_dims` are the output's dim names ("batch" first).
template <typename Impl>
ZooModel batched_image_model(std::shared_ptr<Impl> root, InputSpec input, std::string output_name,
                             std::vector<std::string> output_dims) {
  ZooModel model = single_image_model(root, std::move(output_name));
  input.name = "images";
  input.dim_names = {"batch", "", "", ""};
  model.inputs = {std::move(input)};
  model.output_dim_names = {std::move(output_dims)};
  return model;
}

}  // namespace htp::zoo
