// Validating and writing ONNX models.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace htp::exporter {

// Runs the ONNX checker. onnx 1.12 accepts IR ≤ 8 and knows no node metadata_props, so for the
// duration of the check the IR is lowered and the nodes' unknown fields set aside; the model is
// unchanged afterwards, and everything else is checked as written.
void check_onnx_model(onnx::ModelProto& model);
// Checks, serializes and writes atomically.
void write_onnx_model(onnx::ModelProto& model, const std::string& path);

}  // namespace htp::exporter
