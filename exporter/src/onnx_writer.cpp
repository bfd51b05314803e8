#include "onnx_writer.h"

#include "file_io.h"
#include "htp/exporter/errors.h"

#include <onnx/checker.h>

namespace htp::exporter {

void check_onnx_model(const onnx::ModelProto& model) {
  onnx::ModelProto copy = model;
  copy.set_ir_version(std::min<int64_t>(copy.ir_version(), 8));
  for (auto& node : *copy.mutable_graph()->mutable_node()) node.mutable_unknown_fields()->Clear();
  try {
    onnx::checker::check_model(copy);
  } catch (const std::exception& e) {
    std::string message = e.what();
    throw ExportError("the ONNX checker rejected the model: " + message.substr(0, message.find('\n')));
  }
}

void write_onnx_model(const onnx::ModelProto& model, const std::string& path) {
  check_onnx_model(model);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw ExportError("cannot serialize the model (larger than 2 GB?)");
  write_file_atomically(path, bytes);
}

onnx::ModelProto read_onnx_model(const std::string& path) {
  onnx::ModelProto model;
  if (!model.ParseFromString(read_file(path))) throw ExportError("'" + path + "' is not an ONNX model");
  return model;
}

}  // namespace htp::exporter
