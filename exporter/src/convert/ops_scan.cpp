// Running reductions that ONNX has no scan operator for: cummax/cummin (with indices), cumprod and
// logcumsumexp. The dim is moved last and widened to an n × n prefix matrix, row i holding
// x[0..i] and, past i, a value that leaves the reduction unchanged; a reduction over the last dim
// then gives every prefix at once. That costs n² elements per row of the dim, so n must be static.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <limits>
#include <numeric>

namespace htp::exporter {
namespace {

using torch::jit::Node;

struct Prefixes {
  std::string matrix;       // [..., n (i), n (j)]
  std::string in_prefix;    // [n, n] bool: j ≤ i
  std::vector<int64_t> perm;  // moves the dim last (its own inverse is applied at the end)
  int64_t length;
};

// The prefix matrix of `x` along `dim`: entry (i, j) is x[j] for j ≤ i and `beyond` otherwise
// (empty: x[i], which max and min tolerate).
Prefixes prefixes(ConversionContext& ctx, const Node* n, const std::string& x, int64_t dim, const std::string& beyond) {
  int64_t rank = ctx.rank(n->input(0));
  int64_t axis = normalize_dim(ctx, dim, rank);
  auto sizes = ctx.sizes(n->input(0));
  if (!sizes) ctx.fail("needs the static size of the scanned dim");
  Prefixes p{"", "", std::vector<int64_t>(static_cast<size_t>(rank)), (*sizes)[static_cast<size_t>(axis)]};
  std::iota(p.perm.begin(), p.perm.end(), 0);
  std::swap(p.perm[axis], p.perm.back());
  std::string moved = ctx.op("Transpose", {x}, {{"perm", p.perm}});
  p.in_prefix = ctx.constant(at::ones({p.length, p.length}, at::kBool).tril());
  std::string rows = ctx.op("Unsqueeze", {moved, ctx.constant_ints({-2})});
  std::string past = beyond.empty() ? ctx.op("Unsqueeze", {moved, ctx.constant_ints({-1})}) : beyond;
  p.matrix = ctx.op("Where", {p.in_prefix, rows, past});
  return p;
}

// The reduction over j of the prefix matrix, with the dim moved back.
std::string reduce_prefixes(ConversionContext& ctx, const Prefixes& p, const std::string& onnx_op) {
  std::string reduced = emit_reduce(ctx, onnx_op, p.matrix, {-1}, false);
  return ctx.op("Transpose", {reduced}, {{"perm", p.perm}});
}

// aten::cummax / cummin(self, dim) → values, indices (of the last occurrence of the extreme, as torch).
Converter running_extreme(bool max) {
  return [max](ConversionContext& ctx, const Node* n) {
    std::string x = ctx.tensor(n->input(0));
    if (ctx.rank(n->input(0)) == 0) {
      ctx.bind(n->output(0), x);
      return ctx.bind(n->output(1), ctx.constant(at::scalar_tensor(0, at::kLong)));
    }
    Prefixes p = prefixes(ctx, n, x, ctx.get_int(n->input(1)), "");
    std::string extreme = emit_reduce(ctx, max ? "ReduceMax" : "ReduceMin", p.matrix, {-1}, false);
    std::string hit = ctx.op("And", {p.in_prefix, ctx.op("Equal", {p.matrix, ctx.op("Unsqueeze", {extreme, ctx.constant_ints({-1})})})});
    std::string positions = ctx.constant(at::arange(p.length, at::kLong));
    std::string last = emit_reduce(ctx, "ReduceMax", ctx.op("Where", {hit, positions, ctx.scalar(-1, at::kLong)}), {-1}, false);
    ctx.bind(n->output(0), ctx.op("Transpose", {extreme}, {{"perm", p.perm}}));
    ctx.bind(n->output(1), ctx.op("Transpose", {last}, {{"perm", p.perm}}));
  };
}

// aten::cumprod(self, dim, dtype?): in the result dtype (int64 for integer inputs, as torch).
void cumprod(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = ctx.tensor_as(n->input(0), dtype);
  if (ctx.rank(n->input(0)) == 0) return ctx.bind(n->output(), x);
  ctx.bind(n->output(), reduce_prefixes(ctx, prefixes(ctx, n, x, ctx.get_int(n->input(1)), ctx.scalar(1, dtype)), "ReduceProd"));
}

// aten::logcumsumexp(self, dim): log Σ exp over each prefix (-inf past it adds nothing).
void logcumsumexp(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = ctx.tensor(n->input(0));
  if (ctx.rank(n->input(0)) == 0) return ctx.bind(n->output(), x);
  std::string minus_infinity = ctx.scalar(-std::numeric_limits<double>::infinity(), dtype);
  ctx.bind(n->output(), reduce_prefixes(ctx, prefixes(ctx, n, x, ctx.get_int(n->input(1)), minus_infinity), "ReduceLogSumExp"));
}

}  // namespace

void register_scan_ops(ConverterRegistry& r) {
  r.add("aten::cummax", running_extreme(true));
  r.add("aten::cummin", running_extreme(false));
  r.add("aten::cumprod", cumprod);
  r.add("aten::logcumsumexp", logcumsumexp);
}

}  // namespace htp::exporter
