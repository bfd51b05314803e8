// Types a TorchScript graph's values by running it: archives carry no shapes, and the converters
// need dtypes and shapes, inside the blocks of prim::If and prim::Loop too.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace htp::exporter {

struct RunResult {
  std::vector<c10::IValue> results;  // what the forward returned
  // The value each kept top-level tensor (inputs too) had in the run on the real inputs.
  std::unordered_map<const torch::jit::Value*, at::Tensor> values;
  // One line per prim::If whose other branch failed on these inputs and was dropped.
  std::vector<std::string> warnings;
};

// Which top-level values of a graph (its inputs, its top-level nodes' outputs) the caller reads
// from RunResult::values; asked of the graph as the run finds it.
using ValuesKept = std::function<std::unordered_set<const torch::jit::Value*>(torch::jit::Graph&)>;

// Precondition: `graph`'s first input is `self`, followed by one input per tensor of `inputs`.
// Postcondition: every tensor value the run computes, in any block, has its dtype and sizes as a
// complete TensorType; sizes that differ between a loop's iterations are left unknown. A branch
// of a prim::If that the inputs do not take is typed by a second run with that If's condition
// forced, on the same inputs. When that forced run fails (a branch its condition guards against
// these inputs), the If is replaced by the branch the inputs take, with a warning, as a trace
// would. Throws ExportError naming the node and its module (`scope_of`) when a block is never
// reached (a loop whose trip count is 0 on these inputs). Only the values `keep` names are held
// past their last reader, so the run needs about the memory of the model's own forward.
RunResult type_by_running(const std::shared_ptr<torch::jit::Graph>& graph, const c10::IValue& self,
                          const std::vector<at::Tensor>& inputs,
                          const std::function<std::string(const torch::jit::Node*)>& scope_of, const ValuesKept& keep);

}  // namespace htp::exporter
