// Transpose(Transpose(x)) is one Transpose of x with the composed permutation, or x itself when
// the composition is the identity.
#include "passes/passes.h"

#include "attributes.h"

namespace htp::optimizer {
namespace {

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
      auto outer = transpose_order(*second, graph.rank(second->input(0)));
      auto inner = transpose_order(*first, graph.rank(first->input(0)));
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
