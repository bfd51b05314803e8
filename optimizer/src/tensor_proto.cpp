#include "htp/optimizer/tensor_proto.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/tensor_data.h"

#include <ATen/ATen.h>

#include <cctype>
#include <cstring>
#include <map>

namespace htp::optimizer {
namespace {

const std::map<at::ScalarType, int32_t>& dtype_table() {
  static const std::map<at::ScalarType, int32_t> table{
      {at::kFloat, onnx::TensorProto::FLOAT},   {at::kDouble, onnx::TensorProto::DOUBLE},
      {at::kHalf, onnx::TensorProto::FLOAT16},  {at::kBFloat16, onnx::TensorProto::BFLOAT16},
      {at::kLong, onnx::TensorProto::INT64},    {at::kInt, onnx::TensorProto::INT32},
      {at::kShort, onnx::TensorProto::INT16},   {at::kChar, onnx::TensorProto::INT8},
      {at::kByte, onnx::TensorProto::UINT8},    {at::kBool, onnx::TensorProto::BOOL},
  };
  return table;
}

// Copies a typed repeated field into the tensor, narrowing as ONNX stores small types widened.
template <typename Field>
void copy_typed(const Field& field, at::Tensor& tensor, const std::string& name) {
  if (static_cast<int64_t>(field.size()) != tensor.numel()) {
    throw Error("tensor '" + name + "' holds " + std::to_string(field.size()) + " values for " + std::to_string(tensor.numel()) + " elements");
  }
  using Stored = typename Field::value_type;
  at::Tensor wide = at::empty(tensor.sizes(), at::CppTypeToScalarType<Stored>::value);
  std::memcpy(wide.data_ptr(), field.data(), field.size() * sizeof(Stored));
  tensor.copy_(wide);
}

}  // namespace

int32_t onnx_dtype(at::ScalarType dtype) {
  auto it = dtype_table().find(dtype);
  if (it == dtype_table().end()) throw Error(std::string("dtype ") + c10::toString(dtype) + " has no ONNX equivalent");
  return it->second;
}

at::ScalarType aten_dtype(int32_t onnx_type) {
  for (const auto& [dtype, type] : dtype_table()) {
    if (type == onnx_type) return dtype;
  }
  throw Error("ONNX element type " + std::to_string(onnx_type) + " (" + onnx::TensorProto::DataType_Name(onnx_type) + ") has no ATen equivalent");
}

std::string onnx_type_name(int32_t onnx_type) {
  std::string name = onnx::TensorProto::DataType_Name(onnx_type);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

void to_tensor_proto(const at::Tensor& value, onnx::TensorProto& proto) {
  const at::Tensor cpu = value.detach().cpu();
  proto.set_data_type(onnx_dtype(cpu.scalar_type()));
  proto.clear_dims();
  for (int64_t size : cpu.sizes()) proto.add_dims(size);
  // One copy, from any strides straight into raw_data (a transposed weight is laid out as it goes).
  std::string& raw = *proto.mutable_raw_data();
  const auto bytes = static_cast<size_t>(cpu.numel() * cpu.element_size());
  raw.reserve(bytes);  // untouched yet: huge pages can back it
  onnxio::prefer_huge_pages(raw.data(), bytes);
  raw.resize(bytes);
  if (cpu.numel() > 0) at::from_blob(raw.data(), cpu.sizes(), cpu.options()).copy_(cpu);
}

at::Tensor from_tensor_proto(const onnx::TensorProto& proto, const std::string& model_dir) {
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  at::Tensor tensor = at::empty(dims, aten_dtype(proto.data_type()));
  const size_t bytes = tensor.numel() * tensor.element_size();
  onnxio::prefer_huge_pages(tensor.data_ptr(), bytes);
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    // locate_external_data checks the length against the dims, so the bytes fit.
    onnxio::read_external_data(proto, model_dir, static_cast<char*>(tensor.data_ptr()));
  } else if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes) {
      throw Error("tensor '" + proto.name() + "' has " + std::to_string(proto.raw_data().size()) + " raw bytes for " + std::to_string(bytes));
    }
    std::memcpy(tensor.data_ptr(), proto.raw_data().data(), bytes);
  } else {
    switch (proto.data_type()) {
      case onnx::TensorProto::FLOAT: copy_typed(proto.float_data(), tensor, proto.name()); break;
      case onnx::TensorProto::DOUBLE: copy_typed(proto.double_data(), tensor, proto.name()); break;
      case onnx::TensorProto::INT64: copy_typed(proto.int64_data(), tensor, proto.name()); break;
      case onnx::TensorProto::FLOAT16:
      case onnx::TensorProto::BFLOAT16: {  // int32_data holds the 16-bit patterns
        at::Tensor bits = at::empty(dims, at::kShort);
        copy_typed(proto.int32_data(), bits, proto.name());
        std::memcpy(tensor.data_ptr(), bits.data_ptr(), bytes);
        break;
      }
      default: copy_typed(proto.int32_data(), tensor, proto.name()); break;
    }
  }
  return tensor;
}

}  // namespace htp::optimizer
