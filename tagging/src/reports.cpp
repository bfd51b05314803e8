#include "htp/tagging/reports.h"

#include "htp/tagging/auxiliary.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/subgraphs.h"
#include "htp/tagging/tagger.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace htp::tagging {
namespace {

std::map<std::string, size_t> nodes_per_module(const onnx::GraphProto& graph) {
  std::map<std::string, size_t> counts;
  for (const onnx::NodeProto* node : all_nodes(graph)) ++counts[node_metadata(*node, kScopeKey).value_or("")];
  return counts;
}

nlohmann::json module_tree_report(const onnx::ModelProto& model) {
  nlohmann::json modules = listed_modules(model);
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& [scope, info] : modules.items()) {
    if (info.contains("parent") && info["parent"].is_string()) children[info["parent"].get<std::string>()].push_back(scope);
  }
  auto counts = nodes_per_module(model.graph());
  nlohmann::json tree = nlohmann::json::array();
  // json objects iterate in key order, and a parent's scope sorts before its children's.
  for (const auto& [scope, info] : modules.items()) {
    tree.push_back({{"scope", scope},
                    {"class", info.value("class", "")},
                    {"parent", info.contains("parent") ? info["parent"] : nlohmann::json()},
                    {"children", children[scope]},
                    {"nodes", counts[scope]}});
  }
  return tree;
}

nlohmann::json node_tags(const onnx::GraphProto& graph) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const onnx::NodeProto* node : all_nodes(graph)) {
    auto meta = node_metadata(*node);
    nodes.push_back({{"name", node->name()},
                     {"op_type", node->op_type()},
                     {"scope", meta[kScopeKey]},
                     {"tag", meta[kTagKey]},
                     {"source", meta[kSourceKey]}});
  }
  return nodes;
}

}  // namespace

nlohmann::json listed_modules(const onnx::ModelProto& model) {
  auto text = model_metadata(model, kModulesKey);
  auto modules = text ? nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false) : nlohmann::json();
  return modules.is_object() ? modules : nlohmann::json::object();
}

nlohmann::json coverage_report(const onnx::ModelProto& model) {
  const onnx::GraphProto& graph = model.graph();
  const std::vector<const onnx::NodeProto*> all = all_nodes(graph);  // nodes in If branches count too
  std::vector<NodeRole> roles = node_roles(graph);
  size_t nodes = all.size(), tagged = 0, auxiliary_total = 0;
  std::map<std::string, size_t> by_source{{"direct", 0}, {"inherited", 0}, {"fallback", 0}};
  std::map<std::string, size_t> auxiliary_by_type;
  for (size_t i = 0; i < nodes; ++i) {
    const onnx::NodeProto& node = *all[i];
    auto meta = node_metadata(node);
    if (!meta[kTagKey].empty()) ++tagged;
    if (meta.count(kSourceKey)) ++by_source[meta[kSourceKey]];
    if (roles[i] == NodeRole::kAuxiliary) {
      ++auxiliary_total;
      ++auxiliary_by_type[node.op_type()];
    }
  }
  size_t placed = by_source["inherited"], unplaced = by_source["fallback"];
  return {{"nodes", nodes},
          {"tagged", tagged},
          {"empty_tags", nodes - tagged},
          {"coverage", nodes == 0 ? 1.0 : double(tagged) / double(nodes)},
          {"by_source", by_source},
          {"auxiliary_nodes", auxiliary_total},
          {"auxiliary_by_op_type", auxiliary_by_type},
          {"inheritance_rate", placed + unplaced == 0 ? nlohmann::json() : nlohmann::json(double(placed) / double(placed + unplaced))},
          {"nodes_per_module", nodes_per_module(graph)}};
}

nlohmann::json sidecar_report(const onnx::ModelProto& model) {
  return {{"coverage", coverage_report(model)}, {"modules", module_tree_report(model)}, {"nodes", node_tags(model.graph())}};
}

std::string json_text(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace htp::tagging
