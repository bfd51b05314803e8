// Linear algebra beyond products: cross products and determinants (Det, with log and sign forms).
// Decompositions, inverses and solvers have no ONNX operator and stay unsupported.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace htp::exporter {
namespace {

using torch::jit::Node;

// The 3 components of `x` along `axis` in the order `order` (a Gather).
std::string components(ConversionContext& ctx, const std::string& x, int64_t axis, std::vector<int64_t> order) {
  return ctx.op("Gather", {x, ctx.constant_ints(order)}, {{"axis", axis}});
}

// aten::linalg_cross(self, other, dim) and aten::cross(self, other, dim?): a × b along a dim of
// size 3 (cross without dim takes the first such dim, as torch does), the inputs broadcast.
void cross(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->output());
  int64_t axis;
  if (ctx.is_none(n->input(2))) {
    auto sizes = ctx.sizes(n->output());
    if (!sizes) ctx.fail("cross without dim needs static sizes");
    auto three = std::find(sizes->begin(), sizes->end(), 3);
    if (three == sizes->end()) ctx.fail("no dim of size 3");
    axis = three - sizes->begin();
  } else {
    axis = normalize_dim(ctx, ctx.get_int(n->input(2)), rank);
  }
  std::string a = emit_at_rank(ctx, n->input(0), dtype, rank), b = emit_at_rank(ctx, n->input(1), dtype, rank);
  std::string first = ctx.op("Mul", {components(ctx, a, axis, {1, 2, 0}), components(ctx, b, axis, {2, 0, 1})});
  std::string second = ctx.op("Mul", {components(ctx, a, axis, {2, 0, 1}), components(ctx, b, axis, {1, 2, 0})});
  ctx.bind(n->output(), ctx.op("Sub", {first, second}));
}

// det of the matrices in the last two dims; a 0 × 0 matrix has determinant 1, which ONNX's Det
// does not define, so that case is a constant of the batch shape.
std::string determinant(ConversionContext& ctx, const Node* n) {
  auto sizes = ctx.sizes(n->input(0));
  if (ctx.rank(n->input(0)) < 2) ctx.fail("needs matrices");
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  if (sizes && sizes->back() == 0) {
    std::vector<int64_t> batch(sizes->begin(), sizes->end() - 2);
    return ctx.constant(at::ones(batch, at::TensorOptions().dtype(dtype)));
  }
  if (dtype != at::kFloat && dtype != at::kDouble) ctx.fail("Det takes float32 and float64 only");
  return ctx.op("Det", {ctx.tensor(n->input(0))});
}

// aten::linalg_det / det(self)
void det(ConversionContext& ctx, const Node* n) { ctx.bind(n->output(0), determinant(ctx, n)); }

// aten::logdet(self): log(det), NaN for a negative determinant and -inf for a singular matrix.
void logdet(ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), ctx.op("Log", {determinant(ctx, n)})); }

// aten::linalg_slogdet / slogdet(self) → (sign, log|det|)
void slogdet(ConversionContext& ctx, const Node* n) {
  std::string d = determinant(ctx, n);
  ctx.bind(n->output(0), ctx.op("Sign", {d}));
  ctx.bind(n->output(1), ctx.op("Log", {ctx.op("Abs", {d})}));
}

}  // namespace

void register_linalg_ops(ConverterRegistry& r) {
  r.add("aten::linalg_cross", cross);
  r.add("aten::cross", cross);
  r.add("aten::linalg_det", det);
  r.add("aten::det", det);
  r.add("aten::logdet", logdet);
  r.add("aten::linalg_slogdet", slogdet);
  r.add("aten::slogdet", slogdet);
}

}  // namespace htp::exporter
