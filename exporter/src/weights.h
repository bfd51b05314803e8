// Loading a state dict by name: safetensors, or torch.save of a plain dict.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <string>

namespace htp::exporter {

// Reads a safetensors file or a torch.save(dict(...)) archive into name → tensor.
std::map<std::string, at::Tensor> read_state_dict(const std::string& path);

// Copies every tensor into the module's parameters and buffers of the same name. Throws
// ExportError naming the missing, unexpected or mis-shaped tensors; the module is unchanged then.
void load_state_dict(torch::nn::Module& module, const std::map<std::string, at::Tensor>& state, const std::string& path);

}  // namespace htp::exporter
