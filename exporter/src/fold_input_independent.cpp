#include "fold_input_independent.h"

#include "node_effects.h"

#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <unordered_set>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// The tensor a view chain starts from: writes through a view change its base.
Value* view_base(Value* value) {
  for (;;) {
    if (!may_return_view_of_first_input(value->node())) return value;
    value = value->node()->input(0);
  }
}

// Which values depend on the input data, and which were computed by something ONNX cannot express.
struct Dependence {
  std::unordered_set<const Value*> dependent;  // contents depend on the input data
  std::unordered_set<const Value*> tainted;    // computed by something ONNX cannot express

  bool folds(const Value* value) const { return tainted.count(value) && !dependent.count(value); }
  // The top-level outputs that fold, in graph order.
  std::vector<Value*> folding_outputs(torch::jit::Graph& graph) const {
    std::vector<Value*> folding;
    for (Node* node : graph.nodes()) {
      for (Value* output : node->outputs()) {
        if (folds(output)) folding.push_back(output);
      }
    }
    return folding;
  }
};

Dependence dependence(torch::jit::Graph& graph, size_t first_model_input, const std::function<bool(const Node*)>& convertible) {
  Dependence found;
  auto& [dependent, tainted] = found;
  for (size_t i = first_model_input; i < graph.inputs().size(); ++i) dependent.insert(graph.inputs()[i]);
  for (Node* node : graph.nodes()) {
    bool any_dependent = false, any_tainted = !convertible(node);
    for (const Value* input : node->inputs()) {
      any_dependent |= dependent.count(input) != 0;
      any_tainted |= tainted.count(input) != 0;
    }
    any_dependent &= !reads_shape_only(node);
    for (const Value* output : node->outputs()) {
      if (any_dependent) dependent.insert(output);
      if (any_tainted) tainted.insert(output);
    }
    if (writes_first_input(node)) {
      Value* base = view_base(node->input(0));
      if (any_dependent) dependent.insert(base);
      tainted.insert(base);
    }
  }
  return found;
}

}  // namespace

std::unordered_set<const Value*> foldable_values(torch::jit::Graph& graph, size_t first_model_input,
                                                 const std::function<bool(const Node*)>& convertible) {
  const std::vector<Value*> folding = dependence(graph, first_model_input, convertible).folding_outputs(graph);
  return {folding.begin(), folding.end()};
}

void fold_input_independent(torch::jit::Graph& graph, size_t first_model_input,
                            const std::unordered_map<const Value*, at::Tensor>& runtime,
                            const std::function<bool(const Node*)>& convertible) {
  const Dependence found = dependence(graph, first_model_input, convertible);
  bool folded = false;
  for (Value* value : found.folding_outputs(graph)) {
    if (!runtime.count(value)) continue;
    std::vector<torch::jit::Use> outside;  // readers that are themselves converted
    for (const auto& use : value->uses()) {
      bool reader_folds = use.user->kind() == c10::prim::Return ? false
                          : std::all_of(use.user->outputs().begin(), use.user->outputs().end(),
                                        [&](const Value* out) { return found.folds(out); });
      if (!reader_folds) outside.push_back(use);
    }
    if (outside.empty()) continue;
    torch::jit::WithInsertPoint guard(graph.return_node());
    Value* constant = graph.insertConstant(runtime.at(value).clone());
    constant->node()->moveBefore(graph.nodes().front());
    for (const auto& use : outside) use.user->replaceInput(use.offset, constant);
    folded = true;
  }
  if (!folded) return;
  // The folded regions are no longer read, but dead-code elimination keeps their in-place
  // writes; remove them here, readers before the values they read.
  std::vector<Node*> nodes(graph.nodes().begin(), graph.nodes().end());
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    Node* node = *it;
    bool in_region = !node->outputs().empty() && std::all_of(node->outputs().begin(), node->outputs().end(), [&](const Value* out) {
      return found.folds(out) && !out->hasUses();
    });
    if (in_region) node->destroy();
  }
  torch::jit::EliminateDeadCode(graph.block());
}

}  // namespace htp::exporter
