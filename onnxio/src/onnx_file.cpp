#include "htp/onnxio/onnx_file.h"

#include "htp/onnxio/file_io.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/tensor_data.h"

#include <google/protobuf/unknown_field_set.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace htp::onnxio {

namespace {

constexpr const char* kUncheckedDomain = "htp.newer_than_checker";

// The newest default-domain opset this libonnx has schemas for (17 for Debian's 1.12).
int64_t newest_checked_opset() { return onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second; }

// True for a default-domain op this libonnx has no schema for at `opset` (in a model whose opset is newer than
// newest_checked_opset(): Gelu, new in opset 20).
bool lacks_schema(const onnx::NodeProto& node, int64_t opset) {
  return is_default_domain(node.domain()) &&
         onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(opset), "") == nullptr;
}

// Lowers the IR, takes the nodes' unknown fields out and moves ops newer than this libonnx into a domain the
// checker does not know (so it checks their wiring but not their schema, which ONNX Runtime does), restoring
// all on destruction; swapping in place avoids copying the weights.
class CheckerView {
 public:
  explicit CheckerView(onnx::ModelProto& model) : model_(model), ir_version_(model.ir_version()) {
    model_.set_ir_version(std::min<int64_t>(ir_version_, 8));
    const int64_t opset = default_opset(model_);
    const bool newer_than_checker = opset > newest_checked_opset();
    for (auto& node : *model_.mutable_graph()->mutable_node()) {
      stashed_.emplace_back();
      stashed_.back().Swap(node.mutable_unknown_fields());
      if (newer_than_checker && lacks_schema(node, opset)) {
        unchecked_.push_back({&node, node.has_domain() ? std::optional(node.domain()) : std::nullopt});
        node.set_domain(kUncheckedDomain);
      }
    }
    if (!unchecked_.empty()) {
      auto* entry = model_.add_opset_import();
      entry->set_domain(kUncheckedDomain);
      entry->set_version(1);
    }
  }
  ~CheckerView() {
    model_.set_ir_version(ir_version_);
    for (int i = 0; i < model_.graph().node_size(); ++i) {
      stashed_[i].Swap(model_.mutable_graph()->mutable_node(i)->mutable_unknown_fields());
    }
    for (auto& [node, domain] : unchecked_) domain ? node->set_domain(*domain) : node->clear_domain();
    if (!unchecked_.empty()) model_.mutable_opset_import()->RemoveLast();
  }

 private:
  onnx::ModelProto& model_;
  int64_t ir_version_;
  std::deque<google::protobuf::UnknownFieldSet> stashed_;  // not movable, so no vector
  std::vector<std::pair<onnx::NodeProto*, std::optional<std::string>>> unchecked_;
};

constexpr size_t kMinExternalBytes = 1024;
constexpr size_t kExternalAlignment = 64;

void set_external_location(onnx::TensorProto& tensor, const std::string& location, size_t offset, size_t length) {
  tensor.set_data_location(onnx::TensorProto::EXTERNAL);
  tensor.clear_external_data();
  for (const auto& [key, value] : {std::pair<const char*, std::string>{"location", location},
                                   {"offset", std::to_string(offset)},
                                   {"length", std::to_string(length)}}) {
    auto* entry = tensor.add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  }
  delete tensor.release_raw_data();  // gives the bytes back now, not when the model goes
}

// Streams the raw bytes of every large initializer to `path`.data, in graph order, and points the
// tensors there. Returns the data file's path.
std::string write_external_data(onnx::ModelProto& model, const std::string& path) {
  const std::string data_path = path + ".data";
  const std::string location = std::filesystem::path(data_path).filename().string();
  write_file_atomically(data_path, [&](std::ostream& out) {
    size_t offset = 0;
    for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
      if (!tensor.has_raw_data() || tensor.raw_data().size() < kMinExternalBytes) continue;
      size_t padding = (kExternalAlignment - offset % kExternalAlignment) % kExternalAlignment;
      out.write(std::string(padding, '\0').data(), static_cast<std::streamsize>(padding));
      offset += padding;
      const std::string& bytes = tensor.raw_data();
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      size_t length = bytes.size();
      set_external_location(tensor, location, offset, length);
      offset += length;
    }
    return static_cast<bool>(out);
  });
  return data_path;
}

}  // namespace

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

bool is_standard_domain(const std::string& domain) { return is_default_domain(domain) || domain == "ai.onnx.ml"; }

int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& entry : model.opset_import()) {
    if (is_default_domain(entry.domain())) return entry.version();
  }
  return 0;
}

void check_onnx_model(onnx::ModelProto& model) {
  CheckerView view(model);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string message = e.what();
    throw Error("the ONNX checker rejected the model: " + message.substr(0, message.find('\n')));
  }
}

onnx::ModelProto shape_inference_copy(const onnx::ModelProto& model) {
  constexpr size_t kValueBytes = 4096;
  onnx::ModelProto copy;
  copy.set_ir_version(onnx::IR_VERSION);
  *copy.mutable_opset_import() = model.opset_import();
  const onnx::GraphProto& graph = model.graph();
  onnx::GraphProto& typed = *copy.mutable_graph();
  *typed.mutable_node() = graph.node();
  *typed.mutable_input() = graph.input();
  *typed.mutable_output() = graph.output();
  *typed.mutable_value_info() = graph.value_info();
  for (const auto& tensor : graph.initializer()) {
    onnx::TensorProto* kept = typed.add_initializer();
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL && tensor.ByteSizeLong() <= kValueBytes) {
      *kept = tensor;
      continue;
    }
    kept->set_name(tensor.name());
    kept->set_data_type(tensor.data_type());
    *kept->mutable_dims() = tensor.dims();
  }
  return copy;
}

onnx::ModelProto read_onnx_model(const std::string& path) {
  std::string bytes = read_file(path);
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph()) {
    throw Error("'" + path + "' is not an ONNX model");
  }
  check_model_tensors(model, path);
  return model;
}

std::vector<std::string> write_onnx_model(onnx::ModelProto& model, const std::string& path, ExternalData external) {
  check_onnx_model(model);  // before the tensors point into a file the checker would look for
  std::vector<std::string> written;
  if (external == ExternalData::kAlways || model.ByteSizeLong() + kExternalDataMargin > kMaxInlineModelBytes) {
    written.push_back(write_external_data(model, path));
  }
  try {
    write_file_atomically(path, [&model](std::ostream& out) { return model.SerializeToOstream(&out); });
  } catch (...) {
    for (const auto& file : written) std::remove(file.c_str());
    throw;
  }
  written.push_back(path);
  return written;
}

}  // namespace htp::onnxio
