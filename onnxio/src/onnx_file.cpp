#include "htp/onnxio/onnx_file.h"

#include "htp/onnxio/file_io.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/tensor_data.h"
#include "wire_format.h"

#include <google/protobuf/unknown_field_set.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace htp::onnxio {

namespace {

constexpr const char* kUncheckedDomain = "htp.newer_than_checker";

// The newest default-domain opset this libonnx has schemas for (17 for Debian's 1.12).
int64_t newest_checked_opset() { return onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second; }

// Lowers the IR, takes the nodes' unknown fields out and, in a model whose opset is newer than this libonnx,
// moves default-domain ops into a domain the checker does not know (so it checks their wiring but not their
// schema, which ONNX Runtime does), restoring
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
      // In a model newer than this libonnx, any default-domain op may have changed since its newest
      // schema here (ReduceMean takes its axes as an input from opset 18), so none is held to it.
      if (newer_than_checker && is_default_domain(node.domain())) {
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

// `text` with its line breaks and runs of spaces as single spaces: the checker's messages print a
// node over several lines.
std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return printable(out);
}

// The newest ONNX release this build knows of, 1.20 (December 2025), defines opset 25 of the default
// domain and IR version 13; a file declaring more was written by nothing real.
constexpr int64_t kNewestOpset = 25;
constexpr int64_t kNewestIrVersion = 13;

void check_versions(const onnx::ModelProto& model) {
  if (model.ir_version() > kNewestIrVersion) {
    throw Error("declares IR version " + std::to_string(model.ir_version()) + ", newer than any ONNX release (" +
                std::to_string(kNewestIrVersion) + ")");
  }
  if (default_opset(model) > kNewestOpset) {
    throw Error("imports opset " + std::to_string(default_opset(model)) +
                " of the default domain, newer than any ONNX release (" + std::to_string(kNewestOpset) + ")");
  }
}

// What ONNX 1.12's checker lets through: a graph output nothing defines. `defined` starts with the
// names visible from enclosing graphs.
void check_graph_outputs(const onnx::GraphProto& graph, std::unordered_set<std::string> defined) {
  for (const auto& tensor : graph.initializer()) defined.insert(tensor.name());
  for (const auto& input : graph.input()) defined.insert(input.name());
  for (const auto& node : graph.node()) {
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_g()) check_graph_outputs(attribute.g(), defined);
      for (const auto& subgraph : attribute.graphs()) check_graph_outputs(subgraph, defined);
    }
    defined.insert(node.output().begin(), node.output().end());
  }
  for (const auto& output : graph.output()) {
    if (!defined.count(output.name())) {
      throw Error("graph output '" + printable(output.name()) + "' is computed by no node and is neither an input nor an initializer");
    }
  }
}

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

// Runs a deferred tensor's writer, checking that it wrote what it promised (a stream that failed is
// the caller's to report).
void write_deferred(const std::string& name, const DeferredTensor& tensor, std::ostream& out) {
  const auto start = out.tellp();
  tensor.write(out);
  if (!out) return;
  const auto written = static_cast<size_t>(out.tellp() - start);
  if (written != tensor.bytes) {
    throw Error("initializer '" + printable(name) + "': its source gave " + std::to_string(written) + " bytes, not " +
                std::to_string(tensor.bytes));
  }
}

// A deferred tensor's bytes put into the model.
void hold_deferred(onnx::TensorProto& tensor, const DeferredTensor& source) {
  std::ostringstream bytes;
  write_deferred(tensor.name(), source, bytes);
  tensor.set_raw_data(std::move(bytes).str());
}

// Streams the raw bytes of every large initializer to `path`.data, in graph order, and points the
// tensors there. A deferred tensor below the size that goes out is put into the model instead. Returns
// the data file's path.
std::string write_external_data(onnx::ModelProto& model, const std::string& path, const DeferredTensors& deferred) {
  const std::string data_path = path + ".data";
  const std::string location = std::filesystem::path(data_path).filename().string();
  write_file_atomically(data_path, [&](std::ostream& out) {
    size_t offset = 0;
    auto append = [&](onnx::TensorProto& tensor, size_t length, const std::function<void()>& write) {
      size_t padding = (kExternalAlignment - offset % kExternalAlignment) % kExternalAlignment;
      out.write(std::string(padding, '\0').data(), static_cast<std::streamsize>(padding));
      offset += padding;
      write();
      if (!out) throw Error("cannot write '" + data_path + "': " + std::strerror(errno));
      set_external_location(tensor, location, offset, length);
      offset += length;
    };
    for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
      if (auto it = deferred.find(tensor.name()); it != deferred.end()) {
        if (it->second.bytes < kMinExternalBytes) {
          hold_deferred(tensor, it->second);
        } else {
          append(tensor, it->second.bytes, [&] { write_deferred(tensor.name(), it->second, out); });
        }
        continue;
      }
      if (!tensor.has_raw_data() || tensor.raw_data().size() < kMinExternalBytes) continue;
      const std::string& bytes = tensor.raw_data();
      append(tensor, bytes.size(), [&] { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
    }
    return static_cast<bool>(out);
  });
  return data_path;
}

// Refuses, before writing any, a data file of `bytes` that the disk holding it has no room for: a large
// model would otherwise fail after minutes of writing.
void check_room_for(const std::string& data_path, size_t bytes) {
  std::error_code ec;
  const std::filesystem::space_info space = std::filesystem::space(model_folder(data_path), ec);
  if (ec || bytes <= space.available) return;
  auto gb = [](size_t n) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f GB", static_cast<double>(n) / 1e9);
    return std::string(text);
  };
  throw Error("cannot write '" + data_path + "': its " + gb(bytes) + " of weights need more than the " + gb(space.available) +
              " free there");
}

// The checker wants one non-empty value field on every initializer (it does not compare its size with the
// dims): a deferred tensor not yet held gets a one-byte raw_data for the duration of the check.
void check_with_placeholders(onnx::ModelProto& model, const DeferredTensors& deferred, const std::string& model_dir = "") {
  std::vector<onnx::TensorProto*> placeholders;
  for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (!tensor.has_raw_data() && deferred.count(tensor.name())) {
      tensor.set_raw_data(std::string(1, '\0'));
      placeholders.push_back(&tensor);
    }
  }
  try {
    check_onnx_model(model, model_dir);
  } catch (...) {
    for (auto* tensor : placeholders) tensor->clear_raw_data();
    throw;
  }
  for (auto* tensor : placeholders) tensor->clear_raw_data();
}

// Everything read_onnx_model checks of a parsed model, `deferred` tensors by their sizes.
void check_read_model(onnx::ModelProto& model, const std::string& path, const DeferredTensors& deferred) {
  // Tensors first: the checker would read external data wherever it points.
  check_model_tensors(model, path, deferred);
  try {
    check_versions(model);
    check_with_placeholders(model, deferred, model_folder(path));
    check_graph_outputs(model.graph(), {});
  } catch (const Error& e) {
    throw Error("'" + path + "': " + e.what());
  }
}

// Serializes `model` with the bytes of its `deferred` initializers put in as they are written.
bool serialize_with_deferred(const onnx::ModelProto& model, const DeferredTensors& deferred, std::ostream& out) {
  const auto& initializers = model.graph().initializer();
  std::vector<const DeferredTensor*> sources(static_cast<size_t>(initializers.size()), nullptr);
  bool any = false;
  for (int i = 0; i < initializers.size(); ++i) {
    if (initializers[i].has_raw_data() || initializers[i].data_location() == onnx::TensorProto::EXTERNAL) continue;
    if (auto it = deferred.find(initializers[i].name()); it != deferred.end()) {
      sources[static_cast<size_t>(i)] = &it->second;
      any = true;
    }
  }
  if (!any) return model.SerializeToOstream(&out);
  const std::string serialized = model.SerializeAsString();
  auto source = [&](int i) { return i < static_cast<int>(sources.size()) ? sources[static_cast<size_t>(i)] : nullptr; };
  wire::splice_raw_data(
      serialized,
      [&](int i) { return source(i) ? std::optional<size_t>(source(i)->bytes) : std::nullopt; },
      [&](int i, std::ostream& stream) { write_deferred(initializers[i].name(), *source(i), stream); }, out);
  return static_cast<bool>(out);
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

void check_onnx_model(onnx::ModelProto& model, const std::string& model_dir) {
  CheckerView view(model);
  try {
    if (model_dir.empty()) {
      onnx::checker::check_model(model);
    } else {
      // check_model(ModelProto) looks for external data beside the working directory; the same checks
      // with the model's folder set.
      onnx::checker::CheckerContext context;
      context.set_model_dir(model_dir);
      context.set_ir_version(static_cast<int>(model.ir_version()));
      std::unordered_map<std::string, int> opsets;
      for (const auto& entry : model.opset_import()) opsets[entry.domain()] = static_cast<int>(entry.version());
      context.set_opset_imports(opsets);
      if (model.ir_version() == 0) throw std::runtime_error("the model declares no IR version");
      if (opsets.empty()) throw std::runtime_error("the model imports no opset");
      onnx::checker::LexicalScopeContext scope;
      onnx::checker::check_graph(model.graph(), context, scope);
      onnx::checker::check_model_local_functions(model, context, scope);
    }
  } catch (const std::exception& e) {
    throw Error("the ONNX checker rejected the model: " + one_line(e.what()));
  }
}

onnx::ModelProto shape_inference_copy(const onnx::ModelProto& model) {
  constexpr size_t kValueBytes = 4096;
  onnx::ModelProto copy;
  copy.set_ir_version(onnx::IR_VERSION);
  *copy.mutable_opset_import() = model.opset_import();
  const onnx::GraphProto& graph = model.graph();
  onnx::GraphProto& typed = *copy.mutable_graph();
  typed.mutable_node()->Reserve(graph.node_size());
  for (const auto& node : graph.node()) {
    // Not the tags (unknown fields) or doc strings: a tagged node's metadata outweighs the rest of it.
    onnx::NodeProto& kept = *typed.add_node();
    kept.set_name(node.name());
    kept.set_op_type(node.op_type());
    kept.set_domain(node.domain());
    *kept.mutable_input() = node.input();
    *kept.mutable_output() = node.output();
    *kept.mutable_attribute() = node.attribute();
  }
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
  onnx::ModelProto model;
  if (!parse_file(path, model) || !model.has_graph()) {
    throw Error("'" + path + "' is not an ONNX model");
  }
  check_read_model(model, path, {});
  return model;
}

ModelWithDeferredWeights read_onnx_model_deferring_weights(const std::string& path, size_t min_bytes) {
  auto file = std::make_shared<const ReadableFile>(path);  // the weights' source, as the file is now
  std::vector<std::optional<wire::ByteRange>> ranges;
  std::optional<std::string> stripped;
  try {
    stripped = wire::strip_raw_data(MappedFile(*file).bytes(), min_bytes, ranges);
  } catch (const Error&) {  // a pipe: read it as a stream
  }
  ModelWithDeferredWeights read;
  // Not wire data at all, or not mappable: the usual reader reads it, or says why not.
  if (!stripped) return {read_onnx_model(path), {}};
  if (!read.model.ParseFromString(*stripped) || !read.model.has_graph() ||
      read.model.graph().initializer_size() != static_cast<int>(ranges.size())) {
    throw Error("'" + path + "' is not an ONNX model");
  }
  std::unordered_set<std::string> names;
  for (const auto& tensor : read.model.graph().initializer()) {
    // Two initializers of one name: the checker's refusal, as read_onnx_model gives it.
    if (!names.insert(tensor.name()).second) return {read_onnx_model(path), {}};
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (!ranges[i]) continue;
    read.weights.emplace(read.model.graph().initializer(static_cast<int>(i)).name(),
                         deferred_range(file, ranges[i]->offset, ranges[i]->length));
  }
  check_read_model(read.model, path, read.weights);
  return read;
}

std::vector<std::string> write_onnx_model(onnx::ModelProto& model, const std::string& path, ExternalData external,
                                          const DeferredTensors& deferred) {
  size_t deferred_bytes = 0;  // of the tensors the model declares: the file size as if it held them
  for (const auto& tensor : model.graph().initializer()) {
    if (auto it = deferred.find(tensor.name()); it != deferred.end()) deferred_bytes += it->second.bytes;
  }
  const bool goes_out = external == ExternalData::kAlways ||
                        model.ByteSizeLong() + deferred_bytes + kExternalDataMargin > kMaxInlineModelBytes;
  if (!goes_out) {
    // protobuf writes unknown fields after raw_data whatever their number; splicing puts raw_data by number.
    for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
      auto it = deferred.find(tensor.name());
      if (it != deferred.end() && !tensor.has_raw_data() && !tensor.unknown_fields().empty()) hold_deferred(tensor, it->second);
    }
  }
  check_with_placeholders(model, deferred);  // before the tensors point into a file the checker would look for
  std::vector<std::string> written;
  if (goes_out) {
    check_room_for(path + ".data", model.ByteSizeLong() + deferred_bytes);
    written.push_back(write_external_data(model, path, deferred));
  }
  try {
    write_file_atomically(path, [&](std::ostream& out) { return serialize_with_deferred(model, deferred, out); });
  } catch (...) {
    for (const auto& file : written) std::remove(file.c_str());
    throw;
  }
  written.push_back(path);
  return written;
}

}  // namespace htp::onnxio
