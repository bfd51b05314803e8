// Two ONNX models compared by running both with the ATen evaluator on the same random inputs
// (`htp-export verify`, docs/verify.md). Includes ATen.
#pragma once

#include <ATen/core/Tensor.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace htp::optimizer {

struct VerifyOptions {
  uint64_t seed = 0;
  // Sizes of symbolic dims by dim_param name; others take default_dim (as do dims with neither a
  // value nor a name).
  std::map<std::string, int64_t> dims;
  int64_t default_dim = 2;
};

// A model file as verify needs it: the model and the directory its external data lives in.
struct ModelFile {
  const onnx::ModelProto& model;
  std::string dir;
};

struct OutputComparison {
  std::string name;
  int32_t elem_type = 0;  // ONNX TensorProto::DataType
  std::vector<int64_t> shape;
  double max_diff = 0;    // max |a - b|; NaN in one model only counts as infinite
  double max_ref = 0;     // max |a| over finite values
  double tolerance = 0;   // 1e-4 · max(1, max_ref) for floating outputs; 0 (exact) otherwise
  bool within_tolerance() const { return max_diff <= tolerance; }
};

struct VerifyResult {
  std::vector<std::pair<std::string, at::Tensor>> inputs;  // in the reference's input order
  std::map<std::string, int64_t> dims;                      // symbolic dims as sized
  std::vector<OutputComparison> outputs;                    // in the reference's output order
  std::vector<at::Tensor> reference_outputs;                // same order
  bool passed() const;
};

// The graph inputs a caller feeds: graph inputs that are not initializers.
std::vector<const onnx::ValueInfoProto*> fed_inputs(const onnx::GraphProto& graph);

// Random inputs for `model`, from `options.seed`: floating inputs standard normal, integer inputs
// uniform in {0, 1} (valid token ids, token types and attention masks alike), bool inputs true.
// Fails on a --dim name no input uses and on inputs of types the evaluator cannot hold.
std::vector<std::pair<std::string, at::Tensor>> random_inputs(const onnx::ModelProto& model, const VerifyOptions& options,
                                                              std::map<std::string, int64_t>* sized_dims = nullptr);

// Runs `reference` and `candidate` on the same random inputs and compares every output. Throws
// htp::Error when the interfaces differ (input or output names, element types, ranks, static
// sizes) or an output's shape differs; a numeric difference is reported, not thrown.
VerifyResult verify_models(const ModelFile& reference, const ModelFile& candidate, const VerifyOptions& options);

// µs per main-graph node per run, each node's median over `runs` timed runs of run_graph after one
// warm-up run, on the same random inputs (`htp-export profile` without a trace).
std::vector<double> time_graph_nodes(const ModelFile& file, const VerifyOptions& options, int runs);

}  // namespace htp::optimizer
