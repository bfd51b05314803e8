#include "htp/onnxio/onnx_file.h"

#include "htp/onnxio/file_io.h"
#include "htp/onnxio/error.h"

#include <google/protobuf/unknown_field_set.h>
#include <onnx/checker.h>

#include <deque>

namespace htp::onnxio {

namespace {

// Lowers the IR and takes the nodes' unknown fields out for the checker's sake, restoring both
// on destruction; swapping in place avoids copying the weights.
class CheckerView {
 public:
  explicit CheckerView(onnx::ModelProto& model) : model_(model), ir_version_(model.ir_version()) {
    model_.set_ir_version(std::min<int64_t>(ir_version_, 8));
    for (auto& node : *model_.mutable_graph()->mutable_node()) {
      stashed_.emplace_back();
      stashed_.back().Swap(node.mutable_unknown_fields());
    }
  }
  ~CheckerView() {
    model_.set_ir_version(ir_version_);
    for (int i = 0; i < model_.graph().node_size(); ++i) {
      stashed_[i].Swap(model_.mutable_graph()->mutable_node(i)->mutable_unknown_fields());
    }
  }

 private:
  onnx::ModelProto& model_;
  int64_t ir_version_;
  std::deque<google::protobuf::UnknownFieldSet> stashed_;  // not movable, so no vector
};

}  // namespace

void check_onnx_model(onnx::ModelProto& model) {
  CheckerView view(model);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string message = e.what();
    throw Error("the ONNX checker rejected the model: " + message.substr(0, message.find('\n')));
  }
}

onnx::ModelProto read_onnx_model(const std::string& path) {
  std::string bytes = read_file(path);
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph()) {
    throw Error("'" + path + "' is not an ONNX model");
  }
  return model;
}

void write_onnx_model(onnx::ModelProto& model, const std::string& path) {
  check_onnx_model(model);
  write_file_atomically(path, [&model](std::ostream& out) { return model.SerializeToOstream(&out); });
}

}  // namespace htp::onnxio
