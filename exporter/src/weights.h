// Loading a state dict by name: safetensors, or torch.save of a plain dict.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace htp::exporter {

// One tensor of a checkpoint: its dtype and shape, and its values on demand. A safetensors tensor is read
// from its file by each call, so that loading holds one checkpoint tensor at a time.
struct CheckpointTensor {
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  std::function<at::Tensor()> read;
};
using Checkpoint = std::map<std::string, CheckpointTensor>;

// A safetensors file (its header read and checked against the file's size, the data left in the file)
// or a torch.save(dict(...)) archive (read whole).
Checkpoint read_checkpoint(const std::string& path);

// read_checkpoint with every tensor read.
std::map<std::string, at::Tensor> read_state_dict(const std::string& path);

// The first five names, then how many there are in all, for messages.
std::string join_names(const std::vector<std::string>& names);

// The module's parameters and buffers by name, a shared tensor under each of its names.
std::map<std::string, at::Tensor> module_targets(const torch::nn::Module& module);

// The prefix ("bert.", or "" for none) under which `state` holds most of the module's tensors.
std::string checkpoint_prefix(const torch::nn::Module& module, const Checkpoint& state);

// Copies every tensor into the module's parameters and buffers of the same name, converting floating point
// dtypes (F16, BF16 → float32) and integer ones among themselves. Throws
// ExportError naming the missing, unexpected, mis-shaped or mistyped tensors; the module is unchanged then
// (names, shapes and dtypes are checked before any value is read).
//
// Published checkpoints are read as Hugging Face reads them into a base model: when the module's names
// are not in `state` but all of them are under one prefix there ("bert.", "model.", DataParallel's
// "module."), the prefix is stripped and the entries outside it (a task head such as "cls." or
// "lm_head.") are skipped with a warning. Entries matching `ignored_keys` (patterns whose '*' stands
// for one name component, e.g. "h.*.attn.bias": buffers older library versions saved) are skipped too.
void load_state_dict(torch::nn::Module& module, const Checkpoint& state, const std::string& path,
                     const std::vector<std::string>& ignored_keys = {});

// load_state_dict's checks without the copy: the checkpoint entry of each of the module's parameters and
// buffers, under the module's name, every value still unread.
Checkpoint match_state_dict(const torch::nn::Module& module, const Checkpoint& state, const std::string& path,
                            const std::vector<std::string>& ignored_keys = {});

}  // namespace htp::exporter
