#include "passes/fusion_tags.h"

#include "htp/tagging/metadata.h"
#include "htp/tagging/module_tree.h"
#include "htp/tagging/tagger.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>

namespace htp::optimizer {
namespace {

// The module tree the model's htp.modules lists ({scope: {"class", "parent"}}); nullopt when it
// lists none or cannot be read. Sorted keys put every parent before its children.
std::optional<tagging::ModuleTree> listed_tree(const onnx::ModelProto& model) {
  auto text = tagging::model_metadata(model, tagging::kModulesKey);
  if (!text) return std::nullopt;
  auto modules = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!modules.is_object() || !modules.contains("") || !modules[""].is_object()) return std::nullopt;
  try {
    tagging::ModuleTree tree(modules[""].value("class", std::string("Module")));
    for (const auto& [scope, info] : modules.items()) {
      if (!scope.empty() && info.is_object()) tree.add(scope, info.value("class", std::string("Module")));
    }
    return tree;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

void tag_fused_node(Graph& graph, onnx::NodeProto& fused, const std::vector<const onnx::NodeProto*>& pattern) {
  std::optional<std::string> common;
  bool spans_modules = false;
  for (const onnx::NodeProto* node : pattern) {
    auto scope = tagging::node_metadata(*node, tagging::kScopeKey);
    if (!scope) continue;
    if (common && *common != *scope) {
      spans_modules = true;
      common = tagging::ModuleTree::common_ancestor(*common, *scope);
    } else if (!common) {
      common = scope;
    }
  }
  if (spans_modules) {
    auto tree = listed_tree(graph.model());
    if (tree && tree->contains(*common)) {
      tagging::set_scope_keys(fused, *tree, *common, /*with_dynamo_keys=*/false);
      tagging::set_node_metadata(fused, tagging::kSourceKey, "direct");
    }
  }
  Graph::record_fusion(fused, pattern);
}

}  // namespace htp::optimizer
