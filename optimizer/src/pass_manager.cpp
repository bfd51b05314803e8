#include "pass_manager.h"

#include "passes/passes.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace htp::optimizer {

std::vector<std::unique_ptr<Pass>> canonical_passes(const OptimizeOptions& options) {
  std::vector<std::unique_ptr<Pass>> passes;
  // Cleanup first, so later passes see single-consumer chains and shared constants.
  passes.push_back(make_eliminate_identity());
  passes.push_back(make_eliminate_dead_nodes());
  passes.push_back(make_deduplicate_initializers());
  // Shape queries the declared types answer become constants, then every node with constant
  // inputs is evaluated: the initializers the structural and fusion passes below look for.
  passes.push_back(make_fold_static_shapes());
  passes.push_back(make_fold_constants(options.fold_limit));
  // Equal constants are shared by now, so duplicated subgraphs have equal inputs.
  passes.push_back(make_eliminate_common_subexpressions());
  // After CSE, so a shape assembled from one shared Shape node is recognised whole.
  passes.push_back(make_fold_reshape_copied_dims());
  passes.push_back(make_cancel_transposes());
  passes.push_back(make_merge_reshape_chains());
  passes.push_back(make_fold_weight_transpose());
  passes.push_back(make_fuse_conv_batch_norm());
  passes.push_back(make_fuse_conv_add_mul());
  passes.push_back(make_fuse_matmul_add());
  // Pattern fusions after the cleanups have normalised their subgraphs; LayerNorm first, as its
  // ReduceMeans would block Gelu's opset raise to 20.
  passes.push_back(make_fuse_layer_norm());
  passes.push_back(make_fuse_gelu());
  passes.push_back(make_eliminate_unused_initializers());
  return passes;
}

void PassManager::run(Graph& graph, int max_rounds, OptimizeReport& report) const {
  report.passes.assign(passes_.size(), PassStatistics{});
  for (size_t i = 0; i < passes_.size(); ++i) report.passes[i].name = passes_[i]->name();
  for (report.rounds = 0; report.rounds < max_rounds;) {
    ++report.rounds;
    bool changed = false;
    for (size_t i = 0; i < passes_.size(); ++i) {
      PassStatistics& stats = report.passes[i];
      const EditCounts before = graph.counts();
      const auto start = std::chrono::steady_clock::now();
      const bool pass_changed = passes_[i]->run(graph);
      graph.commit();
      stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const EditCounts& after = graph.counts();
      stats.runs += 1;
      stats.changed_runs += pass_changed ? 1 : 0;
      stats.nodes_removed += after.nodes_removed - before.nodes_removed;
      stats.nodes_added += after.nodes_added - before.nodes_added;
      stats.initializers_removed += after.initializers_removed - before.initializers_removed;
      stats.initializers_added += after.initializers_added - before.initializers_added;
      if (pass_changed) spdlog::debug("optimizer: round {}: {} changed the graph", report.rounds, stats.name);
      changed = changed || pass_changed;
    }
    if (!changed) return;
  }
  spdlog::warn("optimizer: no fixpoint after {} rounds; the graph is valid but may not be fully optimized", max_rounds);
}

}  // namespace htp::optimizer
