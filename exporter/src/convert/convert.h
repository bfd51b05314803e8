// TorchScript IR → ONNX (opset 17).
#pragma once

#include "traced_graph.h"

#include <onnx/onnx_pb.h>

namespace htp::exporter {

inline constexpr int64_t kOpsetVersion = 17;

// Whether the converter handles `node`: structural prim nodes and ops with a converter.
bool is_convertible(const torch::jit::Node* node, bool in_place_as_functional);

// Precondition: `traced.graph` is a flat graph (no blocks) of aten and prim nodes.
// Postcondition: an ONNX model whose every node carries the `htp.scope` of the aten node it came
// from, whose initializers are the used parameters under their state_dict names, and whose
// outputs are named `traced.output_names`. Throws UnsupportedOpsError listing every op without
// a converter (with its module scope) before converting anything.
onnx::ModelProto convert_to_onnx(const TracedGraph& traced);

}  // namespace htp::exporter
