#include "htp/analysis/partition.h"

#include "htp/onnxio/error.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/tagger.h"
#include "partition_graph.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace htp::analysis {
namespace {

// `htp.modules` with the questions the fusion units ask of it.
class ModuleIndex {
 public:
  explicit ModuleIndex(const onnx::ModelProto& model) {
    auto text = tagging::model_metadata(model, tagging::kModulesKey);
    auto modules = text ? nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false) : nlohmann::json();
    if (!modules.is_object()) {
      throw Error("partition: the model has no htp.modules metadata; export it with htp-export or tag it with `htp-export tag`");
    }
    for (const auto& [scope, info] : modules.items()) {
      auto& module = modules_[scope];
      module.class_name = info.value("class", "");
      if (info.contains("parent") && info["parent"].is_string()) {
        module.parent = info["parent"].get<std::string>();
        modules_[module.parent].has_children = true;
      }
    }
    modules_[""];  // the root, even when the listing leaves it out
  }

  std::string unit_of(const std::string& node_scope, const FusionUnit& unit) const {
    const std::string scope = listed(node_scope);
    switch (unit.kind) {
      case FusionUnit::Kind::kInnermostNonLeaf:
        return modules_.at(scope).has_children ? scope : parent(scope);
      case FusionUnit::Kind::kDepth: {
        std::vector<std::string> chain = {scope};  // scope, parent, ..., root
        while (!chain.back().empty()) chain.push_back(parent(chain.back()));
        const int depth = static_cast<int>(chain.size()) - 1;
        return chain[depth - std::min(depth, unit.depth)];
      }
      case FusionUnit::Kind::kClasses:
        for (std::string at = scope;; at = parent(at)) {
          const auto& name = modules_.at(at).class_name;
          if (std::find(unit.classes.begin(), unit.classes.end(), name) != unit.classes.end() || at.empty()) return at;
        }
    }
    return "";
  }

 private:
  struct Module {
    std::string class_name;
    std::string parent;
    bool has_children = false;
  };

  // The scope itself when listed, else its nearest listed dotted prefix (the root at last).
  std::string listed(std::string scope) const {
    while (!scope.empty() && modules_.count(scope) == 0) {
      const auto dot = scope.rfind('.');
      scope = dot == std::string::npos ? "" : scope.substr(0, dot);
    }
    return scope;
  }
  std::string parent(const std::string& scope) const {
    if (scope.empty()) return "";
    return listed(modules_.at(scope).parent);
  }

  std::unordered_map<std::string, Module> modules_;
};

// Bytes and cost of one subgraph from its nodes (see docs/partition.md for the definitions).
void add_costs(const detail::OpGraph& graph, const GraphCosts& costs, Subgraph& subgraph) {
  std::unordered_set<int> members;
  for (int op : subgraph.ops) {
    for (int node : graph.ops()[op].nodes) members.insert(node);
  }
  auto bytes_of = [&](const std::string& tensor) -> int64_t {
    auto it = costs.tensor_bytes.find(tensor);
    if (it != costs.tensor_bytes.end()) return it->second;
    subgraph.costs_known = false;
    return 0;
  };
  std::unordered_set<std::string> entering;
  for (int op : subgraph.ops) {
    for (int node_index : graph.ops()[op].nodes) {
      const auto& cost = costs.nodes.at(node_index);
      subgraph.flops += cost.flops;
      subgraph.costs_known &= cost.known;
      const auto& node = graph.graph().node(node_index);
      for (const auto& input : node.input()) {
        if (input.empty()) continue;
        const int producer = graph.producer_op(input);
        const bool inside = producer >= 0 && members.count(graph.ops()[producer].nodes.front()) != 0;
        if (!inside && entering.insert(input).second) subgraph.external_bytes += bytes_of(input);
      }
      for (const auto& output : node.output()) {
        if (output.empty()) continue;
        const auto& readers = graph.consumer_nodes(output);
        const bool leaves = graph.is_graph_output(output) ||
                            std::any_of(readers.begin(), readers.end(), [&](int reader) { return members.count(reader) == 0; });
        if (leaves) {
          subgraph.external_bytes += bytes_of(output);
        } else if (!readers.empty()) {
          subgraph.fused_away_bytes += bytes_of(output) * static_cast<int64_t>(1 + readers.size());
        }
      }
    }
  }
}

std::string pattern_of(const detail::OpGraph& graph, const std::vector<int>& ops) {
  std::string pattern;
  for (int op : ops) pattern += (pattern.empty() ? "" : "_") + graph.ops()[op].name;
  return pattern;
}

}  // namespace

Partition partition_model(const onnx::ModelProto& model, const GraphCosts& costs, const FusionUnit& unit,
                          const DeviceProfile& device) {
  const ModuleIndex modules(model);
  detail::OpGraph graph(model.graph());
  if (costs.nodes.size() != static_cast<size_t>(model.graph().node_size())) {
    throw Error("partition: costs cover " + std::to_string(costs.nodes.size()) + " nodes, the graph has " +
                std::to_string(model.graph().node_size()));
  }
  std::unordered_map<std::string, std::string> unit_by_scope;
  for (auto& op : graph.ops()) {
    auto [it, added] = unit_by_scope.try_emplace(op.scope);
    if (added) it->second = modules.unit_of(op.scope, unit);
    op.unit = it->second;
  }

  // Greedy, in topological order: an op joins the subgraph of its first producer (in input order)
  // whose outputs only it reads and that lies in the same unit. Every member but the last then feeds
  // only members, so a subgraph is entered anywhere but left from its last op alone: no cycles.
  const int op_count = static_cast<int>(graph.ops().size());
  std::vector<int> sole_consumer(op_count);
  for (int op = 0; op < op_count; ++op) sole_consumer[op] = graph.sole_consumer(op);
  Partition partition;
  std::vector<int> subgraph_of(op_count, -1);
  for (int op = 0; op < op_count; ++op) {
    for (const auto& input : graph.op_inputs(op)) {
      const int producer = graph.producer_op(input);
      if (producer < 0 || sole_consumer[producer] != op || graph.ops()[producer].unit != graph.ops()[op].unit) continue;
      subgraph_of[op] = subgraph_of[producer];
      break;
    }
    if (subgraph_of[op] < 0) {
      subgraph_of[op] = static_cast<int>(partition.subgraphs.size());
      partition.subgraphs.emplace_back();
      partition.subgraphs.back().unit = graph.ops()[op].unit;
    }
    partition.subgraphs[subgraph_of[op]].ops.push_back(op);
  }

  for (auto& subgraph : partition.subgraphs) {
    subgraph.pattern = pattern_of(graph, subgraph.ops);
    add_costs(graph, costs, subgraph);
    subgraph.intensity = subgraph.external_bytes > 0 ? subgraph.flops / static_cast<double>(subgraph.external_bytes) : 0;
    subgraph.bottleneck = classify(subgraph.intensity, device);
    subgraph.se_block = detail::is_se_block(graph, subgraph.ops);
    subgraph.attention = detail::has_attention(graph, subgraph.ops);
  }
  partition.ops = std::move(graph.ops());
  return partition;
}

}  // namespace htp::analysis
