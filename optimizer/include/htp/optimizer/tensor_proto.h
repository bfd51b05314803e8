// Conversions between ONNX TensorProto and ATen tensors, shared by the exporter (initializers,
// Constant values) and the optimizer (folding, evaluation). Includes ATen: keep it out of
// torch-free headers.
#pragma once

#include <ATen/core/Tensor.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

namespace htp::optimizer {

// ONNX TensorProto element type for an ATen dtype; throws htp::Error for dtypes ONNX cannot hold.
int32_t onnx_dtype(at::ScalarType dtype);
// ATen dtype for an ONNX element type; throws htp::Error for types ATen has no equivalent of.
at::ScalarType aten_dtype(int32_t onnx_type);
// The element type's name as ONNX spells it in tensor(...) types: "float", "int64", "bool".
std::string onnx_type_name(int32_t onnx_type);

// Copies a tensor (any strides, any device) into the proto's dims, data_type and raw_data.
void to_tensor_proto(const at::Tensor& value, onnx::TensorProto& proto);

// The tensor a proto holds, from raw_data, the typed fields or external data (read from
// `model_dir`/location). Always a fresh contiguous CPU tensor that owns its bytes.
at::Tensor from_tensor_proto(const onnx::TensorProto& proto, const std::string& model_dir = ".");

}  // namespace htp::optimizer
