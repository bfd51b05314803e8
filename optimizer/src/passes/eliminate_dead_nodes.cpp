// Removes nodes none of whose outputs is read. ONNX's standard domains have no side effects, so an
// unread node there computes nothing observable; nodes of other domains are kept.
#include "passes/passes.h"

#include "htp/onnxio/onnx_file.h"

namespace htp::optimizer {
namespace {

class EliminateDeadNodes : public Pass {
 public:
  const char* name() const override { return "EliminateDeadNodes"; }

  bool run(Graph& graph) override {
    bool changed = false;
    // Consumers before producers, so a dead chain goes in one sweep.
    std::vector<onnx::NodeProto*> nodes = graph.nodes();
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      onnx::NodeProto* node = *it;
      if (!onnxio::is_standard_domain(node->domain()) || graph.is_read(*node)) continue;
      graph.remove_node(node);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_dead_nodes() { return std::make_unique<EliminateDeadNodes>(); }

}  // namespace htp::optimizer
