// The tag-preserving ONNX optimizer: rewrites a model's main graph with small passes run to a
// fixpoint, keeping every node's htp.* metadata (fused nodes keep their principal op's tags and
// list the nodes they replace in htp.fused_from). Works on tagged and untagged models alike.
// Torch-free: safe to include anywhere.
#pragma once

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace htp::optimizer {

inline constexpr int64_t kDefaultFoldLimit = int64_t{256} << 20;  // 256 MiB

struct OptimizeOptions {
  // Directory external-data initializers are read from (the input model's directory).
  std::string model_dir = ".";
  // When non-empty, only these passes run; passes named in `disabled` never run. Unknown names
  // are an error (the list of pass names is in docs/optimizer.md and pass_names()).
  std::vector<std::string> enabled;
  std::vector<std::string> disabled;
  // Rounds over the whole pass list before giving up on reaching a fixpoint.
  int max_rounds = 16;
  // The largest tensor, in bytes, FoldConstants materializes (outputs and temporaries alike); a node
  // whose folding would need more stays as it is.
  int64_t fold_limit = kDefaultFoldLimit;
};

// What one pass did over all rounds.
struct PassStatistics {
  std::string name;
  int64_t runs = 0;
  int64_t changed_runs = 0;
  int64_t nodes_removed = 0;
  int64_t nodes_added = 0;
  int64_t initializers_removed = 0;
  int64_t initializers_added = 0;
  double seconds = 0;
};

struct OptimizeReport {
  int64_t nodes_before = 0;
  int64_t nodes_after = 0;
  int64_t initializers_before = 0;
  int64_t initializers_after = 0;
  int64_t rounds = 0;
  double seconds = 0;
  std::vector<PassStatistics> passes;  // canonical order
};

// The names of all passes, in the order they run.
std::vector<std::string> pass_names();

// Optimizes `model` in place. Initializers the passes create are inline; untouched external-data
// initializers keep pointing at their files. Throws htp::Error on an invalid option or a model the
// passes cannot read (e.g. missing external data).
OptimizeReport optimize(onnx::ModelProto& model, const OptimizeOptions& options = {});

nlohmann::json to_json(const OptimizeReport& report);

}  // namespace htp::optimizer
