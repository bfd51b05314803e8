// Reductions over dimension lists (mean, sum, amax, amin) and the cumulative sum along one dim.
#include "convert/registry.h"

#include <ATen/ATen.h>
#include <c10/core/ScalarType.h>

#include <cmath>
#include <numeric>

namespace htp::exporter {
namespace {

using torch::jit::Node;

// The dims a reduction takes (an int, an int list, or None/[] for all) normalized against `rank`;
// empty means every dim. A 0-d tensor accepts dim 0 or -1 and has nothing to reduce.
std::vector<int64_t> reduction_axes(const ConversionContext& ctx, const torch::jit::Value* dims, int64_t rank) {
  std::vector<int64_t> axes;
  if (ctx.is_none(dims)) return axes;
  for (int64_t d : ctx.get_ints(dims)) {
    int64_t axis = normalize_dim(ctx, d, std::max<int64_t>(rank, 1));
    if (rank > 0) axes.push_back(axis);
  }
  return axes;
}

// aten::mean/sum.dim(input, dims?, keepdim, dtype?) and the all-dims forms (input, dtype?).
Converter reduce(const std::string& onnx_op) {
  return [onnx_op](ConversionContext& ctx, const Node* n) {
    at::ScalarType dtype = ctx.scalar_type(n->output());
    std::vector<int64_t> axes;
    bool keepdims = false;
    if (n->inputs().size() >= 3) {  // prod takes one int dim, the others a list
      axes = reduction_axes(ctx, n->input(1), ctx.rank(n->input(0)));
      keepdims = ctx.get_bool(n->input(2));
    }
    ctx.bind(n->output(), emit_reduce(ctx, onnx_op, ctx.tensor_as(n->input(0), dtype), axes, keepdims));
  };
}

// aten::argmax/argmin(self, dim?, keepdim): without a dim, over the flattened tensor.
Converter arg_reduce(const std::string& onnx_op) {
  return [onnx_op](ConversionContext& ctx, const Node* n) {
    std::string x = ctx.tensor(n->input(0));
    if (ctx.is_none(n->input(1))) {
      x = emit_flatten(ctx, x);
      ctx.bind(n->output(), ctx.op(onnx_op, {x}, {{"axis", int64_t{0}}, {"keepdims", int64_t{0}}}));
      return;
    }
    int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), std::max<int64_t>(1, ctx.rank(n->input(0))));
    ctx.bind(n->output(), ctx.op(onnx_op, {x}, {{"axis", axis}, {"keepdims", int64_t{ctx.get_bool(n->input(2))}}}));
  };
}

// aten::max/min in three forms: (self) over everything, (self, other) elementwise, and
// (self, dim, keepdim) returning values and indices.
Converter extremum(const std::string& reduce_op, const std::string& elementwise_op, const std::string& arg_op) {
  return [=](ConversionContext& ctx, const Node* n) {
    at::ScalarType dtype = ctx.scalar_type(n->output(0));
    if (n->inputs().size() == 1) {
      ctx.bind(n->output(), ctx.op(reduce_op, {ctx.tensor(n->input(0))}, {{"keepdims", int64_t{0}}}));
    } else if (n->inputs().size() == 2) {
      ctx.bind(n->output(), ctx.op(elementwise_op, {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)}));
    } else {
      int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
      std::vector<Attr> attrs{{"axes", std::vector<int64_t>{axis}}, {"keepdims", int64_t{ctx.get_bool(n->input(2))}}};
      ctx.bind(n->output(0), ctx.op(reduce_op, {ctx.tensor(n->input(0))}, attrs));
      ctx.bind(n->output(1), ctx.op(arg_op, {ctx.tensor(n->input(0))}, {{"axis", axis}, {"keepdims", int64_t{ctx.get_bool(n->input(2))}}}));
    }
  };
}

// aten::topk(self, k, dim, largest, sorted) → values, indices
void topk(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  std::string k = ctx.op("Unsqueeze", {ctx.tensor_as(n->input(1), at::kLong), ctx.constant_ints({0})});
  auto outputs = ctx.op("TopK", {ctx.tensor(n->input(0)), k}, 2,
                        {{"axis", axis}, {"largest", int64_t{ctx.get_bool(n->input(3))}}, {"sorted", int64_t{ctx.get_bool(n->input(4))}}});
  ctx.bind(n->output(0), outputs[0]);
  ctx.bind(n->output(1), outputs[1]);
}

// aten::var/std (and var_mean/std_mean, whose second output is the mean) as (self, unbiased) over
// everything, or (self, dims?, unbiased | correction?, keepdim): sum((x - mean)²) / (count - correction),
// with the count read from the input's shape at run time.
void variance(ConversionContext& ctx, const Node* n, bool root) {
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  int64_t rank = ctx.rank(n->input(0));
  std::vector<int64_t> axes;
  if (n->inputs().size() == 4) axes = reduction_axes(ctx, n->input(1), rank);
  if (axes.empty()) {
    axes.resize(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
  }
  const torch::jit::Value* correction_arg = n->input(n->inputs().size() == 4 ? 2 : 1);
  double correction = 1;
  if (auto known = ctx.constant(correction_arg); known && known->isBool()) correction = known->toBool() ? 1 : 0;
  else if (!ctx.is_none(correction_arg)) correction = ctx.get_double(correction_arg);
  int64_t keepdims = n->inputs().size() == 4 ? ctx.get_bool(n->input(3)) : 0;

  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::string shape = ctx.op("Shape", {x});
  std::string count = ctx.cast(ctx.op("ReduceProd", {ctx.op("Gather", {shape, ctx.constant_ints(axes)})}, {{"keepdims", int64_t{0}}}), dtype);
  std::string mean = ctx.op("ReduceMean", {x}, {{"axes", axes}, {"keepdims", int64_t{1}}});
  std::string deviation = ctx.op("Sub", {x, mean});
  std::string sum = ctx.op("ReduceSum", {ctx.op("Mul", {deviation, deviation}), ctx.constant_ints(axes)}, {{"keepdims", keepdims}});
  std::string result = ctx.op("Div", {sum, ctx.op("Sub", {count, ctx.scalar(correction, dtype)})});
  ctx.bind(n->output(0), root ? ctx.op("Sqrt", {result}) : result);
  if (n->outputs().size() > 1) {
    ctx.bind(n->output(1), keepdims ? mean : ctx.op("Squeeze", {mean, ctx.constant_ints(axes)}));
  }
}

// torch's dtype of a cumulative sum: `dtype` when given, else the input's, with integers and bools
// summed as int64.
at::ScalarType cumsum_dtype(const ConversionContext& ctx, const Node* n) {
  if (!ctx.is_none(n->input(2))) return static_cast<at::ScalarType>(ctx.get_int(n->input(2)));
  at::ScalarType input = ctx.scalar_type(n->input(0));
  return c10::isIntegralType(input, /*includeBool=*/true) ? at::kLong : input;
}

// The dtype CumSum runs in for a `dtype` result: ONNX Runtime's kernel takes float, double, int32 and
// int64, and int32 not on every runtime, so other integers are summed as int64 and half floats as float.
at::ScalarType scan_dtype(at::ScalarType dtype) {
  if (dtype == at::kFloat || dtype == at::kDouble) return dtype;
  return c10::isIntegralType(dtype, /*includeBool=*/true) ? at::kLong : at::kFloat;
}

// aten::cumsum(self, dim, *, dtype?) → CumSum with a 0-d axis input (exclusive and reverse stay 0).
void cumsum(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = cumsum_dtype(ctx, n);
  int64_t rank = ctx.rank(n->input(0));
  if (rank == 0) return ctx.bind(n->output(), ctx.tensor_as(n->input(0), dtype));  // one element sums to itself
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), rank);
  at::ScalarType summed = scan_dtype(dtype);
  std::string axis_tensor = ctx.constant(at::scalar_tensor(axis, at::kLong));
  std::string sums = ctx.op("CumSum", {ctx.tensor_as(n->input(0), summed), axis_tensor});
  ctx.bind(n->output(), summed == dtype ? sums : ctx.cast(sums, dtype));
}

// aten::any/all(self) and (self, dim, keepdim): whether the count of non-zero (resp. zero) elements
// is positive (resp. zero), so NaN counts as true and empty tensors give False/True. The result is
// bool, or uint8 for a uint8 input.
Converter truth_reduction(bool all) {
  return [all](ConversionContext& ctx, const Node* n) {
    std::string x = ctx.tensor(n->input(0));
    at::ScalarType dtype = ctx.scalar_type(n->input(0));
    std::string hits = ctx.op("Equal", {x, ctx.scalar(0, dtype)});
    if (!all) hits = ctx.op("Not", {hits});
    std::vector<int64_t> axes;
    bool keepdims = false;
    if (n->inputs().size() > 1) {
      axes = reduction_axes(ctx, n->input(1), ctx.rank(n->input(0)));
      keepdims = ctx.get_bool(n->input(2));
      if (axes.empty() && ctx.rank(n->input(0)) == 0) keepdims = true;  // a 0-d input keeps its shape
    }
    std::string count = emit_reduce(ctx, "ReduceSum", ctx.cast(hits, at::kLong), axes, keepdims);
    std::string zero = ctx.scalar(0, at::kLong);
    std::string result = all ? ctx.op("Equal", {count, zero}) : ctx.op("Greater", {count, zero});
    ctx.bind(n->output(), ctx.cast(result, ctx.scalar_type(n->output())));
  };
}

// aten::count_nonzero(self, dim?) and (self, dims): the int64 count, dims removed.
void count_nonzero(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor(n->input(0));
  std::string nonzero = ctx.op("Not", {ctx.op("Equal", {x, ctx.scalar(0, ctx.scalar_type(n->input(0)))})});
  std::vector<int64_t> axes = reduction_axes(ctx, n->input(1), ctx.rank(n->input(0)));
  ctx.bind(n->output(), emit_reduce(ctx, "ReduceSum", ctx.cast(nonzero, at::kLong), axes, false));
}

// aten::aminmax(self, *, dim?, keepdim) → (min, max)
void aminmax(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor(n->input(0));
  std::vector<int64_t> axes = reduction_axes(ctx, n->input(1), ctx.rank(n->input(0)));
  bool keepdims = ctx.get_bool(n->input(2));
  ctx.bind(n->output(0), emit_reduce(ctx, "ReduceMin", x, axes, keepdims));
  ctx.bind(n->output(1), emit_reduce(ctx, "ReduceMax", x, axes, keepdims));
}

// aten::logsumexp(self, dims, keepdim) as torch computes it: log(sum(exp(x - m))) + m with m the
// max over the dims, replaced by 0 where it is infinite.
void logsumexp(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::vector<int64_t> axes = reduction_axes(ctx, n->input(1), ctx.rank(n->input(0)));
  bool keepdims = ctx.get_bool(n->input(2));
  std::string max = emit_reduce(ctx, "ReduceMax", x, axes, true);
  max = ctx.op("Where", {ctx.op("IsInf", {max}), ctx.scalar(0, dtype), max});
  std::string sum = emit_reduce(ctx, "ReduceSum", ctx.op("Exp", {ctx.op("Sub", {x, max})}), axes, keepdims);
  std::string shift = keepdims || axes.empty() ? max : ctx.op("Squeeze", {max, ctx.constant_ints(axes)});
  if (axes.empty() && !keepdims) shift = ctx.op("Reshape", {max, ctx.constant_ints({})});
  ctx.bind(n->output(), ctx.op("Add", {ctx.op("Log", {sum}), shift}));
}

// aten::nansum/nanmean(self, dims?, keepdim, *, dtype?): NaNs count as 0 and, for the mean, not at all.
Converter nan_reduction(bool mean) {
  return [mean](ConversionContext& ctx, const Node* n) {
    at::ScalarType dtype = ctx.scalar_type(n->output());
    std::string x = ctx.tensor_as(n->input(0), dtype);
    std::vector<int64_t> axes = reduction_axes(ctx, n->input(1), ctx.rank(n->input(0)));
    bool keepdims = ctx.get_bool(n->input(2));
    if (!c10::isFloatingType(dtype)) return ctx.bind(n->output(), emit_reduce(ctx, mean ? "ReduceMean" : "ReduceSum", x, axes, keepdims));
    std::string nan = ctx.op("IsNaN", {x});
    std::string sum = emit_reduce(ctx, "ReduceSum", ctx.op("Where", {nan, ctx.scalar(0, dtype), x}), axes, keepdims);
    if (!mean) return ctx.bind(n->output(), sum);
    std::string count = emit_reduce(ctx, "ReduceSum", ctx.cast(ctx.op("Not", {nan}), dtype), axes, keepdims);
    ctx.bind(n->output(), ctx.op("Div", {sum, count}));
  };
}

// aten::sum_to_size(self, size): summed down to `size`, which self broadcasts from: over the extra
// leading dims and over every dim that size has as 1 and self has larger.
void sum_to_size(ConversionContext& ctx, const Node* n) {
  std::vector<int64_t> target = ctx.get_ints(n->input(1));
  auto sizes = ctx.sizes(n->input(0));
  if (!sizes) ctx.fail("needs static sizes");
  auto leading = static_cast<int64_t>(sizes->size()) - static_cast<int64_t>(target.size());
  if (leading < 0) ctx.fail("size has more dims than the tensor");
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < static_cast<int64_t>(sizes->size()); ++d) {
    if (d < leading || (target[static_cast<size_t>(d - leading)] == 1 && (*sizes)[static_cast<size_t>(d)] != 1)) axes.push_back(d);
  }
  std::string x = ctx.tensor(n->input(0));
  if (axes.empty()) return ctx.bind(n->output(), x);
  ctx.bind(n->output(), ctx.op("Reshape", {emit_reduce(ctx, "ReduceSum", x, axes, true), ctx.constant_ints(target)}));
}

void numel(ConversionContext& ctx, const Node* n) {
  std::string shape = ctx.op("Shape", {ctx.tensor(n->input(0))});
  ctx.bind(n->output(), ctx.op("ReduceProd", {shape}, {{"keepdims", int64_t{0}}}));
}

}  // namespace

void register_reduction_ops(ConverterRegistry& r) {
  r.add("aten::cumsum", cumsum);
  r.add("aten::numel", numel);
  r.add("aten::sum_to_size", sum_to_size);
  r.add("aten::topk", topk);
  r.add("aten::var", [](ConversionContext& ctx, const Node* n) { variance(ctx, n, false); });
  r.add("aten::std", [](ConversionContext& ctx, const Node* n) { variance(ctx, n, true); });
  r.add("aten::var_mean", [](ConversionContext& ctx, const Node* n) { variance(ctx, n, false); });
  r.add("aten::std_mean", [](ConversionContext& ctx, const Node* n) { variance(ctx, n, true); });
  r.add("aten::all", truth_reduction(true));
  r.add("aten::any", truth_reduction(false));
  r.add("aten::count_nonzero", count_nonzero);
  r.add("aten::aminmax", aminmax);
  r.add("aten::logsumexp", logsumexp);
  r.add("aten::special_logsumexp", logsumexp);
  r.add("aten::nansum", nan_reduction(false));
  r.add("aten::nanmean", nan_reduction(true));
  r.add("aten::prod", reduce("ReduceProd"));
  r.add("aten::argmax", arg_reduce("ArgMax"));
  r.add("aten::argmin", arg_reduce("ArgMin"));
  r.add("aten::max", extremum("ReduceMax", "Max", "ArgMax"));
  r.add("aten::min", extremum("ReduceMin", "Min", "ArgMin"));
  r.add("aten::mean", reduce("ReduceMean"));
  r.add("aten::sum", reduce("ReduceSum"));
  r.add("aten::amax", reduce("ReduceMax"));
  r.add("aten::amin", reduce("ReduceMin"));
}

}  // namespace htp::exporter
