// Runs passes in a fixed order until none changes the graph, attributing every change to its pass.
#pragma once

#include "htp/optimizer/optimize.h"
#include "pass.h"

#include <memory>
#include <vector>

namespace htp::optimizer {

// Every pass in canonical order (see docs/optimizer.md for why this order), set up by `options`.
std::vector<std::unique_ptr<Pass>> canonical_passes(const OptimizeOptions& options = {});

class PassManager {
 public:
  explicit PassManager(std::vector<std::unique_ptr<Pass>> passes) : passes_(std::move(passes)) {}
  // Runs the whole list repeatedly until a round changes nothing or `max_rounds` is reached,
  // committing the graph after every pass. Fills the report's `passes` (list order) and `rounds`.
  void run(Graph& graph, int max_rounds, OptimizeReport& report) const;

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
};

}  // namespace htp::optimizer
