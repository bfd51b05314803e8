// DESIGN.md's auxiliary ops: shape plumbing that often runs outside any module, and so gets its
// context from dataflow (the inheritance engine) rather than from the trace.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace htp::tagging {

// The auxiliary op types of DESIGN.md (Constant, Shape, Cast, Reshape, Gather, Where, ...).
bool is_auxiliary_op(const std::string& op_type);

// What a node is to the inheritance engine.
enum class NodeRole {
  kCompute,
  // Shape plumbing: of an auxiliary op type, or computing on shapes and constants only (Shape,
  // Size and Constant nodes, and nodes all of whose inputs are initializers or such nodes). The
  // second kind is our addition to DESIGN.md's list: integer arithmetic on sizes (`h // patch`
  // becomes Div, Mod, Less, Xor, ...) is as much shape plumbing as Gather or Concat.
  kAuxiliary,
  // A compute op that only prepares index-like graph inputs: all of its inputs derive from
  // integer or bool graph inputs (token ids, masks), shapes and constants alone, with no float
  // data, no parameter (initializer) and no module output's values (only shapes) upstream of it
  // (an attention mask's `(1 - mask) * min`). At the root it takes its context from dataflow like auxiliary ops; where
  // dataflow cannot place it, the root's own forward is its true context and it stays `direct`.
  kInputPreprocessing,
};

// The role of every node of `graph` and its subgraphs, in all_nodes order (subgraphs.h);
// independent of node order. A node with subgraphs reads what they return (node_reads).
std::vector<NodeRole> node_roles(const onnx::GraphProto& graph);

}  // namespace htp::tagging
