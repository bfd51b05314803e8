// The built-in model zoo: torch::nn re-implementations whose module and parameter names are
// identical to the reference implementations (torchvision), so their state dicts load by name.
#pragma once

#include "htp/zoo/names.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace htp::zoo {

struct InputSpec {
  std::string name;            // graph input name, e.g. "input" or "input_ids"
  std::vector<int64_t> shape;  // example shape
  torch::Dtype dtype = torch::kFloat32;
  // Per dim: a symbolic name ("batch", "sequence") for a dynamic axis, "" for a fixed size; empty
  // when every dim is fixed.
  std::vector<std::string> dim_names;
  // Draws the example input (token ids below the vocabulary size, a 0/1 mask, ...) from the current
  // torch seed; null for a standard normal float tensor.
  std::function<torch::Tensor(const std::vector<int64_t>& shape)> example;
};

struct ZooModel {
  std::shared_ptr<torch::nn::Module> module;  // root; named_modules() and state_dict come from it
  // Calls the root forward; every submodule call happens inside its tracer scope.
  std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)> forward;
  std::vector<InputSpec> inputs;
  std::vector<std::string> output_names;
  // Per output, per dim: as InputSpec::dim_names; empty when the outputs' dims are all fixed.
  std::vector<std::vector<std::string>> output_dim_names;
  // Entries published checkpoints of this model carry that are not its state (buffers older library
  // versions saved, e.g. GPT-2's "h.*.attn.bias"): --weights skips them. '*' stands for one name component.
  std::vector<std::string> ignored_checkpoint_keys;
  // Where a model with a task head keeps its base model ("transformer.", "model."), empty for a base
  // model: a checkpoint of the base model alone has its names without this prefix.
  std::string base_model_prefix;
  // Fills `weight` with the values the builder draws for its parameter `name` (a name of `module`), from that
  // name and the seed alone, so any one weight can be drawn again without the others; null for builders
  // that draw all weights in one sequence. Set exactly by the builders that honour ZooOptions::draw_weights.
  std::function<void(const std::string& name, torch::Tensor& weight)> draw_weight;
};

struct ZooOptions {
  // Overrides the image size (N,C,H,W) of single-image models; empty keeps the default.
  std::vector<int64_t> input_shape;
  // Example batch size and sequence length of sequence models (--batch, --seq-len); 0 keeps the
  // model's default.
  int64_t batch = 0;
  int64_t seq_len = 0;
  // False when the caller places the weights (drawn with ZooModel::draw_weight, loaded from a checkpoint, or
  // streamed straight to the file): builders that allocate their weights without drawing them (Llama's) then
  // leave them undrawn, which saves seconds per billion weights. Untouched, the allocations take no memory:
  // Linux maps pages nobody wrote to one shared page of zeros.
  bool draw_weights = true;
};

// Builds a model in eval mode with deterministic random weights drawn from the current torch
// seed (the caller sets it). Throws std::invalid_argument for an unknown name, listing the known ones.
ZooModel make_model(const std::string& name, const ZooOptions& options = {});

}  // namespace htp::zoo
