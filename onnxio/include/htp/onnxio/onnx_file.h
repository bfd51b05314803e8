// Reading, validating and writing ONNX model files.
#pragma once

#include "htp/onnxio/tensor_data.h"

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace htp::onnxio {

// Runs the ONNX checker. onnx 1.12 accepts IR ≤ 8 and knows no node metadata_props, so for the
// duration of the check the IR is lowered and the nodes' unknown fields set aside; the model is
// unchanged afterwards, and everything else is checked as written. External data is looked for in
// `model_dir`; with none, beside the working directory.
void check_onnx_model(onnx::ModelProto& model, const std::string& model_dir = "");

// The default operator set's domain: "" or its alias "ai.onnx".
bool is_default_domain(const std::string& domain);
// The standard domains, whose ops have no side effects: the default one and "ai.onnx.ml".
bool is_standard_domain(const std::string& domain);
// The version of the default-domain opset the model imports; 0 when it imports none.
int64_t default_opset(const onnx::ModelProto& model);

// What ONNX shape inference needs of `model`: its nodes (without tags), inputs, outputs and value_info, and its
// initializers' types and dims, with the values of small ones only (data propagation reads
// shape-like constants, never weights). The copy declares the IR version this libonnx implements:
// tagged models declare a newer one, and a model declaring none (0) would have its initializers ignored.
onnx::ModelProto shape_inference_copy(const onnx::ModelProto& model);
// Parses an ONNX file and checks it: its tensors (check_model_tensors: sizes, types, external data
// inside the file's folder), IR and opset versions no newer than ONNX's newest release, the ONNX
// checker (wiring, SSA, topological order, schemas), and graph outputs nothing defines, which the
// checker lets through. Throws Error naming the file when it is
// unreadable, not an ONNX model or malformed.
onnx::ModelProto read_onnx_model(const std::string& path);

// A model read with its large inline weights left in the file: every main-graph initializer whose
// raw_data has at least `min_bytes` comes back with its name, type and dims only, and `weights`
// copies its bytes from the file when the model is written (write_onnx_model's `deferred`). Checked as
// read_onnx_model checks, the deferred tensors by their size in the file. For commands that rewrite a
// model's graph and metadata but read no weight values (tag, extract, partition): they skip copying the
// weights into memory, and out of it again. The file stays open while any of `weights` lives.
struct ModelWithDeferredWeights {
  onnx::ModelProto model;
  DeferredTensors weights;
};
inline constexpr size_t kMinDeferredBytes = size_t{64} << 10;  // above what shape inference reads of values
ModelWithDeferredWeights read_onnx_model_deferring_weights(const std::string& path,
                                                           size_t min_bytes = kMinDeferredBytes);
enum class ExternalData { kWhenTooLarge, kAlways };

// The size above which a model's tensors go to external data: protobuf refuses messages of 2 GiB
// and more, and the graph needs room besides its weights.
inline constexpr size_t kMaxInlineModelBytes = size_t{1} << 30 << 1;  // 2 GiB
inline constexpr size_t kExternalDataMargin = size_t{64} << 20;        // 64 MiB for everything else

// Checks, serializes and writes atomically. With kAlways, or when the serialized model would not fit
// in one protobuf, every initializer of at least 1 KiB moves to `path + ".data"` as ONNX external
// data (the tensors keep their names and point at offsets in that file, 64-byte aligned), and its
// bytes are released from `model`. `deferred` initializers are written where their bytes would have
// been, the file being byte-identical to writing a model that held them. Returns the files written; on
// failure none is left behind.
std::vector<std::string> write_onnx_model(onnx::ModelProto& model, const std::string& path,
                                          ExternalData external = ExternalData::kWhenTooLarge,
                                          const DeferredTensors& deferred = {});

}  // namespace htp::onnxio
