// Norms and distances: vector norms of any order, the matrix norms ONNX can compute without a
// singular value decomposition, renorm, cosine similarity and the pairwise / cross / condensed
// distances.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

constexpr double kInf = std::numeric_limits<double>::infinity();

// A dim-list argument (int or int list, None or empty = every dim) normalized against `rank`.
std::vector<int64_t> dims_arg(const ConversionContext& ctx, const Value* v, int64_t rank) {
  std::vector<int64_t> axes;
  if (ctx.is_none(v)) return axes;
  for (int64_t d : ctx.get_ints(v)) axes.push_back(normalize_dim(ctx, d, std::max<int64_t>(rank, 1)));
  return axes;
}

// The order argument: a number, None (→ `fallback`), or a string ("fro", "nuc").
std::variant<double, std::string> order_arg(const ConversionContext& ctx, const Value* v, double fallback) {
  if (ctx.is_none(v)) return fallback;
  auto known = ctx.constant(v);
  if (known && known->isString()) return known->toStringRef();
  return ctx.get_double(v);
}

// aten::norm(self, p) / (self, p, dtype) / (self, p?, dim, keepdim[, dtype]) and
// aten::linalg_vector_norm(self, ord, dim?, keepdim, dtype?): vector norms, computed in the output dtype.
void vector_norm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  double p = ctx.is_none(n->input(1)) ? 2.0 : ctx.get_double(n->input(1));
  bool over_dims = n->inputs().size() >= 4;
  std::vector<int64_t> axes = over_dims ? dims_arg(ctx, n->input(2), ctx.rank(n->input(0))) : std::vector<int64_t>{};
  bool keepdim = over_dims && ctx.get_bool(n->input(3));
  ctx.bind(n->output(), emit_vector_norm(ctx, ctx.tensor_as(n->input(0), dtype), p, axes, keepdim, dtype));
}

// aten::frobenius_norm(self) / (self, dim, keepdim): the 2-norm of the entries.
void frobenius_norm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  bool over_dims = n->inputs().size() >= 3;
  std::vector<int64_t> axes = over_dims ? dims_arg(ctx, n->input(1), ctx.rank(n->input(0))) : std::vector<int64_t>{};
  bool keepdim = over_dims && ctx.get_bool(n->input(2));
  ctx.bind(n->output(), emit_vector_norm(ctx, ctx.tensor_as(n->input(0), dtype), 2.0, axes, keepdim, dtype));
}

// The matrix norm over rows `d0` and columns `d1`: Frobenius, or the max/min over one axis of the
// absolute sums over the other (ord ±1: column sums, ±inf: row sums). The spectral (±2) and nuclear
// norms need singular values, which ONNX cannot compute.
std::string matrix_norm(ConversionContext& ctx, const std::string& x, const std::variant<double, std::string>& ord, int64_t d0,
                        int64_t d1, bool keepdim, at::ScalarType dtype) {
  if (const auto* name = std::get_if<std::string>(&ord)) {
    if (*name == "fro") return emit_vector_norm(ctx, x, 2.0, {d0, d1}, keepdim, dtype);
    ctx.fail("the '" + *name + "' matrix norm needs a singular value decomposition, which ONNX lacks");
  }
  double p = std::get<double>(ord);
  if (std::abs(p) != 1.0 && std::abs(p) != kInf) {
    ctx.fail("the matrix " + std::to_string(p) + "-norm needs a singular value decomposition, which ONNX lacks");
  }
  int64_t summed = std::abs(p) == 1.0 ? d0 : d1;
  int64_t extremum = std::abs(p) == 1.0 ? d1 : d0;
  std::string sums = emit_reduce(ctx, "ReduceSum", ctx.op("Abs", {x}), {summed}, true);
  std::string result = emit_reduce(ctx, p > 0 ? "ReduceMax" : "ReduceMin", sums, {extremum}, true);
  if (keepdim) return result;
  return ctx.op("Squeeze", {result, ctx.constant_ints({std::min(d0, d1), std::max(d0, d1)})});
}

// aten::linalg_matrix_norm(self, ord, dim=[-2, -1], keepdim, dtype?), ord a number or a string.
void linalg_matrix_norm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::vector<int64_t> dims = dims_arg(ctx, n->input(2), ctx.rank(n->input(0)));
  if (dims.size() != 2) ctx.fail("a matrix norm needs two dims");
  ctx.bind(n->output(), matrix_norm(ctx, ctx.tensor_as(n->input(0), dtype), order_arg(ctx, n->input(1), 0), dims[0], dims[1],
                                    ctx.get_bool(n->input(3)), dtype));
}

// aten::linalg_norm(self, ord?, dim?, keepdim, dtype?): without ord the 2-norm of the entries;
// with one, a vector norm over one dim (or a 1-D input) and a matrix norm over two (or a 2-D input).
void linalg_norm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->input(0));
  std::vector<int64_t> dims = dims_arg(ctx, n->input(2), rank);
  bool keepdim = ctx.get_bool(n->input(3));
  std::string x = ctx.tensor_as(n->input(0), dtype);
  if (ctx.is_none(n->input(1))) return ctx.bind(n->output(), emit_vector_norm(ctx, x, 2.0, dims, keepdim, dtype));
  auto ord = order_arg(ctx, n->input(1), 2.0);
  if (dims.empty() && rank <= 2) {
    for (int64_t d = 0; d < rank; ++d) dims.push_back(d);
  }
  if (dims.size() == 2) return ctx.bind(n->output(), matrix_norm(ctx, x, ord, dims[0], dims[1], keepdim, dtype));
  if (dims.size() != 1 || !std::holds_alternative<double>(ord)) ctx.fail("linalg.norm with an order needs one or two dims");
  ctx.bind(n->output(), emit_vector_norm(ctx, x, std::get<double>(ord), dims, keepdim, dtype));
}

// aten::renorm(self, p, dim, maxnorm): each slice along `dim` whose p-norm (over the other dims)
// exceeds maxnorm is scaled by maxnorm / (norm + 1e-7), as torch does.
void renorm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->input(0));
  int64_t dim = normalize_dim(ctx, ctx.get_int(n->input(2)), rank);
  std::vector<int64_t> others;
  for (int64_t d = 0; d < rank; ++d) {
    if (d != dim) others.push_back(d);
  }
  if (others.empty()) ctx.fail("renorm needs at least two dims");
  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::string norm = emit_vector_norm(ctx, x, ctx.get_double(n->input(1)), others, true, dtype);
  std::string maxnorm = ctx.scalar(ctx.get_double(n->input(3)), dtype);
  std::string scale = ctx.op("Div", {maxnorm, ctx.op("Add", {norm, ctx.scalar(1e-7, dtype)})});
  std::string factor = ctx.op("Where", {ctx.op("Greater", {norm, maxnorm}), scale, ctx.scalar(1, dtype)});
  ctx.bind(n->output(), ctx.op("Mul", {x, factor}));
}

// aten::cosine_similarity(x1, x2, dim, eps): on the broadcast inputs (a broadcast dim counts in
// the norm), torch divides each by its 2-norm clamped to eps, then sums the products.
void cosine_similarity(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = std::max(ctx.rank(n->input(0)), ctx.rank(n->input(1)));
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), rank);
  std::string eps = ctx.scalar(ctx.get_double(n->input(3)), dtype);
  std::string a = ctx.tensor_as(n->input(0), dtype), b = ctx.tensor_as(n->input(1), dtype);
  auto unit = [&](const std::string& x, const std::string& other) {
    std::string broadcast = ctx.op("Expand", {x, ctx.op("Shape", {other})});  // Expand broadcasts both ways
    std::string norm = emit_vector_norm(ctx, broadcast, 2.0, {axis}, true, dtype);
    return ctx.op("Div", {broadcast, ctx.op("Max", {norm, eps})});
  };
  std::string product = ctx.op("Mul", {unit(a, b), unit(b, a)});
  ctx.bind(n->output(), emit_reduce(ctx, "ReduceSum", product, {axis}, false));
}

// aten::pairwise_distance(x1, x2, p, eps, keepdim)
void pairwise_distance(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), emit_pairwise_distance(ctx, n->input(0), n->input(1), ctx.get_double(n->input(2)), ctx.get_double(n->input(3)),
                                               ctx.get_bool(n->input(4)), ctx.scalar_type(n->output())));
}

// aten::cdist(x1 [.., P, M], x2 [.., R, M], p, compute_mode) → [.., P, R]: every row pair's
// difference, normed over M. Torch may take a matrix-product shortcut for p = 2 on large inputs,
// which rounds differently; this is the exact distance.
void cdist(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string rows = ctx.op("Unsqueeze", {ctx.tensor_as(n->input(0), dtype), ctx.constant_ints({-2})});
  std::string cols = ctx.op("Unsqueeze", {ctx.tensor_as(n->input(1), dtype), ctx.constant_ints({-3})});
  int64_t rank = std::max(ctx.rank(n->input(0)), ctx.rank(n->input(1))) + 1;
  std::string diff = ctx.op("Sub", {rows, cols});
  ctx.bind(n->output(), emit_vector_norm(ctx, diff, ctx.get_double(n->input(2)), {rank - 1}, false, dtype));
}

// aten::pdist(x [N, M], p): the distances of the row pairs i < j in row-major order. The pairs
// come from NonZero over the i < j mask, so N may change at run time.
void pdist(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  if (ctx.rank(n->input(0)) != 2) ctx.fail("pdist needs a 2-D input");
  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::string count = ctx.op("Gather", {ctx.op("Shape", {x}), ctx.constant(at::scalar_tensor(0, at::kLong))}, {{"axis", int64_t{0}}});
  std::string index = ctx.op("Range", {ctx.constant(at::scalar_tensor(0, at::kLong)), count, ctx.constant(at::scalar_tensor(1, at::kLong))});
  std::string upper = ctx.op("Less", {ctx.op("Unsqueeze", {index, ctx.constant_ints({1})}), index});
  auto pairs = ctx.op("Split", {ctx.op("NonZero", {upper})}, 2, {{"axis", int64_t{0}}});  // rows i and j, each [1, K]
  auto rows = [&](const std::string& which) {
    return ctx.op("Gather", {x, ctx.op("Squeeze", {which, ctx.constant_ints({0})})}, {{"axis", int64_t{0}}});
  };
  std::string diff = ctx.op("Sub", {rows(pairs[0]), rows(pairs[1])});
  ctx.bind(n->output(), emit_vector_norm(ctx, diff, ctx.get_double(n->input(1)), {1}, false, dtype));
}

// aten::dist(self, other, p): the p-norm of the broadcast difference.
void dist(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string diff = ctx.op("Sub", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)});
  ctx.bind(n->output(), emit_vector_norm(ctx, diff, ctx.get_double(n->input(2)), {}, false, dtype));
}

}  // namespace

std::string emit_vector_norm(ConversionContext& ctx, const std::string& x, double p, const std::vector<int64_t>& axes, bool keepdims,
                             at::ScalarType dtype) {
  if (p == 1.0) return emit_reduce(ctx, "ReduceL1", x, axes, keepdims);
  if (p == 2.0) return emit_reduce(ctx, "ReduceL2", x, axes, keepdims);
  if (p == kInf) return emit_reduce(ctx, "ReduceMax", ctx.op("Abs", {x}), axes, keepdims);
  if (p == -kInf) return emit_reduce(ctx, "ReduceMin", ctx.op("Abs", {x}), axes, keepdims);
  if (p == 0.0) {  // the count of non-zero entries
    std::string nonzero = ctx.cast(ctx.op("Not", {ctx.op("Equal", {x, ctx.scalar(0, dtype)})}), dtype);
    return emit_reduce(ctx, "ReduceSum", nonzero, axes, keepdims);
  }
  std::string powers = ctx.op("Pow", {ctx.op("Abs", {x}), ctx.scalar(p, dtype)});
  return ctx.op("Pow", {emit_reduce(ctx, "ReduceSum", powers, axes, keepdims), ctx.scalar(1.0 / p, dtype)});
}

std::string emit_pairwise_distance(ConversionContext& ctx, const Value* x1, const Value* x2, double p, double eps, bool keepdim,
                                   at::ScalarType dtype) {
  int64_t rank = std::max(ctx.rank(x1), ctx.rank(x2));
  std::string diff = ctx.op("Sub", {ctx.tensor_as(x1, dtype), ctx.tensor_as(x2, dtype)});
  diff = ctx.op("Add", {diff, ctx.scalar(eps, dtype)});
  std::vector<int64_t> axes;
  if (rank > 0) axes.push_back(rank - 1);
  return emit_vector_norm(ctx, diff, p, axes, keepdim, dtype);
}

void register_distance_ops(ConverterRegistry& r) {
  r.add("aten::norm", vector_norm);
  r.add("aten::linalg_vector_norm", vector_norm);
  r.add("aten::frobenius_norm", frobenius_norm);
  r.add("aten::linalg_norm", linalg_norm);
  r.add("aten::linalg_matrix_norm", linalg_matrix_norm);
  r.add("aten::renorm", renorm);
  r.add("aten::cosine_similarity", cosine_similarity);
  r.add("aten::pairwise_distance", pairwise_distance);
  r.add("aten::cdist", cdist);
  r.add("aten::pdist", pdist);
  r.add("aten::dist", dist);
}

}  // namespace htp::exporter
