#include "convert/registry.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace htp::exporter {

const ConverterRegistry& ConverterRegistry::instance() {
  static const ConverterRegistry registry = [] {
    ConverterRegistry r;
    register_activation_ops(r);
    register_attention_ops(r);
    register_convolution_ops(r);
    register_creation_ops(r);
    register_detection_ops(r);
    register_diagonal_ops(r);
    register_difference_ops(r);
    register_distance_ops(r);
    register_elementwise_ops(r);
    register_grid_ops(r);
    register_indexing_ops(r);
    register_linalg_ops(r);
    register_linear_ops(r);
    register_loss_ops(r);
    register_math_ops(r);
    register_normalization_ops(r);
    register_pooling_ops(r);
    register_recurrent_ops(r);
    register_reduction_ops(r);
    register_resize_ops(r);
    register_scalar_ops(r);
    register_scan_ops(r);
    register_scatter_ops(r);
    register_shape_ops(r);
    register_sort_ops(r);
    register_statistics_ops(r);
    return r;
  }();
  return registry;
}

void ConverterRegistry::add(const std::string& kind, Converter converter) {
  // Two families claiming one op would leave the winner to registration order.
  if (!converters_.emplace(kind, std::move(converter)).second) throw std::logic_error("two converters for " + kind);
}

bool is_in_place(const std::string& kind) {
  return kind.size() > 1 && kind.back() == '_' && kind[kind.size() - 2] != '_';
}

const Converter* ConverterRegistry::find(const std::string& kind, bool in_place_as_functional) const {
  if (auto it = converters_.find(kind); it != converters_.end()) return &it->second;
  if (in_place_as_functional && is_in_place(kind)) {
    if (auto it = converters_.find(kind.substr(0, kind.size() - 1)); it != converters_.end()) return &it->second;
  }
  return nullptr;
}

std::vector<int64_t> per_dim(const ConversionContext& ctx, const torch::jit::Value* v, size_t spatial) {
  std::vector<int64_t> values = ctx.get_ints(v);
  if (values.size() == 1 && spatial > 1) values.assign(spatial, values[0]);
  if (values.size() != spatial) ctx.fail("expected " + std::to_string(spatial) + " values per spatial dim");
  return values;
}

std::vector<int64_t> symmetric_pads(std::vector<int64_t> pads) {
  pads.insert(pads.end(), pads.begin(), pads.end());
  return pads;
}

std::string emit_reduce(ConversionContext& ctx, const std::string& onnx_op, const std::string& x, const std::vector<int64_t>& axes,
                        bool keepdims) {
  std::vector<Attr> attrs{{"keepdims", int64_t{keepdims}}};
  if (axes.empty()) return ctx.op(onnx_op, {x}, attrs);
  if (onnx_op == "ReduceSum") return ctx.op(onnx_op, {x, ctx.constant_ints(axes)}, attrs);
  attrs.push_back({"axes", axes});
  return ctx.op(onnx_op, {x}, attrs);
}

std::string emit_flatten(ConversionContext& ctx, const std::string& x) { return ctx.op("Reshape", {x, ctx.constant_ints({-1})}); }

std::string emit_dim_size(ConversionContext& ctx, const std::string& x, int64_t axis) {
  return ctx.op("Gather", {ctx.op("Shape", {x}), ctx.constant_ints({axis})}, {{"axis", int64_t{0}}});
}

std::vector<int64_t> moved_last(int64_t rank, const std::vector<int64_t>& dims) {
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d) {
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) perm.push_back(d);
  }
  perm.insert(perm.end(), dims.begin(), dims.end());
  return perm;
}

std::string emit_at_rank(ConversionContext& ctx, const torch::jit::Value* v, at::ScalarType dtype, int64_t rank) {
  std::string x = ctx.tensor_as(v, dtype);
  int64_t own = ctx.rank(v);
  if (own >= rank) return x;
  std::vector<int64_t> leading(static_cast<size_t>(rank - own));
  std::iota(leading.begin(), leading.end(), 0);
  return ctx.op("Unsqueeze", {x, ctx.constant_ints(leading)});
}

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return inverse;
}

int64_t normalize_dim(const ConversionContext& ctx, int64_t dim, int64_t rank) {
  int64_t normalized = dim < 0 ? dim + rank : dim;
  if (normalized < 0 || normalized >= rank) {
    ctx.fail("dimension " + std::to_string(dim) + " is out of range for rank " + std::to_string(rank));
  }
  return normalized;
}

}  // namespace htp::exporter
