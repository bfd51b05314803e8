// Reductions (Reduce*, with axes as an input from ReduceSum-13 / opset 18 on and as an attribute
// before) and ArgMax/ArgMin. Results keep the input's dtype.
#include "evaluator/registry.h"

#include <algorithm>
#include <numeric>

namespace htp::optimizer::eval {
namespace {

// Reduces `x` over sorted, distinct `dims`, always keeping them (size 1).
using Reducer = at::Tensor (*)(const at::Tensor& x, const std::vector<int64_t>& dims);

at::Tensor sum_over(const at::Tensor& x, const std::vector<int64_t>& dims) {
  return at::sum(x, dims, /*keepdim=*/true, x.scalar_type());
}

at::Tensor mean_over(const at::Tensor& x, const std::vector<int64_t>& dims) {
  if (at::isFloatingType(x.scalar_type())) return at::mean(x, dims, /*keepdim=*/true);
  return at::mean(x.to(at::kDouble), dims, /*keepdim=*/true).to(x.scalar_type());
}

at::Tensor max_over(const at::Tensor& x, const std::vector<int64_t>& dims) { return at::amax(x, dims, /*keepdim=*/true); }
at::Tensor min_over(const at::Tensor& x, const std::vector<int64_t>& dims) { return at::amin(x, dims, /*keepdim=*/true); }

at::Tensor prod_over(const at::Tensor& x, const std::vector<int64_t>& dims) {
  at::Tensor result = x;
  for (int64_t d : dims) result = at::prod(result, d, /*keepdim=*/true, x.scalar_type());
  return result;
}

at::Tensor l1_over(const at::Tensor& x, const std::vector<int64_t>& dims) { return sum_over(at::abs(x), dims); }

at::Tensor l2_over(const at::Tensor& x, const std::vector<int64_t>& dims) {
  if (at::isFloatingType(x.scalar_type())) return at::sqrt(sum_over(x * x, dims));
  return at::sqrt(sum_over(x.to(at::kDouble).square(), dims)).to(x.scalar_type());
}

at::Tensor sum_square_over(const at::Tensor& x, const std::vector<int64_t>& dims) { return sum_over(x * x, dims); }
at::Tensor log_sum_over(const at::Tensor& x, const std::vector<int64_t>& dims) { return at::log(sum_over(x, dims)); }

at::Tensor log_sum_exp_over(const at::Tensor& x, const std::vector<int64_t>& dims) {
  return at::logsumexp(x, dims, /*keepdim=*/true);
}

// Empty or absent axes reduce everything, unless noop_with_empty_axes asks for the identity.
void add_reduction(EvaluatorRegistry& registry, const std::string& op_type, Reducer reduce) {
  registry.add(op_type, [reduce](const NodeContext& ctx) {
    const at::Tensor& x = ctx.input(0);
    std::vector<int64_t> axes = ctx.axes(1).value_or(std::vector<int64_t>{});
    if (axes.empty() && ctx.attr_int("noop_with_empty_axes", 0) != 0) return single(x);
    std::vector<int64_t> dims;
    if (axes.empty()) {
      dims.resize(static_cast<size_t>(x.dim()));
      std::iota(dims.begin(), dims.end(), 0);
    }
    for (int64_t axis : axes) dims.push_back(ctx.normalize_axis(axis, x.dim()));
    std::sort(dims.begin(), dims.end());
    dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
    if (x.dim() == 0) return single(reduce(x.reshape({1}), {0}).reshape({}));
    at::Tensor result = reduce(x, dims);
    if (ctx.attr_int("keepdims", 1) == 0) {
      for (auto it = dims.rbegin(); it != dims.rend(); ++it) result = result.squeeze(*it);
    }
    return single(result.to(x.scalar_type()));
  });
}

// select_last_index picks the last of tied extremes instead of the first.
template <typename Arg>
std::vector<at::Tensor> arg_extreme(const NodeContext& ctx, Arg arg) {
  const at::Tensor& x = ctx.input(0);
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", 0), std::max<int64_t>(x.dim(), 1));
  const bool keep = ctx.attr_int("keepdims", 1) != 0;
  const at::Tensor values = x.dim() == 0 ? x.reshape({1}) : x;
  if (ctx.attr_int("select_last_index", 0) == 0) return single(arg(values, axis, keep));
  return single(values.size(axis) - 1 - arg(values.flip(axis), axis, keep));
}

at::Tensor argmax(const at::Tensor& x, int64_t axis, bool keep) { return at::argmax(x, axis, keep); }
at::Tensor argmin(const at::Tensor& x, int64_t axis, bool keep) { return at::argmin(x, axis, keep); }

}  // namespace

void register_reduction_ops(EvaluatorRegistry& registry) {
  add_reduction(registry, "ReduceSum", sum_over);
  add_reduction(registry, "ReduceMean", mean_over);
  add_reduction(registry, "ReduceMax", max_over);
  add_reduction(registry, "ReduceMin", min_over);
  add_reduction(registry, "ReduceProd", prod_over);
  add_reduction(registry, "ReduceL1", l1_over);
  add_reduction(registry, "ReduceL2", l2_over);
  add_reduction(registry, "ReduceSumSquare", sum_square_over);
  add_reduction(registry, "ReduceLogSum", log_sum_over);
  add_reduction(registry, "ReduceLogSumExp", log_sum_exp_over);
  registry.add("ArgMax", [](const NodeContext& ctx) { return arg_extreme(ctx, argmax); });
  registry.add("ArgMin", [](const NodeContext& ctx) { return arg_extreme(ctx, argmin); });
}

}  // namespace htp::optimizer::eval
