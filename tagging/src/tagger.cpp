#include "htp/tagging/tagger.h"

#include "htp/tagging/auxiliary.h"
#include "htp/tagging/dynamo_keys.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/reports.h"
#include "htp/tagging/subgraphs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace htp::tagging {

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

void set_scope_keys(onnx::NodeProto& node, const ModuleTree& tree, const std::string& scope, bool with_dynamo_keys) {
  set_node_metadata(node, kScopeKey, scope);
  set_node_metadata(node, kTagKey, tree.tag(scope));
  set_node_metadata(node, kNamespaceKey, tree.namespace_of(scope));
  if (with_dynamo_keys || node_metadata(node, kNameScopesKey)) set_dynamo_keys(node, tree, scope);
}

void tag_model(onnx::ModelProto& model, const ModuleTree& tree, TagStyle style) {
  NodeNamer namer;
  for (onnx::NodeProto* node_in_any_graph : all_nodes(*model.mutable_graph())) {
    onnx::NodeProto& node = *node_in_any_graph;
    auto scope = node_metadata(node, kScopeKey);
    if (!scope) throw std::logic_error("node of type " + node.op_type() + " has no htp.scope");
    if (!tree.contains(*scope)) throw std::logic_error("node scope '" + *scope + "' is not a module of the model");
    if (style == TagStyle::kExport) node.set_name(namer(tree.name_prefix(*scope) + "/" + node.op_type()));
    if (style == TagStyle::kDynamo) {
      set_node_metadata(node, kTagKey, tree.tag(*scope));
    } else {
      set_scope_keys(node, tree, *scope, style == TagStyle::kExport);
    }
    set_node_metadata(node, kSourceKey, classify(node, *scope));
  }
  model.set_ir_version(std::max(model.ir_version(), kTaggedIrVersion));
  set_model_metadata(model, kModulesKey, json_text(tree.to_json()));
  set_model_metadata(model, kVersionKey, HTP_VERSION);
}

}  // namespace htp::tagging
