// Finite differences and the trapezoidal rule along a dim: diff, trapezoid/trapz and
// cumulative_trapezoid, each built from the two shifted views x[1:] and x[:-1].
#include "convert/registry.h"

#include <limits>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

struct Shifted {
  std::string later, earlier;  // x[1:] and x[:-1] along the axis
};

Shifted shifted(ConversionContext& ctx, const std::string& x, int64_t axis) {
  std::string axes = ctx.constant_ints({axis});
  return {ctx.op("Slice", {x, ctx.constant_ints({1}), ctx.constant_ints({std::numeric_limits<int64_t>::max()}), axes}),
          ctx.op("Slice", {x, ctx.constant_ints({0}), ctx.constant_ints({-1}), axes})};
}

// aten::diff(self, n, dim, prepend?, append?): the n-th forward difference; for bool, whether
// neighbours differ (torch's logical_xor).
void diff(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  std::vector<std::string> parts;
  if (!ctx.is_none(n->input(3))) parts.push_back(ctx.tensor_as(n->input(3), dtype));
  parts.push_back(ctx.tensor_as(n->input(0), dtype));
  if (!ctx.is_none(n->input(4))) parts.push_back(ctx.tensor_as(n->input(4), dtype));
  std::string x = parts.size() == 1 ? parts[0] : ctx.op("Concat", parts, {{"axis", axis}});
  for (int64_t order = ctx.get_int(n->input(1)); order > 0; --order) {
    Shifted s = shifted(ctx, x, axis);
    x = ctx.op(dtype == at::kBool ? "Xor" : "Sub", {s.later, s.earlier});
  }
  ctx.bind(n->output(), x);
}

// The trapezoids' areas along the axis: (y[i+1] + y[i]) / 2 · dx, where dx is the spacing of the
// sample points x (1-D along the axis, or y's shape) or a constant.
std::string trapezoids(ConversionContext& ctx, const Node* n, int64_t axis) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  Shifted y = shifted(ctx, ctx.tensor_as(n->input(0), dtype), axis);
  std::string heights = ctx.op("Mul", {ctx.op("Add", {y.later, y.earlier}), ctx.scalar(0.5, dtype)});
  const Value* spacing = n->input(1);
  if (spacing->type()->kind() != c10::TypeKind::TensorType) return ctx.op("Mul", {heights, ctx.tensor_as(spacing, dtype)});
  std::string x = ctx.tensor_as(spacing, dtype);
  int64_t rank = ctx.rank(n->input(0));
  if (ctx.rank(spacing) == 1 && rank > 1) {
    std::vector<int64_t> column(static_cast<size_t>(rank), 1);
    column[static_cast<size_t>(axis)] = -1;
    x = ctx.op("Reshape", {x, ctx.constant_ints(column)});
  } else if (ctx.rank(spacing) != rank) {
    ctx.fail("x must be 1-D or have y's number of dims");
  }
  Shifted points = shifted(ctx, x, axis);
  return ctx.op("Mul", {heights, ctx.op("Sub", {points.later, points.earlier})});
}

// aten::trapezoid / trapz(y, x | dx, dim): the sum of the trapezoids.
void trapezoid(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  ctx.bind(n->output(), emit_reduce(ctx, "ReduceSum", trapezoids(ctx, n, axis), {axis}, false));
}

// aten::cumulative_trapezoid(y, x | dx, dim): their running sum.
void cumulative_trapezoid(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  ctx.bind(n->output(), ctx.op("CumSum", {trapezoids(ctx, n, axis), ctx.scalar(axis, at::kLong)}));
}

}  // namespace

void register_difference_ops(ConverterRegistry& r) {
  r.add("aten::diff", diff);
  r.add("aten::trapezoid", trapezoid);
  r.add("aten::trapz", trapezoid);
  r.add("aten::cumulative_trapezoid", cumulative_trapezoid);
}

}  // namespace htp::exporter
