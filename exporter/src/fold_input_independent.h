// Folds input-independent regions that ONNX cannot express into constants.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <unordered_map>
#include <unordered_set>

namespace htp::exporter {

// Precondition: `graph` is flat; its inputs from `first_model_input` on are the model inputs;
// `runtime` holds the value every tensor of the graph had at the end of one run on the example
// inputs (so a tensor mutated in place holds its final contents).
// Postcondition: every tensor whose contents do not depend on the input data (sizes may), that
// was computed with a node `convertible` rejects (an in-place write through a view, an op
// without a converter), and that the rest of the graph reads, is replaced by a constant of its
// runtime value; the region that computed it is removed. Such regions build masks and tables
// (Swin's shifted-window attention mask), whose values are fixed once the input shape is.
void fold_input_independent(torch::jit::Graph& graph, size_t first_model_input,
                            const std::unordered_map<const torch::jit::Value*, at::Tensor>& runtime,
                            const std::function<bool(const torch::jit::Node*)>& convertible);

// The values fold_input_independent may replace by their runtime value, so the only ones of
// `runtime` it reads; a top-level value each. Same preconditions, `runtime` aside.
std::unordered_set<const torch::jit::Value*> foldable_values(torch::jit::Graph& graph, size_t first_model_input,
                                                             const std::function<bool(const torch::jit::Node*)>& convertible);

}  // namespace htp::exporter
