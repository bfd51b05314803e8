#include "htp/tagging/auxiliary.h"

#include "htp/tagging/subgraphs.h"

#include <algorithm>
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

// Nodes whose value depends only on the tensors `sources` and on shapes: Shape, Size and Constant
// nodes and nodes all of whose inputs are sources or outputs of such nodes. Repeats passes until
// nothing changes, so the result does not depend on node order (one pass and a check on a sorted
// graph).
std::vector<bool> nodes_derived_from(const std::vector<const onnx::NodeProto*>& nodes, std::unordered_set<std::string> sources) {
  std::vector<bool> result(nodes.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const onnx::NodeProto& node = *nodes[i];
      if (result[i]) continue;
      bool derived = reads_shape_only(node);
      std::vector<std::string> reads = node_reads(node);
      if (!derived && !reads.empty()) {
        derived = std::all_of(reads.begin(), reads.end(), [&](const std::string& input) { return input.empty() || sources.count(input); });
      }
      if (!derived) continue;
      result[i] = changed = true;
      sources.insert(node.output().begin(), node.output().end());
    }
  }
  return result;
}

bool is_index_like(const onnx::ValueInfoProto& input) {
  if (!input.type().has_tensor_type()) return false;
  switch (input.type().tensor_type().elem_type()) {
    case onnx::TensorProto::BOOL:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::vector<NodeRole> node_roles(const onnx::GraphProto& graph) {
  const std::vector<const onnx::NodeProto*> nodes = all_nodes(graph);
  std::unordered_set<std::string> constants;
  for (const auto& initializer : graph.initializer()) constants.insert(initializer.name());
  std::vector<bool> shape_only = nodes_derived_from(nodes, constants);
  // Index-like inputs only (token ids, masks): computing on float data or on parameters is the
  // model's own work, even before its first module (an image normalisation in the root forward).
  std::unordered_set<std::string> inputs_and_shapes;
  for (const auto& input : graph.input()) {
    if (!constants.count(input.name()) && is_index_like(input)) inputs_and_shapes.insert(input.name());
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (shape_only[i]) inputs_and_shapes.insert(nodes[i]->output().begin(), nodes[i]->output().end());
  }
  std::vector<bool> input_only = nodes_derived_from(nodes, inputs_and_shapes);
  std::vector<NodeRole> roles(nodes.size(), NodeRole::kCompute);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (is_auxiliary_op(nodes[i]->op_type()) || shape_only[i]) {
      roles[i] = NodeRole::kAuxiliary;
    } else if (input_only[i]) {
      roles[i] = NodeRole::kInputPreprocessing;
    }
  }
  return roles;
}

}  // namespace htp::tagging
