// Removes nodes none of whose outputs is read. ONNX's standard domains have no side effects, so an
// unread node there computes nothing observable; nodes of other domains are kept.
#include "passes/passes.h"

#include <algorithm>

namespace htp::optimizer {
namespace {

bool is_standard_domain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx" || domain == "ai.onnx.ml";
}

class EliminateDeadNodes : public Pass {
 public:
  const char* name() const override { return "EliminateDeadNodes"; }

  bool run(Graph& graph) override {
    bool changed = false;
    // Consumers before producers, so a dead chain goes in one sweep.
    std::vector<onnx::NodeProto*> nodes = graph.nodes();
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      onnx::NodeProto* node = *it;
      if (!is_standard_domain(node->domain())) continue;
      const bool read = std::any_of(node->output().begin(), node->output().end(),
                                    [&](const std::string& output) { return !output.empty() && graph.use_count(output) > 0; });
      if (read) continue;
      graph.remove_node(node);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_dead_nodes() { return std::make_unique<EliminateDeadNodes>(); }

}  // namespace htp::optimizer
