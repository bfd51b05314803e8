// Validating and writing ONNX models.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace htp::exporter {

// Runs the ONNX checker. onnx 1.12 accepts IR ≤ 8 and knows no node metadata_props, so it sees a
// copy with the IR lowered and the unknown fields cleared; everything else is checked as written.
void check_onnx_model(const onnx::ModelProto& model);
// Checks, serializes and writes atomically.
void write_onnx_model(const onnx::ModelProto& model, const std::string& path);
onnx::ModelProto read_onnx_model(const std::string& path);

}  // namespace htp::exporter
