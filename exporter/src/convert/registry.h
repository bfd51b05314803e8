// aten→ONNX converters keyed by the TorchScript node kind ("aten::relu").
#pragma once

#include "convert/context.h"

#include <functional>
#include <string>
#include <unordered_map>

namespace htp::exporter {

// Converts one aten node: emits ONNX nodes through the context and binds every output.
using Converter = std::function<void(ConversionContext&, const torch::jit::Node*)>;

class ConverterRegistry {
 public:
  // All converters of the exporter, registered once.
  static const ConverterRegistry& instance();

  void add(const std::string& kind, Converter converter);
  // The converter for `kind`, nullptr if none. With `in_place_as_functional`, an in-place
  // variant ("aten::relu_") uses its functional one: exact in a C++ trace, where the tracer
  // rebinds the mutated value, but not in an archive, where in-place ops left after mutation
  // removal write through views.
  const Converter* find(const std::string& kind, bool in_place_as_functional) const;

 private:
  std::unordered_map<std::string, Converter> converters_;
};

// One function per op family, each in its own ops_*.cpp.
void register_activation_ops(ConverterRegistry& registry);
void register_attention_ops(ConverterRegistry& registry);
void register_convolution_ops(ConverterRegistry& registry);
void register_creation_ops(ConverterRegistry& registry);
void register_detection_ops(ConverterRegistry& registry);
void register_diagonal_ops(ConverterRegistry& registry);
void register_difference_ops(ConverterRegistry& registry);
void register_distance_ops(ConverterRegistry& registry);
void register_elementwise_ops(ConverterRegistry& registry);
void register_grid_ops(ConverterRegistry& registry);
void register_indexing_ops(ConverterRegistry& registry);
void register_linalg_ops(ConverterRegistry& registry);
void register_linear_ops(ConverterRegistry& registry);
void register_loss_ops(ConverterRegistry& registry);
void register_math_ops(ConverterRegistry& registry);
void register_normalization_ops(ConverterRegistry& registry);
void register_pooling_ops(ConverterRegistry& registry);
void register_recurrent_ops(ConverterRegistry& registry);
void register_reduction_ops(ConverterRegistry& registry);
void register_resize_ops(ConverterRegistry& registry);
void register_scalar_ops(ConverterRegistry& registry);
void register_scan_ops(ConverterRegistry& registry);
void register_scatter_ops(ConverterRegistry& registry);
void register_shape_ops(ConverterRegistry& registry);
void register_sort_ops(ConverterRegistry& registry);
void register_statistics_ops(ConverterRegistry& registry);

bool is_in_place(const std::string& kind);

// Emitters shared by converters whose ops contain these layers (attention and transformer fast paths).
// x·weightᵀ + bias (`bias` may be empty) for an input of rank `rank`: Gemm for a matrix, MatMul (+ Add) otherwise.
std::string emit_linear(ConversionContext& ctx, const std::string& x, int64_t rank, const std::string& weight, const std::string& bias);
// gelu with torch's `approximate` ("none": erf, "tanh").
std::string emit_gelu(ConversionContext& ctx, const std::string& x, at::ScalarType dtype, const std::string& approximate);
// log(sigmoid(x)), stable for large |x| (log_sigmoid, the logits losses).
std::string emit_log_sigmoid(ConversionContext& ctx, const std::string& x, at::ScalarType dtype);

// A per-spatial-dim int list argument (stride, padding, ...); torch accepts one value for all
// dims ("stride=2").
std::vector<int64_t> per_dim(const ConversionContext& ctx, const torch::jit::Value* v, size_t spatial);
// ONNX pads (all begins, then all ends) from torch's symmetric per-dim padding.
std::vector<int64_t> symmetric_pads(std::vector<int64_t> pads);

// A reduction over `axes` (all dims when empty); opset 17 takes ReduceSum's axes as an input, the
// other reductions' as an attribute.
std::string emit_reduce(ConversionContext& ctx, const std::string& onnx_op, const std::string& x, const std::vector<int64_t>& axes,
                        bool keepdims);
// The vector p-norm of `x` over `axes` (all dims when empty) for any p, ±inf and 0 included.
std::string emit_vector_norm(ConversionContext& ctx, const std::string& x, double p, const std::vector<int64_t>& axes, bool keepdims,
                             at::ScalarType dtype);
// torch.pairwise_distance: the p-norm of x1 - x2 + eps over the last dim of their broadcast rank.
std::string emit_pairwise_distance(ConversionContext& ctx, const torch::jit::Value* x1, const torch::jit::Value* x2, double p, double eps,
                                   bool keepdim, at::ScalarType dtype);

// `x` as a 1-D tensor of its elements in order.
std::string emit_flatten(ConversionContext& ctx, const std::string& x);
// The size of dim `axis` of `x` at run time, as a 1-element int64 tensor.
std::string emit_dim_size(ConversionContext& ctx, const std::string& x, int64_t axis);
// The permutation of a rank-`rank` tensor that moves `dims` last, in that order, the other dims
// keeping theirs.
std::vector<int64_t> moved_last(int64_t rank, const std::vector<int64_t>& dims);
// `v` in `dtype`, with leading dims of size 1 added up to `rank` (explicit broadcasting).
std::string emit_at_rank(ConversionContext& ctx, const torch::jit::Value* v, at::ScalarType dtype, int64_t rank);
std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm);

// Normalizes a possibly negative dimension index against `rank`.
int64_t normalize_dim(const ConversionContext& ctx, int64_t dim, int64_t rank);

}  // namespace htp::exporter
