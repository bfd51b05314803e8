// TorchScript IR → ONNX (opset 17).
#pragma once

#include "traced_graph.h"

#include <onnx/onnx_pb.h>

namespace htp::exporter {

inline constexpr int64_t kOpsetVersion = 17;

// Whether the converter handles `node`: structural prim nodes, prim::If and prim::Loop (an ONNX If
// or Loop, when each node of its blocks is convertible too) and ops with a converter.
bool is_convertible(const torch::jit::Node* node, bool in_place_as_functional);

// What happens to the LibTorch weights once they are copied into initializers.
enum class TracedWeights {
  kKept,
  // Each parameter's storage is released as soon as its bytes are in the model, so a large model
  // is held once, not twice. Afterwards the traced parameters (and the module sharing their
  // tensors) are empty: the module cannot run again.
  kReleased,
};

// Precondition: `traced.graph` is a flat graph (no blocks) of aten and prim nodes.
// Postcondition: an ONNX model whose every node carries the `htp.scope` of the aten node it came
// from, whose initializers are the used parameters under their state_dict names (a streamed one with
// its type and dims but no data), and whose
// outputs are named `traced.output_names`. Throws UnsupportedOpsError listing every op without
// a converter (with its module scope) before converting anything.
onnx::ModelProto convert_to_onnx(const TracedGraph& traced, TracedWeights weights = TracedWeights::kKept);

}  // namespace htp::exporter
