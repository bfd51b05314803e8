// Transpose(Transpose(x)) is one Transpose of x with the composed permutation, or x itself when
// the composition is the identity.
#include "passes/passes.h"

#include "attributes.h"

#include <numeric>

namespace htp::optimizer {
namespace {

// The permutation a Transpose applies; the default (no perm) reverses the axes, so it needs the rank.
std::optional<std::vector<int64_t>> permutation(const Graph& graph, const onnx::NodeProto& transpose) {
  if (auto perm = ints_attribute(transpose, "perm")) return perm;
  auto input = graph.tensor_info(transpose.input(0));
  if (!input || !input->dims) return std::nullopt;
  std::vector<int64_t> reversed(input->dims->size());
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  return reversed;
}

bool is_transpose(const onnx::NodeProto* node) {
  return node != nullptr && node->op_type() == "Transpose" && node->domain().empty() && node->input_size() == 1;
}

class CancelTransposes : public Pass {
 public:
  const char* name() const override { return "CancelTransposes"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* second : graph.nodes()) {
      if (graph.is_removed(second) || !is_transpose(second)) continue;
      onnx::NodeProto* first = graph.producer(second->input(0));
      if (!is_transpose(first)) continue;
      auto outer = permutation(graph, *second);
      auto inner = permutation(graph, *first);
      if (!outer || !inner || outer->size() != inner->size()) continue;
      // out[j] = mid[outer[j]] = x[inner[outer[j]]]
      std::vector<int64_t> composed(outer->size());
      bool identity = true;
      for (size_t j = 0; j < outer->size(); ++j) {
        composed[j] = (*inner)[(*outer)[j]];
        identity = identity && composed[j] == static_cast<int64_t>(j);
      }
      const std::string source = first->input(0);
      if (identity) {
        if (!graph.replace_all_uses(second->output(0), source)) continue;
        graph.remove_node(second);
      } else {
        graph.set_input(second, 0, source);
        set_ints_attribute(*second, "perm", composed);
      }
      if (graph.use_count(first->output(0)) == 0) {
        if (!identity) Graph::record_fusion(*second, {second, first});
        graph.remove_node(first);
      }
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_cancel_transposes() { return std::make_unique<CancelTransposes>(); }

}  // namespace htp::optimizer
