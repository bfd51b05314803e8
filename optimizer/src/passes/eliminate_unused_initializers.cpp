// Removes initializers nothing reads. Initializers that are also graph inputs belong to the
// model's interface and stay.
#include "passes/passes.h"

namespace htp::optimizer {
namespace {

class EliminateUnusedInitializers : public Pass {
 public:
  const char* name() const override { return "EliminateUnusedInitializers"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (const std::string& name : graph.initializer_names()) {
      if (graph.use_count(name) > 0 || graph.is_graph_input(name)) continue;
      graph.remove_initializer(name);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_unused_initializers() { return std::make_unique<EliminateUnusedInitializers>(); }

}  // namespace htp::optimizer
