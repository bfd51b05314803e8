// Where a TensorProto's bytes are and whether they are what its dims and type claim: checked sizes,
// external data confined to the model's folder, and the validation every reader of ONNX files runs
// (read_onnx_model). Torch-free.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

namespace htp::onnxio {

// The bytes of an initializer the model declares but does not hold (its TensorProto has a name, a type and
// dims, no data): `write` puts exactly `bytes` raw little-endian bytes on the stream when the file is
// written, so weights go from their source into the file one at a time.
struct DeferredTensor {
  size_t bytes;
  std::function<void(std::ostream&)> write;
};
using DeferredTensors = std::map<std::string, DeferredTensor>;  // by initializer name

// Asks the kernel for transparent huge pages under the whole 2 MiB pages of [data, data + bytes), for a
// buffer of weights not yet written to: filling and copying gigabytes 4 KiB page by page costs more than
// the work on this kind of machine (THP "madvise", a VM). Only worth it for buffers of megabytes; a hint,
// so failures are ignored.
void prefer_huge_pages(void* data, size_t bytes);

class ReadableFile;
// A deferred tensor of the `length` bytes at `offset` of `file`, copied a chunk at a time when written.
DeferredTensor deferred_range(std::shared_ptr<const ReadableFile> file, uint64_t offset, uint64_t length);

// a·b, or nullopt when either is negative or the product does not fit in int64.
std::optional<int64_t> checked_mul(int64_t a, int64_t b);
// The product of `dims` (1 for none), or nullopt when a dim is negative or the product overflows.
template <typename Dims>
std::optional<int64_t> checked_product(const Dims& dims) {
  std::optional<int64_t> product = 1;
  for (int64_t dim : dims) {
    if (!(product = checked_mul(*product, dim))) break;
  }
  return product;
}

// Bytes per element of an ONNX element type; 0 for STRING, UNDEFINED and types this build does not know.
size_t element_size(int32_t data_type);

// The file and byte range a tensor's external data occupies, checked: `location` is relative, stays
// inside `model_dir` once `..` and symlinks are resolved, names a regular file, and offset + length
// lie inside it and equal the tensor's byte size. Throws Error with a one-line reason that starts
// after the tensor's description ("points outside the model folder: '../x'"), for callers to prefix.
struct ExternalRange {
  std::string path;  // canonical
  uint64_t offset = 0;
  uint64_t length = 0;
};
ExternalRange locate_external_data(const onnx::TensorProto& tensor, const std::string& model_dir);

// The tensor's external bytes (located as above). Throws Error "tensor 'NAME' <reason>".
std::string read_external_data(const onnx::TensorProto& tensor, const std::string& model_dir);
// The same into `out`, at most its first `max_bytes` (all of it by default, for which `out` has room);
// returns how many it read.
uint64_t read_external_data(const onnx::TensorProto& tensor, const std::string& model_dir, char* out,
                            uint64_t max_bytes = UINT64_MAX);

// The folder a model file's external data is read from: the file's directory, "." for a bare name.
std::string model_folder(const std::string& model_path);

// Reads every external-data tensor of the model (initializers and tensor attributes, in subgraphs
// too) into raw_data, so that the model, written anywhere, no longer points into `model_dir`.
// Throws Error as read_external_data does.
void load_external_data(onnx::ModelProto& model, const std::string& model_dir);
// What load_external_data does, except that the main graph's initializers do not take their bytes into
// memory: each becomes an initializer without data and a DeferredTensor copying its bytes from its file
// (opened for the copy) when the model is written. For models written elsewhere unchanged in their weights.
DeferredTensors detach_external_data(onnx::ModelProto& model, const std::string& model_dir);

// Checks every tensor of a model read from `path` (initializers, sparse initializers, tensor
// attributes of nodes, in subgraphs and functions too): known element type, non-negative dims whose
// byte size fits in int64, raw or typed data holding exactly that many elements, external data as
// locate_external_data requires. A main-graph initializer without data that `deferred` names is checked
// as if it held that many raw bytes. Throws Error "'PATH': initializer 'NAME' <reason>" (or "node ...
// attribute ..."), one line.
void check_model_tensors(const onnx::ModelProto& model, const std::string& path, const DeferredTensors& deferred = {});

}  // namespace htp::onnxio
