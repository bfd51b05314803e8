// Indexing and selection: Gather, GatherElements, GatherND, ScatterND, ScatterElements, Where,
// NonZero, TopK, Trilu, CumSum. Negative indices count from the end of their axis.
#include "evaluator/registry.h"

#include <numeric>

namespace htp::optimizer::eval {
namespace {

// Indices as int64 with negative ones wrapped; fails on any outside [-dim, dim).
at::Tensor wrapped_indices(const NodeContext& ctx, const at::Tensor& indices, int64_t dim) {
  if (at::isFloatingType(indices.scalar_type()) || indices.scalar_type() == at::kBool) ctx.fail("indices must be integers");
  at::Tensor result = indices.to(at::kLong);
  result = at::where(result < 0, result + dim, result);
  if (result.numel() > 0 && (result.min().item<int64_t>() < 0 || result.max().item<int64_t>() >= dim)) {
    ctx.fail("index out of range for an axis of size " + std::to_string(dim));
  }
  return result;
}

std::vector<at::Tensor> gather(const NodeContext& ctx) {
  const at::Tensor& data = ctx.input(0);
  if (data.dim() == 0) ctx.fail("data must have rank 1 or more");
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", 0), data.dim());
  at::Tensor indices = wrapped_indices(ctx, ctx.input(1), data.size(axis));
  std::vector<int64_t> shape(data.sizes().begin(), data.sizes().begin() + axis);
  shape.insert(shape.end(), indices.sizes().begin(), indices.sizes().end());
  shape.insert(shape.end(), data.sizes().begin() + axis + 1, data.sizes().end());
  return single(data.index_select(axis, indices.reshape({-1})).reshape(shape));
}

std::vector<at::Tensor> gather_elements(const NodeContext& ctx) {
  const at::Tensor& data = ctx.input(0);
  const at::Tensor& indices = ctx.input(1);
  if (data.dim() != indices.dim()) ctx.fail("data and indices differ in rank");
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", 0), data.dim());
  return single(at::gather(data, axis, wrapped_indices(ctx, indices, data.size(axis))));
}

// The rows of `data` viewed as [batch · prod(first k indexed dims), rest...] that the last axis of
// `indices` (k coordinates, after batch_dims batch axes) addresses, as a flat int64 tensor.
struct NdAddress {
  at::Tensor rows;              // flat row numbers
  at::Tensor table;             // data reshaped to [rows, rest...]
  std::vector<int64_t> prefix;  // indices' shape without its last axis
  std::vector<int64_t> rest;    // data's trailing (unindexed) dims
};

NdAddress nd_address(const NodeContext& ctx, const at::Tensor& data, const at::Tensor& indices, int64_t batch_dims) {
  if (indices.dim() < 1) ctx.fail("indices must have rank 1 or more");
  const int64_t k = indices.size(-1);
  if (batch_dims < 0 || batch_dims + k > data.dim() || batch_dims >= indices.dim()) ctx.fail("indices do not fit the data's rank");
  int64_t batch = 1;
  for (int64_t d = 0; d < batch_dims; ++d) {
    if (data.size(d) != indices.size(d)) ctx.fail("batch dims of data and indices differ");
    batch *= data.size(d);
  }
  at::Tensor coords = indices.to(at::kLong).reshape({batch, -1, k});
  at::Tensor rows = at::zeros({batch, coords.size(1)}, at::kLong);
  int64_t span = 1;
  for (int64_t j = k - 1; j >= 0; --j) {
    const int64_t dim = data.size(batch_dims + j);
    rows += wrapped_indices(ctx, coords.select(2, j), dim) * span;
    span *= dim;
  }
  rows += at::arange(batch, at::kLong).unsqueeze(1) * span;
  NdAddress address;
  address.rest.assign(data.sizes().begin() + batch_dims + k, data.sizes().end());
  std::vector<int64_t> table_shape{batch * span};
  table_shape.insert(table_shape.end(), address.rest.begin(), address.rest.end());
  address.table = data.reshape(table_shape);
  address.rows = rows.reshape({-1});
  address.prefix.assign(indices.sizes().begin(), indices.sizes().end() - 1);
  return address;
}

std::vector<at::Tensor> gather_nd(const NodeContext& ctx) {
  NdAddress address = nd_address(ctx, ctx.input(0), ctx.input(1), ctx.attr_int("batch_dims", 0));
  std::vector<int64_t> shape = address.prefix;
  shape.insert(shape.end(), address.rest.begin(), address.rest.end());
  return single(address.table.index_select(0, address.rows).reshape(shape));
}

// ONNX reduction names → ATen's scatter_reduce/index_reduce names; "none" overwrites.
std::string aten_reduction(const NodeContext& ctx) {
  const std::string reduction = ctx.attr_string("reduction", "none");
  if (reduction == "none") return "";
  if (reduction == "add") return "sum";
  if (reduction == "mul") return "prod";
  if (reduction == "max") return "amax";
  if (reduction == "min") return "amin";
  ctx.fail("unknown reduction '" + reduction + "'");
}

std::vector<at::Tensor> scatter_nd(const NodeContext& ctx) {
  const at::Tensor& data = ctx.input(0);
  NdAddress address = nd_address(ctx, data, ctx.input(1), 0);
  std::vector<int64_t> update_shape{address.rows.numel()};
  update_shape.insert(update_shape.end(), address.rest.begin(), address.rest.end());
  const at::Tensor& updates = ctx.input(2);
  if (updates.numel() != c10::multiply_integers(update_shape)) ctx.fail("updates do not match the indexed slices");
  at::Tensor table = address.table.clone();
  at::Tensor rows_of_updates = updates.to(data.scalar_type()).reshape(update_shape);
  const std::string reduction = aten_reduction(ctx);
  if (reduction.empty()) table.index_copy_(0, address.rows, rows_of_updates);
  else if (reduction == "sum") table.index_add_(0, address.rows, rows_of_updates);
  else table.index_reduce_(0, address.rows, rows_of_updates, reduction, /*include_self=*/true);
  return single(table.reshape(data.sizes()));
}

std::vector<at::Tensor> scatter_elements(const NodeContext& ctx) {
  const at::Tensor& data = ctx.input(0);
  const at::Tensor& updates = ctx.input(2);
  if (data.dim() != ctx.input(1).dim() || updates.sizes() != ctx.input(1).sizes()) ctx.fail("indices and updates do not match the data");
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", 0), data.dim());
  at::Tensor indices = wrapped_indices(ctx, ctx.input(1), data.size(axis));
  const std::string reduction = aten_reduction(ctx);
  if (reduction.empty()) return single(at::scatter(data, axis, indices, updates.to(data.scalar_type())));
  return single(at::scatter_reduce(data, axis, indices, updates.to(data.scalar_type()), reduction, /*include_self=*/true));
}

std::vector<at::Tensor> where(const NodeContext& ctx) {
  const at::Tensor& condition = ctx.input(0);
  if (condition.scalar_type() != at::kBool) ctx.fail("condition must be bool");
  auto shape = broadcast_shapes(ctx, condition.sizes(), ctx.input(1).sizes());
  broadcast_shapes(ctx, shape, ctx.input(2).sizes());
  return single(at::where(condition, ctx.input(1), ctx.input(2)).to(ctx.input(1).scalar_type()));
}

// One row per input dimension, one column per nonzero element, in row-major order.
std::vector<at::Tensor> non_zero(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  if (x.dim() == 0) return single(at::zeros({0, x.item<bool>() ? 1 : 0}, at::kLong));
  return single(at::nonzero(x).t().contiguous());
}

// Ties keep the lower index first (a stable sort), as ONNX asks.
std::vector<at::Tensor> top_k(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", -1), x.dim());
  const int64_t k = ctx.opset() < 10 ? ctx.attr_int("k", 0) : ctx.ints_input(1).at(0);
  if (k < 0 || k > x.size(axis)) ctx.fail("k = " + std::to_string(k) + " for an axis of size " + std::to_string(x.size(axis)));
  const bool largest = ctx.attr_int("largest", 1) != 0;
  auto [values, indices] = at::sort(x, /*stable=*/true, axis, /*descending=*/largest);
  return {values.narrow(axis, 0, k).contiguous(), indices.narrow(axis, 0, k).contiguous()};
}

std::vector<at::Tensor> trilu(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  if (x.dim() < 2) ctx.fail("needs rank 2 or more");
  const int64_t k = ctx.has_input(1) ? ctx.ints_input(1).at(0) : 0;
  return single(ctx.attr_int("upper", 1) != 0 ? at::triu(x, k) : at::tril(x, k));
}

// exclusive: each element sums the ones before it only; reverse: sums run from the end.
std::vector<at::Tensor> cum_sum(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t axis = ctx.normalize_axis(ctx.ints_input(1).at(0), x.dim());
  const bool reverse = ctx.attr_int("reverse", 0) != 0;
  at::Tensor values = reverse ? x.flip(axis) : x;
  at::Tensor sums = at::cumsum(values, axis, x.scalar_type());
  if (ctx.attr_int("exclusive", 0) != 0) {
    std::vector<int64_t> pads(static_cast<size_t>(2 * x.dim()), 0);
    pads[2 * (x.dim() - 1 - axis)] = 1;      // one zero in front
    pads[2 * (x.dim() - 1 - axis) + 1] = -1;  // the last sum dropped
    sums = at::constant_pad_nd(sums, pads, 0);
  }
  return single(reverse ? sums.flip(axis) : sums);
}

}  // namespace

void register_indexing_ops(EvaluatorRegistry& registry) {
  registry.add("Gather", gather, HalfFloats::kNative);
  registry.add("GatherElements", gather_elements, HalfFloats::kNative);
  registry.add("GatherND", gather_nd, HalfFloats::kNative);
  registry.add("ScatterND", scatter_nd);
  registry.add("ScatterElements", scatter_elements);
  registry.add("Where", where, HalfFloats::kNative);
  registry.add("NonZero", non_zero, HalfFloats::kNative);
  registry.add("TopK", top_k);
  registry.add("Trilu", trilu, HalfFloats::kNative);
  registry.add("CumSum", cum_sum);
}

}  // namespace htp::optimizer::eval
