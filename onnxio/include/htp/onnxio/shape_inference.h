// ONNX shape inference, run where a crash cannot take the command with it. Debian's libonnx 1.12
// reads out of bounds on some malformed graphs that pass the checker (a Reshape target below -1
// among them, found by fuzzing), so inference runs in a forked child and only its results come back.
// Torch-free.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>

namespace htp::onnxio {

// What data propagation computed for integer tensors (Shape, Gather, Concat, ...): each tensor's
// values as the dims of a TensorShapeProto.
using ShapeValues = std::unordered_map<std::string, onnx::TensorShapeProto>;

// Runs shape inference on `model` (data propagation on, types unchecked, a node it cannot infer
// skipped) and sets the main graph's value_info and output types to what it found; returns the
// propagated values. Subgraphs are left as they were. Throws Error with libonnx's reason when
// inference fails, or the signal when it crashes.
ShapeValues infer_shapes(onnx::ModelProto& model);

}  // namespace htp::onnxio
