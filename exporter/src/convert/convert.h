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

// How float32 parameters are stored in the file.
enum class StoredFloats {
  kFloat32,
  // As float16 initializers, each read through a Cast to float32 where it is first used: the file holds
  // half the bytes and every op still computes in float32. Values beyond float16's range are an error.
  kFloat16,
};

// `value` (float32) rounded to float16; throws ExportError naming `name` when a finite value overflows.
at::Tensor stored_as_float16(const std::string& name, const at::Tensor& value);

// Precondition: `traced.graph` is a flat graph (no blocks) of aten and prim nodes.
// Postcondition: an ONNX model whose every node carries the `htp.scope` of the aten node it came
// from, whose initializers are the used parameters under their state_dict names (a streamed one with
// its type and dims but no data), and whose
// outputs are named `traced.output_names`. Throws UnsupportedOpsError listing every op without
// a converter (with its module scope) before converting anything.
onnx::ModelProto convert_to_onnx(const TracedGraph& traced, TracedWeights weights = TracedWeights::kKept,
                                 StoredFloats stored = StoredFloats::kFloat32);

}  // namespace htp::exporter
