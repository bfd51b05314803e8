#include "node_effects.h"

#include <string>
#include <unordered_set>

namespace htp::exporter {

bool reads_shape_only(const torch::jit::Node* node) {
  static const std::unordered_set<std::string> kShapeOnly = {
      "aten::size",       "aten::dim",       "aten::numel",   "aten::len",       "prim::dtype",
      "prim::device",     "aten::zeros_like", "aten::ones_like", "aten::empty_like", "aten::new_zeros",
      "aten::new_ones",   "aten::new_empty"};
  return kShapeOnly.count(node->kind().toQualString()) != 0;
}

bool writes_first_input(const torch::jit::Node* node) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  if (!schema || schema->arguments().empty()) return false;
  const auto* alias = schema->arguments()[0].alias_info();
  return alias && alias->isWrite();
}

bool may_return_view_of_first_input(const torch::jit::Node* node) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  if (!schema || schema->returns().empty() || schema->arguments().empty()) return false;
  const auto* returned = schema->returns()[0].alias_info();
  const auto* argument = schema->arguments()[0].alias_info();
  return returned && argument && !returned->isWrite() && returned->beforeSets() == argument->beforeSets();
}

}  // namespace htp::exporter
