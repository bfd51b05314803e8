#include "htp/tagging/auxiliary.h"

#include <set>
#include <unordered_map>
#include <unordered_set>

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

bool reads_shape_only(const onnx::NodeProto& node) {
  return node.op_type() == "Shape" || node.op_type() == "Size" || node.op_type() == "Constant";
}

// Nodes whose value depends on shapes and constants only. Repeats passes until nothing changes,
// so the result does not depend on node order (one pass plus a check on a sorted graph).
std::vector<bool> shape_only_nodes(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> constant_tensors;  // initializers and outputs of shape-only nodes
  for (const auto& initializer : graph.initializer()) constant_tensors.insert(initializer.name());
  std::vector<bool> result(graph.node_size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < graph.node_size(); ++i) {
      const onnx::NodeProto& node = graph.node(i);
      if (result[i]) continue;
      bool shape_only = reads_shape_only(node);
      if (!shape_only && node.input_size() > 0) {
        shape_only = true;
        for (const auto& input : node.input()) {
          if (!input.empty() && !constant_tensors.count(input)) shape_only = false;
        }
      }
      if (!shape_only) continue;
      result[i] = changed = true;
      constant_tensors.insert(node.output().begin(), node.output().end());
    }
  }
  return result;
}

}  // namespace

std::vector<bool> auxiliary_nodes(const onnx::GraphProto& graph) {
  std::vector<bool> result = shape_only_nodes(graph);
  for (int i = 0; i < graph.node_size(); ++i) {
    if (is_auxiliary_op(graph.node(i).op_type())) result[i] = true;
  }
  return result;
}

}  // namespace htp::tagging
