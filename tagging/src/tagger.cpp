#include "htp/tagging/tagger.h"

#include "htp/tagging/metadata.h"

#include <nlohmann/json.hpp>

#include <set>
#include <stdexcept>
#include <unordered_map>

namespace htp::tagging {

bool is_auxiliary_op(const std::string& op_type) {
  static const std::set<std::string> kAuxiliary = {
      "Constant", "ConstantOfShape", "Shape",  "Size",  "Cast",  "CastLike", "Reshape",
      "Flatten",  "Squeeze",         "Unsqueeze", "Transpose", "Concat", "Split", "Slice",
      "Gather",   "Expand",          "Tile",   "Where", "Equal", "Less",     "Greater",
      "Not",      "And",             "Or",     "Range", "Identity"};
  return kAuxiliary.count(op_type) != 0;
}

namespace {

std::string classify(const onnx::NodeProto& node, const std::string& scope) {
  if (auto source = node_metadata(node, kSourceKey)) return *source;
  return scope.empty() && is_auxiliary_op(node.op_type()) ? "fallback" : "direct";
}

// torch-style unique names: the first "/layer1/Conv" stays, later ones get "_1", "_2", ...
class NodeNamer {
 public:
  std::string operator()(const std::string& base) {
    size_t& count = seen_[base];
    std::string name = count == 0 ? base : base + "_" + std::to_string(count);
    ++count;
    return name;
  }

 private:
  std::unordered_map<std::string, size_t> seen_;
};

}  // namespace

void tag_model(onnx::ModelProto& model, const ModuleTree& tree) {
  NodeNamer namer;
  for (auto& node : *model.mutable_graph()->mutable_node()) {
    auto scope = node_metadata(node, kScopeKey);
    if (!scope) throw std::logic_error("node of type " + node.op_type() + " has no htp.scope");
    if (!tree.contains(*scope)) throw std::logic_error("node scope '" + *scope + "' is not a module of the model");
    set_node_metadata(node, kTagKey, tree.tag(*scope));
    set_node_metadata(node, kSourceKey, classify(node, *scope));
    set_node_metadata(node, kNamespaceKey, tree.namespace_of(*scope));
    node.set_name(namer(tree.name_prefix(*scope) + "/" + node.op_type()));
  }
  model.set_ir_version(kTaggedIrVersion);
  set_model_metadata(model, kModulesKey, tree.to_json().dump());
  set_model_metadata(model, kVersionKey, HTP_VERSION);
}

nlohmann::json coverage_report(const onnx::ModelProto& model) {
  size_t nodes = 0, tagged = 0;
  std::map<std::string, size_t> by_source{{"direct", 0}, {"inherited", 0}, {"fallback", 0}};
  std::map<std::string, size_t> auxiliary, per_module;
  for (const auto& node : model.graph().node()) {
    auto meta = node_metadata(node);
    ++nodes;
    if (!meta[kTagKey].empty()) ++tagged;
    if (meta.count(kSourceKey)) ++by_source[meta[kSourceKey]];
    if (is_auxiliary_op(node.op_type())) ++auxiliary[node.op_type()];
    ++per_module[meta[kScopeKey]];
  }
  size_t placed = by_source["inherited"], unplaced = by_source["fallback"];
  return {{"nodes", nodes},
          {"tagged", tagged},
          {"empty_tags", nodes - tagged},
          {"coverage", nodes == 0 ? 1.0 : double(tagged) / double(nodes)},
          {"by_source", by_source},
          {"auxiliary_by_op_type", auxiliary},
          {"inheritance_rate", placed + unplaced == 0 ? nlohmann::json() : nlohmann::json(double(placed) / double(placed + unplaced))},
          {"nodes_per_module", per_module}};
}

}  // namespace htp::tagging
