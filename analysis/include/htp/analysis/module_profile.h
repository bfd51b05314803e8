// Runtime per PyTorch module: node times from an ONNX Runtime profile (or measured by the caller)
// rolled up the module tree, per op type and per node. docs/profile.md defines every figure.
// Torch-free.
#pragma once

#include "htp/analysis/module_layout.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>
#include <vector>

namespace htp::analysis {

// Time per node, averaged over runs; the nodes are ModuleLayout::nodes.
struct NodeTimes {
  std::string source;              // "ort" or "aten"
  int runs = 0;
  std::vector<double> node_us;     // per run, by node
  double unmatched_us = 0;         // per run: profiled kernels that are no node of the model
  std::map<std::string, double> unmatched_by_op;  // the same by the op type the profile gives
};

// Reads an ONNX Runtime profile (the JSON array its enable_profiling writes) and matches its
// "<node name>_kernel_time" events to `layout`'s nodes by name. Runs are the profile's model_run
// events (else the most repeats of one kernel); the kernels of the first `skip_runs` runs (warm-up:
// the first runs fault in memory and fill caches) are left out. Throws htp::Error naming
// `trace_name` when the text is not such a profile, when none of its kernels is a node of the
// model, or when skipping leaves no run.
NodeTimes read_ort_profile(const std::string& text, const std::string& trace_name, const ModuleLayout& layout, int skip_runs = 0);

struct RuntimeProfile {
  struct Module {
    int nodes = 0;             // its own nodes
    double exclusive_us = 0;   // its own nodes' time; the root's also holds the unmatched time
    double inclusive_us = 0;   // its subtree's
  };
  struct OpType {
    std::string op_type;
    int nodes = 0;
    double us = 0;             // unmatched kernels count under the op type the profile names
  };
  struct Node {
    int index = 0;             // into ModuleLayout::nodes
    double us = 0;
  };

  std::string source;
  int runs = 0;
  double total_us = 0;         // per run, matched plus unmatched
  double unmatched_us = 0;
  std::vector<Module> modules;   // by ModuleLayout::modules index
  std::vector<OpType> op_types;  // costliest first
  std::vector<Node> top_nodes;   // the 10 costliest nodes, costliest first

  double share(double us) const { return total_us > 0 ? us / total_us : 0; }
};

// Rolls node times up the module tree. Postconditions: the exclusive times sum to total_us, the
// root's inclusive time is total_us, and so are the op types' times.
RuntimeProfile profile_modules(const ModuleLayout& layout, const NodeTimes& times);

// {"source", "runs", "total_us", "unmatched_us", "modules": [{"scope", "class", "parent", "nodes",
// "exclusive_us", "inclusive_us", "share"}], "op_types": [...], "top_nodes": [...]}; modules is
// empty (and "modules_known" false) for an untagged model.
nlohmann::json profile_json(const ModuleLayout& layout, const RuntimeProfile& profile);
// The same as markdown: totals, the costliest modules, the module tree, op types and top nodes.
std::string profile_markdown(const ModuleLayout& layout, const RuntimeProfile& profile);

}  // namespace htp::analysis
