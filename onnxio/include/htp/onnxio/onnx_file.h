// Reading, validating and writing ONNX model files.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace htp::onnxio {

// Runs the ONNX checker. onnx 1.12 accepts IR ≤ 8 and knows no node metadata_props, so for the
// duration of the check the IR is lowered and the nodes' unknown fields set aside; the model is
// unchanged afterwards, and everything else is checked as written.
void check_onnx_model(onnx::ModelProto& model);
// Parses an ONNX file; throws Error naming the file when it is unreadable or not an ONNX model.
onnx::ModelProto read_onnx_model(const std::string& path);
// Checks, serializes and writes atomically.
void write_onnx_model(onnx::ModelProto& model, const std::string& path);

}  // namespace htp::onnxio
