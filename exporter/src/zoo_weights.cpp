#include "zoo_weights.h"

#include "memory.h"

#include "htp/exporter/errors.h"

#include <ATen/ATen.h>

#include <set>

namespace htp::exporter {
namespace {

// Each checkpoint entry, converted on reading to the dtype of the module's tensor it replaces, as
// load_state_dict's copy converts it.
Checkpoint streamed_from_checkpoint(const zoo::ZooModel& model, const Checkpoint& checkpoint, const std::string& source) {
  const auto targets = module_targets(*model.module);
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

// Refuses to write an undrawn module's weights when they would not fit: the pages would be taken one by
// one until the kernel killed the process.
void check_weights_fit(const torch::nn::Module& module) {
  int64_t bytes = 0;
  std::set<const void*> counted;  // a tied weight once
  for (const auto& entry : module_targets(module)) {
    if (counted.insert(entry.second.unsafeGetTensorImpl()).second) bytes += static_cast<int64_t>(entry.second.nbytes());
  }
  const std::optional<int64_t> available = available_memory();
  if (available && bytes > *available) {
    throw ExportError("holding the model's weights (" + gib(bytes) + ") needs more than the " + gib(*available) +
                      " of memory available; a written export without --save-io and --optimize streams them instead");
  }
}

}  // namespace

WeightedModel place_weights(zoo::ZooModel model, const Checkpoint* checkpoint, const std::string& source, bool streamable) {
  WeightedModel result;
  if (streamable && model.draw_weight) {
    result.streamed = checkpoint ? streamed_from_checkpoint(model, *checkpoint, source) : streamed_draws(model);
  } else if (checkpoint) {
    if (model.draw_weight) check_weights_fit(*model.module);
    load_state_dict(*model.module, *checkpoint, source, model.ignored_checkpoint_keys);
  } else if (model.draw_weight) {
    check_weights_fit(*model.module);
    for (auto& item : model.module->named_parameters()) model.draw_weight(item.key(), item.value());
  }
  result.model = std::move(model);
  return result;
}

}  // namespace htp::exporter
