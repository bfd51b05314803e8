// ONNX op evaluators keyed by op type, and what they see of the node they evaluate.
#pragma once

#include <ATen/ATen.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace htp::optimizer::eval {

// One node being evaluated: its inputs, attributes and opset, and failure with the node's context.
class NodeContext {
 public:
  NodeContext(const onnx::NodeProto& node, const std::vector<at::Tensor>& inputs, int64_t opset)
      : node_(node), inputs_(inputs), opset_(opset) {}

  const onnx::NodeProto& node() const { return node_; }
  int64_t opset() const { return opset_; }

  size_t input_count() const { return inputs_.size(); }
  // Whether input `index` was given (optional inputs may be omitted or left out at the end).
  bool has_input(size_t index) const { return index < inputs_.size() && inputs_[index].defined(); }
  // Input `index`; fails when it is missing.
  const at::Tensor& input(size_t index) const;
  // The values of an integer input of rank 0 or 1 (shapes, axes, pads, ...).
  std::vector<int64_t> ints_input(size_t index) const;
  // The value of a one-element input, as a double.
  double scalar_input(size_t index) const;

  size_t output_count() const { return static_cast<size_t>(node_.output_size()); }
  // Whether output `index` exists and has a name (optional outputs may be omitted).
  bool wants_output(size_t index) const;

  const onnx::AttributeProto* attribute(const std::string& name) const;
  bool has_attribute(const std::string& name) const { return attribute(name) != nullptr; }
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  float attr_float(const std::string& name, float fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> fallback = {}) const;
  std::vector<float> attr_floats(const std::string& name) const;
  // A tensor attribute; nullopt when absent.
  std::optional<at::Tensor> attr_tensor(const std::string& name) const;

  // Axes from input `index` when given, else from attribute "axes" (the pre-input form), else nullopt.
  std::optional<std::vector<int64_t>> axes(size_t index) const;
  // `axis` in [0, rank); negative values count from the end; fails outside [-rank, rank).
  int64_t normalize_axis(int64_t axis, int64_t rank) const;

  [[noreturn]] void fail(const std::string& message) const;

 private:
  const onnx::NodeProto& node_;
  const std::vector<at::Tensor>& inputs_;
  int64_t opset_;
};

using OpEvaluator = std::function<std::vector<at::Tensor>(const NodeContext&)>;

// How an evaluator handles float16 / bfloat16, which many ATen CPU kernels lack.
enum class HalfFloats {
  kNative,  // data movement and exact ops: run on the given dtype
  kWiden,   // arithmetic: run in float32, float32 outputs cast back to the input's dtype
};

class EvaluatorRegistry {
 public:
  struct Entry {
    OpEvaluator evaluate;
    HalfFloats half_floats;
  };

  static const EvaluatorRegistry& instance();

  void add(const std::string& op_type, OpEvaluator evaluate, HalfFloats half_floats = HalfFloats::kWiden);
  // nullptr when no evaluator knows `op_type`.
  const Entry* find(const std::string& op_type) const;

 private:
  std::unordered_map<std::string, Entry> entries_;
};

// One function per op family, each in its own ops_*.cpp.
void register_activation_ops(EvaluatorRegistry& registry);
void register_convolution_ops(EvaluatorRegistry& registry);
void register_creation_ops(EvaluatorRegistry& registry);
void register_elementwise_ops(EvaluatorRegistry& registry);
void register_indexing_ops(EvaluatorRegistry& registry);
void register_linear_ops(EvaluatorRegistry& registry);
void register_logic_ops(EvaluatorRegistry& registry);
void register_normalization_ops(EvaluatorRegistry& registry);
void register_pooling_ops(EvaluatorRegistry& registry);
void register_recurrent_ops(EvaluatorRegistry& registry);
void register_reduction_ops(EvaluatorRegistry& registry);
void register_resize_ops(EvaluatorRegistry& registry);
void register_shape_ops(EvaluatorRegistry& registry);

// A one-output result.
inline std::vector<at::Tensor> single(at::Tensor value) { return {std::move(value)}; }

// ONNX multidirectional broadcasting of two shapes; fails naming both when they do not broadcast.
std::vector<int64_t> broadcast_shapes(const NodeContext& ctx, at::IntArrayRef a, at::IntArrayRef b);

}  // namespace htp::optimizer::eval
