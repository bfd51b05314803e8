// DESIGN.md's auxiliary ops: shape plumbing that often runs outside any module, and so gets its
// context from dataflow (the inheritance engine) rather than from the trace.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace htp::tagging {

// The auxiliary op types of DESIGN.md (Constant, Shape, Cast, Reshape, Gather, Where, ...).
bool is_auxiliary_op(const std::string& op_type);

// Per node of `graph`: auxiliary by op type, or computing on shapes and constants only (Shape,
// Size and Constant nodes, and nodes all of whose inputs are initializers or such nodes). The
// second kind is our addition to DESIGN.md's list: integer arithmetic on sizes (`h // patch`
// becomes Div, Mod, Less, Xor, ...) is as much shape plumbing as Gather or Concat. Independent of
// node order.
std::vector<bool> auxiliary_nodes(const onnx::GraphProto& graph);

}  // namespace htp::tagging
