#include "zoo_weights.h"

#include <ATen/ATen.h>

namespace htp::exporter {
namespace {

// The module's parameters and buffers by name, a shared tensor under each of its names.
std::map<std::string, at::Tensor> named_state(const torch::nn::Module& module) {
  std::map<std::string, at::Tensor> state;
  for (const auto& item : module.named_parameters()) state.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers()) state.emplace(item.key(), item.value());
  return state;
}

// Each checkpoint entry, converted on reading to the dtype of the module's tensor it replaces, as
// load_state_dict's copy converts it.
Checkpoint streamed_from_checkpoint(const zoo::ZooModel& model, const Checkpoint& checkpoint, const std::string& source) {
  const auto targets = named_state(*model.module);
  Checkpoint streamed;
  for (auto& [name, entry] : match_state_dict(*model.module, checkpoint, source, model.ignored_checkpoint_keys)) {
    const at::ScalarType dtype = targets.at(name).scalar_type();
    streamed.emplace(name, CheckpointTensor{dtype, entry.shape, [read = entry.read, dtype] { return read().to(dtype); }});
  }
  return streamed;
}

// Each parameter drawn on reading, as the builder would have drawn it into the module.
Checkpoint streamed_draws(const zoo::ZooModel& model) {
  Checkpoint streamed;
  for (const auto& item : model.module->named_parameters()) {
    const at::ScalarType dtype = item.value().scalar_type();
    const std::vector<int64_t> shape = item.value().sizes().vec();
    streamed.emplace(item.key(), CheckpointTensor{dtype, shape, [draw = model.draw_weight, name = item.key(), shape, dtype] {
                       at::Tensor weight = at::empty(shape, at::TensorOptions().dtype(dtype));
                       draw(name, weight);
                       return weight;
                     }});
  }
  return streamed;
}

}  // namespace

WeightedModel place_weights(zoo::ZooModel model, const Checkpoint* checkpoint, const std::string& source, bool streamable) {
  WeightedModel result;
  if (streamable && model.draw_weight) {
    result.streamed = checkpoint ? streamed_from_checkpoint(model, *checkpoint, source) : streamed_draws(model);
  } else if (checkpoint) {
    load_state_dict(*model.module, *checkpoint, source, model.ignored_checkpoint_keys);
  }
  result.model = std::move(model);
  return result;
}

}  // namespace htp::exporter
