#include "htp/onnxio/tensor_data.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/file_io.h"

#include <sys/mman.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

namespace htp::onnxio {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& reason) { throw Error(reason); }

std::string type_name(int32_t data_type) {
  std::string name = onnx::TensorProto::DataType_Name(data_type);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// "dims [2,3] of float"; long dim lists are cut short.
std::string describe(const onnx::TensorProto& tensor) {
  constexpr int kShownDims = 8;
  std::string dims;
  for (int k = 0; k < std::min(tensor.dims_size(), kShownDims); ++k) dims += (k ? "," : "") + std::to_string(tensor.dims(k));
  if (tensor.dims_size() > kShownDims) dims += ",... (" + std::to_string(tensor.dims_size()) + " dims)";
  return "dims [" + dims + "] of " + type_name(tensor.data_type());
}

// The element count its dims claim; fails on an unknown element type, a negative dim or overflow.
int64_t element_count(const onnx::TensorProto& tensor) {
  const int32_t type = tensor.data_type();
  if (type == onnx::TensorProto::UNDEFINED || !onnx::TensorProto::DataType_IsValid(type)) {
    fail("has unknown element type " + std::to_string(type));
  }
  for (int64_t dim : tensor.dims()) {
    if (dim < 0) fail("has a negative dim in " + describe(tensor));
  }
  const std::optional<int64_t> count = checked_product(tensor.dims());
  if (!count) fail("has " + describe(tensor) + ", more elements than int64 counts");
  return *count;
}

int64_t byte_size(const onnx::TensorProto& tensor) {
  const std::optional<int64_t> bytes = checked_mul(element_count(tensor), static_cast<int64_t>(element_size(tensor.data_type())));
  if (!bytes) fail("has " + describe(tensor) + ", more bytes than int64 counts");
  return *bytes;
}

uint64_t parse_size(const std::string& key, const std::string& value) {
  uint64_t size = 0;
  const char* end = value.data() + value.size();
  auto [stop, error] = std::from_chars(value.data(), end, size);
  if (value.empty() || error != std::errc() || stop != end) {
    fail("has an invalid external-data " + key + " '" + printable(value) + "'");
  }
  return size;
}

// True when `target` is `folder` or lies below it, component by component (both canonical).
bool is_inside(const fs::path& target, const fs::path& folder) {
  return std::mismatch(folder.begin(), folder.end(), target.begin(), target.end()).first == folder.end();
}

// The values the typed field of the tensor's element type holds (ONNX stores small types widened
// in int32_data, complex numbers as two values) and that field's name.
std::pair<int64_t, const char*> typed_values(const onnx::TensorProto& tensor) {
  switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::COMPLEX64: return {tensor.float_data_size(), "float_data"};
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::COMPLEX128: return {tensor.double_data_size(), "double_data"};
    case onnx::TensorProto::INT64: return {tensor.int64_data_size(), "int64_data"};
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64: return {tensor.uint64_data_size(), "uint64_data"};
    case onnx::TensorProto::STRING: return {tensor.string_data_size(), "string_data"};
    default: return {tensor.int32_data_size(), "int32_data"};
  }
}

bool is_complex(int32_t type) { return type == onnx::TensorProto::COMPLEX64 || type == onnx::TensorProto::COMPLEX128; }

// Throws Error with the reason (to follow the tensor's description) when the tensor is malformed.
// `deferred_bytes`: the raw bytes a tensor without data holds elsewhere (DeferredTensor).
void check_tensor(const onnx::TensorProto& tensor, const std::string& model_dir,
                  std::optional<size_t> deferred_bytes = std::nullopt) {
  const int64_t count = element_count(tensor);
  const bool strings = tensor.data_type() == onnx::TensorProto::STRING;
  if (!strings) byte_size(tensor);  // fits in int64, so 2·count does too for complex types
  if (tensor.has_segment()) fail("is segmented, which htp-export does not read");
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    if (strings) fail("holds strings as external data, which ONNX does not allow");
    locate_external_data(tensor, model_dir);
    return;
  }
  if (tensor.has_raw_data() || deferred_bytes) {
    if (strings) fail("holds strings as raw_data, which ONNX does not allow");
    const int64_t bytes = byte_size(tensor);
    const size_t held = tensor.has_raw_data() ? tensor.raw_data().size() : *deferred_bytes;
    if (static_cast<int64_t>(held) != bytes) {
      fail("has " + std::to_string(held) + " bytes of raw_data for " + describe(tensor) + " (" +
           std::to_string(bytes) + " bytes)");
    }
    return;
  }
  const auto [values, field] = typed_values(tensor);
  const int64_t expected = is_complex(tensor.data_type()) ? 2 * count : count;
  if (values != expected) {
    fail("has " + std::to_string(values) + " values in " + field + " for " + describe(tensor) + " (" +
         std::to_string(expected) + " values)");
  }
}

void check_sparse_tensor(const onnx::SparseTensorProto& sparse, const std::string& model_dir, const std::string& what,
                         const std::string& file) {
  auto check = [&](const onnx::TensorProto& tensor, const char* part) {
    try {
      check_tensor(tensor, model_dir);
    } catch (const Error& e) {
      throw Error("'" + file + "': " + what + " " + part + " " + e.what());
    }
  };
  check(sparse.values(), "values");
  check(sparse.indices(), "indices");
  if (!checked_product(sparse.dims())) {
    throw Error("'" + file + "': " + what + " has negative dims or more elements than int64 counts");
  }
}

std::string node_label(const onnx::NodeProto& node) {
  std::string label = node.name().empty() && node.output_size() > 0 ? "producing '" + printable(node.output(0)) + "'"
                                                                     : "'" + printable(node.name()) + "'";
  return "node " + label + " (" + printable(node.op_type()) + ")";
}

// Walks every tensor of a model, naming the first malformed one with the file.
class ModelTensorCheck {
 public:
  ModelTensorCheck(std::string file, std::string model_dir) : file_(std::move(file)), model_dir_(std::move(model_dir)) {}

  // `deferred`: the main graph's initializers held elsewhere; none for subgraphs.
  void graph(const onnx::GraphProto& graph, const DeferredTensors& deferred = {}) const {
    for (const auto& tensor : graph.initializer()) {
      const auto it = tensor.has_raw_data() ? deferred.end() : deferred.find(tensor.name());
      check(tensor, "initializer '" + printable(tensor.name()) + "'",
            it == deferred.end() ? std::nullopt : std::optional<size_t>(it->second.bytes));
    }
    for (const auto& sparse : graph.sparse_initializer()) {
      check_sparse_tensor(sparse, model_dir_, "sparse initializer '" + printable(sparse.values().name()) + "'", file_);
    }
    for (const auto& node : graph.node()) this->node(node);
  }

  void node(const onnx::NodeProto& node) const {
    for (const auto& attribute : node.attribute()) {
      const std::string what = node_label(node) + " attribute '" + printable(attribute.name()) + "'";
      if (attribute.has_t()) check(attribute.t(), what);
      for (const auto& tensor : attribute.tensors()) check(tensor, what);
      if (attribute.has_sparse_tensor()) check_sparse_tensor(attribute.sparse_tensor(), model_dir_, what, file_);
      for (const auto& sparse : attribute.sparse_tensors()) check_sparse_tensor(sparse, model_dir_, what, file_);
      if (attribute.has_g()) graph(attribute.g());
      for (const auto& body : attribute.graphs()) graph(body);
    }
  }

 private:
  void check(const onnx::TensorProto& tensor, const std::string& what,
             std::optional<size_t> deferred_bytes = std::nullopt) const {
    try {
      check_tensor(tensor, model_dir_, deferred_bytes);
    } catch (const Error& e) {
      throw Error("'" + file_ + "': " + what + " " + e.what());
    }
  }

  std::string file_;
  std::string model_dir_;
};

}  // namespace

std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t product = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

size_t element_size(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::BOOL:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8: return 1;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16: return 2;
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32: return 4;
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::COMPLEX64: return 8;
    case onnx::TensorProto::COMPLEX128: return 16;
    default: return 0;
  }
}

ExternalRange locate_external_data(const onnx::TensorProto& tensor, const std::string& model_dir) {
  std::optional<std::string> location, offset, length;
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == "location") location = entry.value();
    if (entry.key() == "offset") offset = entry.value();
    if (entry.key() == "length") length = entry.value();
  }
  if (!location || location->empty()) fail("has external data without a location");
  const std::string quoted = "'" + printable(*location) + "'";
  const std::string outside = "points outside the model folder: " + quoted;
  const fs::path relative(*location);
  if (location->find('\0') != std::string::npos || relative.has_root_path()) fail(outside);
  std::error_code error;
  const fs::path folder = fs::canonical(model_dir.empty() ? "." : model_dir, error);
  if (error) fail("has external data, but its folder '" + printable(model_dir) + "' cannot be resolved: " + error.message());
  const fs::path target = fs::weakly_canonical(folder / relative, error);
  if (error) fail("has external data in " + quoted + ", which cannot be resolved: " + error.message());
  if (!is_inside(target, folder)) fail(outside);
  const fs::file_status status = fs::status(target, error);
  if (!fs::exists(status)) fail("has external data in " + quoted + ", which does not exist");
  if (!fs::is_regular_file(status)) fail("has external data in " + quoted + ", which is not a regular file");
  const uint64_t file_size = fs::file_size(target, error);
  if (error) fail("has external data in " + quoted + ", which cannot be read: " + error.message());

  ExternalRange range{target.string(), offset ? parse_size("offset", *offset) : 0, 0};
  if (range.offset > file_size) {
    fail("has external data at offset " + *offset + ", beyond the end of " + quoted + " (" + std::to_string(file_size) + " bytes)");
  }
  range.length = length ? parse_size("length", *length) : file_size - range.offset;
  if (range.length > file_size - range.offset) {
    fail("has external data at offset " + std::to_string(range.offset) + " of length " + *length + ", beyond the end of " +
         quoted + " (" + std::to_string(file_size) + " bytes)");
  }
  const int64_t bytes = byte_size(tensor);
  if (range.length != static_cast<uint64_t>(bytes)) {
    fail("has " + std::to_string(range.length) + " bytes of external data in " + quoted + " for " + describe(tensor) + " (" +
         std::to_string(bytes) + " bytes)");
  }
  return range;
}

namespace {

ExternalRange located(const onnx::TensorProto& tensor, const std::string& model_dir) {
  try {
    return locate_external_data(tensor, model_dir);
  } catch (const Error& e) {
    throw Error("tensor '" + printable(tensor.name()) + "' " + e.what());
  }
}

void read_located(const onnx::TensorProto& tensor, const ExternalRange& range, char* out, uint64_t bytes) {
  try {
    ReadableFile(range.path).read_at(range.offset, out, bytes);
  } catch (const Error& e) {
    throw Error("cannot read the external data of tensor '" + printable(tensor.name()) + "': " + e.what());
  }
}

}  // namespace

uint64_t read_external_data(const onnx::TensorProto& tensor, const std::string& model_dir, char* out,
                            uint64_t max_bytes) {
  const ExternalRange range = located(tensor, model_dir);
  const uint64_t bytes = std::min(range.length, max_bytes);
  read_located(tensor, range, out, bytes);
  return bytes;
}

std::string read_external_data(const onnx::TensorProto& tensor, const std::string& model_dir) {
  const ExternalRange range = located(tensor, model_dir);
  std::string bytes(range.length, '\0');
  read_located(tensor, range, bytes.data(), range.length);
  return bytes;
}

void prefer_huge_pages(void* data, size_t bytes) {
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<uintptr_t>(data) + kHugePage - 1) & ~(kHugePage - 1);
  const auto end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHugePage - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

namespace {

void copy_range(const ReadableFile& file, uint64_t offset, uint64_t length, std::ostream& out) {
  constexpr uint64_t kChunk = uint64_t{1} << 20;
  std::vector<char> chunk(static_cast<size_t>(std::min(length, kChunk)));
  for (uint64_t done = 0; done < length && out;) {
    const size_t bytes = static_cast<size_t>(std::min(length - done, kChunk));
    file.read_at(offset + done, chunk.data(), bytes);
    out.write(chunk.data(), static_cast<std::streamsize>(bytes));
    done += bytes;
  }
}

}  // namespace

DeferredTensor deferred_range(std::shared_ptr<const ReadableFile> file, uint64_t offset, uint64_t length) {
  return {length, [file = std::move(file), offset, length](std::ostream& out) { copy_range(*file, offset, length, out); }};
}

DeferredTensors detach_external_data(onnx::ModelProto& model, const std::string& model_dir) {
  DeferredTensors detached;
  for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL) continue;
    const ExternalRange range = located(tensor, model_dir);
    // Opened when written, one at a time: exporters write a file per tensor, more than a process may
    // hold open. The writer replaces no file before all of them are read.
    detached.insert_or_assign(tensor.name(), DeferredTensor{range.length, [range](std::ostream& out) {
                                copy_range(ReadableFile(range.path), range.offset, range.length, out);
                              }});
    tensor.clear_external_data();
    tensor.clear_data_location();
  }
  load_external_data(model, model_dir);  // the rest: subgraphs and tensor attributes
  return detached;
}

std::string model_folder(const std::string& model_path) {
  const std::string folder = fs::path(model_path).parent_path().string();
  return folder.empty() ? "." : folder;
}

void load_external_data(onnx::ModelProto& model, const std::string& model_dir) {
  auto load = [&](onnx::TensorProto& tensor) {
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL) return;
    tensor.set_raw_data(read_external_data(tensor, model_dir));
    tensor.clear_external_data();
    tensor.clear_data_location();
  };
  std::function<void(onnx::GraphProto&)> load_graph = [&](onnx::GraphProto& graph) {
    for (auto& tensor : *graph.mutable_initializer()) load(tensor);
    for (auto& node : *graph.mutable_node()) {
      for (auto& attribute : *node.mutable_attribute()) {
        if (attribute.has_t()) load(*attribute.mutable_t());
        for (auto& tensor : *attribute.mutable_tensors()) load(tensor);
        if (attribute.has_g()) load_graph(*attribute.mutable_g());
        for (auto& body : *attribute.mutable_graphs()) load_graph(body);
      }
    }
  };
  load_graph(*model.mutable_graph());
}

void check_model_tensors(const onnx::ModelProto& model, const std::string& path, const DeferredTensors& deferred) {
  const ModelTensorCheck check(path, model_folder(path));
  check.graph(model.graph(), deferred);
  for (const auto& function : model.functions()) {
    for (const auto& node : function.node()) check.node(node);
  }
}

}  // namespace htp::onnxio
