// Statistics over samples: cov, corrcoef and histc.
#include "convert/registry.h"

#include <ATen/ATen.h>

namespace htp::exporter {
namespace {

using torch::jit::Node;

std::string observations(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  return ctx.cast(ctx.op("Gather", {ctx.op("Shape", {x}), ctx.scalar(1, at::kLong)}), dtype);
}

// The covariance matrix of the variables in the rows of x [V, N] (a 1-D x is one variable and
// gives a 0-d result), with torch.cov's correction and optional frequency and importance weights
// over the observations.
std::string covariance(ConversionContext& ctx, const Node* n, const std::string& input, int64_t rank, double correction,
                       at::ScalarType dtype) {
  std::string x = rank == 1 ? ctx.op("Unsqueeze", {input, ctx.constant_ints({0})}) : input;
  const torch::jit::Value* frequencies = n->inputs().size() > 2 ? n->input(2) : nullptr;
  const torch::jit::Value* importances = n->inputs().size() > 3 ? n->input(3) : nullptr;
  std::string weights;
  if (frequencies && !ctx.is_none(frequencies)) weights = ctx.tensor_as(frequencies, dtype);
  if (importances && !ctx.is_none(importances)) {
    std::string a = ctx.tensor_as(importances, dtype);
    weights = weights.empty() ? a : ctx.op("Mul", {weights, a});
  }
  std::string centered, scaled, norm;
  std::string c = ctx.scalar(correction, dtype);
  if (weights.empty()) {
    centered = ctx.op("Sub", {x, emit_reduce(ctx, "ReduceMean", x, {1}, true)});
    scaled = centered;
    norm = ctx.op("Sub", {observations(ctx, x, dtype), c});
  } else {
    std::string total = emit_reduce(ctx, "ReduceSum", weights, {0}, false);
    std::string mean = ctx.op("Div", {emit_reduce(ctx, "ReduceSum", ctx.op("Mul", {x, weights}), {1}, true), total});
    centered = ctx.op("Sub", {x, mean});
    scaled = ctx.op("Mul", {centered, weights});
    if (importances && !ctx.is_none(importances)) {
      std::string a = ctx.tensor_as(importances, dtype);
      std::string spread = ctx.op("Div", {emit_reduce(ctx, "ReduceSum", ctx.op("Mul", {weights, a}), {0}, false), total});
      norm = ctx.op("Sub", {total, ctx.op("Mul", {c, spread})});
    } else {
      norm = ctx.op("Sub", {total, c});
    }
  }
  norm = ctx.op("Max", {norm, ctx.scalar(0, dtype)});
  std::string product = ctx.op("MatMul", {scaled, ctx.op("Transpose", {centered}, {{"perm", std::vector<int64_t>{1, 0}}})});
  std::string result = ctx.op("Div", {product, norm});
  return rank == 1 ? ctx.op("Reshape", {result, ctx.constant_ints({})}) : result;
}

// aten::cov(self, correction, fweights?, aweights?)
void cov(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), covariance(ctx, n, ctx.tensor_as(n->input(0), dtype), ctx.rank(n->input(0)),
                                   static_cast<double>(ctx.get_int(n->input(1))), dtype));
}

// aten::corrcoef(self): the covariance scaled by the standard deviations, clipped to [-1, 1].
void corrcoef(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->input(0));
  std::string c = covariance(ctx, n, ctx.tensor_as(n->input(0), dtype), rank, 1.0, dtype);
  if (rank == 1) return ctx.bind(n->output(), ctx.op("Div", {c, c}));
  std::string deviations = ctx.op("Sqrt", {emit_reduce(ctx, "ReduceSum", ctx.op("Mul", {c, ctx.op("EyeLike", {c})}), {1}, false)});
  std::string rows = ctx.op("Div", {c, ctx.op("Unsqueeze", {deviations, ctx.constant_ints({1})})});
  std::string both = ctx.op("Div", {rows, ctx.op("Unsqueeze", {deviations, ctx.constant_ints({0})})});
  ctx.bind(n->output(), ctx.op("Clip", {both, ctx.scalar(-1, dtype), ctx.scalar(1, dtype)}));
}

// aten::histc(self, bins, min, max): counts in `bins` equal bins over [min, max] (over the data's
// range when min = max = 0, widened by 1 each way when that range is a point); elements outside
// are not counted; the top edge belongs to the last bin.
void histc(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t bins = ctx.get_int(n->input(1));
  double low = ctx.get_double(n->input(2)), high = ctx.get_double(n->input(3));
  std::string x = emit_flatten(ctx, ctx.tensor_as(n->input(0), dtype));
  std::string lo = ctx.scalar(low, dtype), hi = ctx.scalar(high, dtype);
  if (low == high) {
    lo = emit_reduce(ctx, "ReduceMin", x, {}, false);
    hi = emit_reduce(ctx, "ReduceMax", x, {}, false);
    std::string point = ctx.op("Equal", {lo, hi});
    lo = ctx.op("Where", {point, ctx.op("Sub", {lo, ctx.scalar(1, dtype)}), lo});
    hi = ctx.op("Where", {point, ctx.op("Add", {hi, ctx.scalar(1, dtype)}), hi});
  }
  std::string inside = ctx.op("And", {ctx.op("GreaterOrEqual", {x, lo}), ctx.op("LessOrEqual", {x, hi})});
  std::string position = ctx.op("Div", {ctx.op("Mul", {ctx.op("Sub", {x, lo}), ctx.scalar(static_cast<double>(bins), dtype)}),
                                        ctx.op("Sub", {hi, lo})});
  std::string bin = ctx.op("Min", {ctx.cast(ctx.op("Floor", {position}), at::kLong), ctx.scalar(bins - 1, at::kLong)});
  bin = ctx.op("Where", {inside, bin, ctx.scalar(-1, at::kLong)});
  std::string hits = ctx.op("Equal", {ctx.op("Unsqueeze", {bin, ctx.constant_ints({1})}), ctx.constant(at::arange(bins, at::kLong))});
  ctx.bind(n->output(), emit_reduce(ctx, "ReduceSum", ctx.cast(hits, dtype), {0}, false));
}

}  // namespace

void register_statistics_ops(ConverterRegistry& r) {
  r.add("aten::cov", cov);
  r.add("aten::corrcoef", corrcoef);
  r.add("aten::histc", histc);
}

}  // namespace htp::exporter
