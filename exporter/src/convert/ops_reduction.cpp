// Reductions over dimension lists (mean, sum, amax, amin) and the cumulative sum along one dim.
#include "convert/registry.h"

#include <ATen/ATen.h>
#include <c10/core/ScalarType.h>

#include <numeric>

namespace htp::exporter {
namespace {

using torch::jit::Node;

// aten::mean/sum.dim(input, dims, keepdim, dtype?) and the all-dims forms (input, dtype?).
// Opset 17 takes ReduceSum's axes as an input and the others' as an attribute.
Converter reduce(const std::string& onnx_op, bool axes_as_input) {
  return [onnx_op, axes_as_input](ConversionContext& ctx, const Node* n) {
    at::ScalarType dtype = ctx.scalar_type(n->output());
    std::string x = ctx.tensor_as(n->input(0), dtype);
    auto dims = n->inputs().size() >= 3 ? ctx.constant(n->input(1)) : std::nullopt;
    bool over_dims = dims && (dims->isIntList() || dims->isInt());  // prod takes one int dim
    std::vector<int64_t> axes;
    int64_t keepdims = 0;
    if (over_dims) {
      int64_t rank = ctx.rank(n->input(0));
      for (int64_t d : ctx.get_ints(n->input(1))) axes.push_back(normalize_dim(ctx, d, rank));
      keepdims = ctx.get_bool(n->input(2));
    }
    std::vector<Attr> attrs{{"keepdims", keepdims}};
    if (axes.empty()) {  // torch reduces every dim for an empty list
      ctx.bind(n->output(), ctx.op(onnx_op, {x}, attrs));
    } else if (axes_as_input) {
      ctx.bind(n->output(), ctx.op(onnx_op, {x, ctx.constant_ints(axes)}, attrs));
    } else {
      attrs.push_back({"axes", axes});
      ctx.bind(n->output(), ctx.op(onnx_op, {x}, attrs));
    }
  };
}

// aten::argmax/argmin(self, dim?, keepdim): without a dim, over the flattened tensor.
Converter arg_reduce(const std::string& onnx_op) {
  return [onnx_op](ConversionContext& ctx, const Node* n) {
    std::string x = ctx.tensor(n->input(0));
    if (ctx.is_none(n->input(1))) {
      x = ctx.op("Reshape", {x, ctx.constant_ints({-1})});
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

// aten::var/std as (self, unbiased) over everything, or (self, dims?, unbiased | correction?,
// keepdim): sum((x - mean)²) / (count - correction), with the count from static sizes.
void variance(ConversionContext& ctx, const Node* n, bool root) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->input(0));
  auto sizes = ctx.sizes(n->input(0));
  if (!sizes) ctx.fail("needs static input sizes");
  std::vector<int64_t> axes;
  if (n->inputs().size() == 4 && !ctx.is_none(n->input(1))) {
    for (int64_t d : ctx.get_ints(n->input(1))) axes.push_back(normalize_dim(ctx, d, rank));
  }
  if (axes.empty()) {
    axes.resize(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
  }
  const torch::jit::Value* correction_arg = n->input(n->inputs().size() == 4 ? 2 : 1);
  double correction = 1;
  if (auto known = ctx.constant(correction_arg); known && known->isBool()) correction = known->toBool() ? 1 : 0;
  else if (!ctx.is_none(correction_arg)) correction = ctx.get_double(correction_arg);
  int64_t keepdims = n->inputs().size() == 4 ? ctx.get_bool(n->input(3)) : 0;
  double count = 1;
  for (int64_t axis : axes) count *= static_cast<double>((*sizes)[static_cast<size_t>(axis)]);

  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::string mean = ctx.op("ReduceMean", {x}, {{"axes", axes}, {"keepdims", int64_t{1}}});
  std::string deviation = ctx.op("Sub", {x, mean});
  std::string sum = ctx.op("ReduceSum", {ctx.op("Mul", {deviation, deviation}), ctx.constant_ints(axes)}, {{"keepdims", keepdims}});
  std::string result = ctx.op("Div", {sum, ctx.scalar(count - correction, dtype)});
  ctx.bind(n->output(), root ? ctx.op("Sqrt", {result}) : result);
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

void numel(ConversionContext& ctx, const Node* n) {
  std::string shape = ctx.op("Shape", {ctx.tensor(n->input(0))});
  ctx.bind(n->output(), ctx.op("ReduceProd", {shape}, {{"keepdims", int64_t{0}}}));
}

}  // namespace

void register_reduction_ops(ConverterRegistry& r) {
  r.add("aten::cumsum", cumsum);
  r.add("aten::numel", numel);
  r.add("aten::topk", topk);
  r.add("aten::var", [](ConversionContext& ctx, const Node* n) { variance(ctx, n, false); });
  r.add("aten::std", [](ConversionContext& ctx, const Node* n) { variance(ctx, n, true); });
  r.add("aten::prod", reduce("ReduceProd", false));
  r.add("aten::argmax", arg_reduce("ArgMax"));
  r.add("aten::argmin", arg_reduce("ArgMin"));
  r.add("aten::max", extremum("ReduceMax", "Max", "ArgMax"));
  r.add("aten::min", extremum("ReduceMin", "Min", "ArgMin"));
  r.add("aten::mean", reduce("ReduceMean", false));
  r.add("aten::sum", reduce("ReduceSum", true));
  r.add("aten::amax", reduce("ReduceMax", false));
  r.add("aten::amin", reduce("ReduceMin", false));
}

}  // namespace htp::exporter
