// Ordering: sort/argsort/msort and the order statistics kthvalue and median (TopK over the whole
// dim, whose ties keep the lower index first, as torch's stable sort), unique (Unique) and
// unique_consecutive, searchsorted/bucketize and isin (by comparing every pair).
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <limits>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

struct Sorted {
  std::string values, indices;
};

// The first `k` (a 1-element int64 tensor) values of `x` along `axis` in order, with their indices.
Sorted sorted_prefix(ConversionContext& ctx, const std::string& x, int64_t axis, const std::string& k, bool descending) {
  auto outputs = ctx.op("TopK", {x, k}, 2, {{"axis", axis}, {"largest", int64_t{descending}}, {"sorted", int64_t{1}}});
  return {outputs[0], outputs[1]};
}

std::string dim_size(ConversionContext& ctx, const std::string& x, int64_t axis) {
  return ctx.op("Gather", {ctx.op("Shape", {x}), ctx.constant_ints({axis})});
}

// `x` sorted along `dim`; a scalar is its own sort, with index 0.
Sorted sort_along(ConversionContext& ctx, const Value* input, int64_t dim, bool descending) {
  std::string x = ctx.tensor(input);
  if (ctx.rank(input) == 0) return {x, ctx.constant(at::scalar_tensor(0, at::kLong))};
  int64_t axis = normalize_dim(ctx, dim, ctx.rank(input));
  return sorted_prefix(ctx, x, axis, dim_size(ctx, x, axis), descending);
}

// aten::sort(self, dim, descending) and sort.stable(self, stable?, dim, descending)
void sort(ConversionContext& ctx, const Node* n) {
  size_t first = n->inputs().size() == 4 ? 2 : 1;
  Sorted s = sort_along(ctx, n->input(0), ctx.get_int(n->input(first)), ctx.get_bool(n->input(first + 1)));
  ctx.bind(n->output(0), s.values);
  ctx.bind(n->output(1), s.indices);
}

// aten::argsort(self, dim, descending) and argsort.stable(self, stable, dim, descending)
void argsort(ConversionContext& ctx, const Node* n) {
  size_t first = n->inputs().size() == 4 ? 2 : 1;
  ctx.bind(n->output(), sort_along(ctx, n->input(0), ctx.get_int(n->input(first)), ctx.get_bool(n->input(first + 1))).indices);
}

// aten::msort(self): sorted along dim 0.
void msort(ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), sort_along(ctx, n->input(0), 0, false).values); }

// The k-th smallest (k a 1-element int64 tensor, 1-based) along `axis`, with its index.
Sorted kth_smallest(ConversionContext& ctx, const std::string& x, int64_t axis, const std::string& k, bool keepdim) {
  Sorted prefix = sorted_prefix(ctx, x, axis, k, false);
  std::string before = ctx.op("Sub", {k, ctx.constant_ints({1})});
  auto last = [&](const std::string& t) {
    std::string picked = ctx.op("Slice", {t, before, k, ctx.constant_ints({axis})});
    return keepdim ? picked : ctx.op("Squeeze", {picked, ctx.constant_ints({axis})});
  };
  return {last(prefix.values), last(prefix.indices)};
}

// An order statistic along an optional dim: kthvalue(self, k, dim, keepdim) and median(self[,
// dim, keepdim]) (the lower of the two middle values). Without a dim, of the flattened tensor.
void order_statistic(ConversionContext& ctx, const Node* n, bool median) {
  const Value* input = n->input(0);
  bool has_dim = median ? n->inputs().size() > 1 : true;
  std::string x = ctx.tensor(input);
  int64_t axis = 0;
  bool keepdim = false;
  if (!has_dim || ctx.rank(input) == 0) {
    x = ctx.op("Reshape", {x, ctx.constant_ints({-1})});
  } else {
    axis = normalize_dim(ctx, ctx.get_int(n->input(median ? 1 : 2)), ctx.rank(input));
    keepdim = ctx.get_bool(n->input(median ? 2 : 3));
  }
  std::string k;
  if (median) {
    std::string size = dim_size(ctx, x, axis);
    k = ctx.op("Add", {ctx.op("Div", {ctx.op("Sub", {size, ctx.constant_ints({1})}), ctx.constant_ints({2})}), ctx.constant_ints({1})});
  } else {
    k = ctx.constant_ints({ctx.get_int(n->input(1))});
  }
  Sorted kth = kth_smallest(ctx, x, axis, k, keepdim);
  if (!has_dim || ctx.rank(input) == 0) {  // a 0-d result (and index), as torch gives
    std::string scalar = ctx.constant_ints({});
    kth.values = ctx.op("Reshape", {kth.values, scalar});
    kth.indices = ctx.op("Reshape", {kth.indices, scalar});
  }
  ctx.bind(n->output(0), kth.values);
  if (n->outputs().size() > 1) ctx.bind(n->output(1), kth.indices);
}

// An empty int64 tensor for an output torch leaves empty when it is not asked for.
std::string empty_long(ConversionContext& ctx) { return ctx.constant(at::empty({0}, at::kLong)); }

// aten::_unique2(self, sorted, return_inverse, return_counts): torch sorts on CPU whatever
// `sorted` says; the inverse has the input's shape.
void unique(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor(n->input(0));
  auto outputs = ctx.op("Unique", {x}, 4, {{"sorted", int64_t{1}}});
  ctx.bind(n->output(0), outputs[0]);
  ctx.bind(n->output(1), ctx.get_bool(n->input(2)) ? ctx.op("Reshape", {outputs[2], ctx.op("Shape", {x})}) : empty_long(ctx));
  ctx.bind(n->output(2), ctx.get_bool(n->input(3)) ? outputs[3] : empty_long(ctx));
}

// aten::unique_consecutive(self, return_inverse, return_counts, dim=None): of the flattened
// tensor, each run of equal neighbours kept once (NaN never equals its neighbour, as in torch).
void unique_consecutive(ConversionContext& ctx, const Node* n) {
  if (!ctx.is_none(n->input(3))) ctx.fail("unique_consecutive along a dim is not supported");
  std::string x = ctx.tensor(n->input(0));
  std::string flat = ctx.op("Reshape", {x, ctx.constant_ints({-1})});
  std::string one = ctx.constant_ints({1}), zero = ctx.constant_ints({0}), end = ctx.constant_ints({std::numeric_limits<int64_t>::max()});
  std::string changed = ctx.op("Not", {ctx.op("Equal", {ctx.op("Slice", {flat, one, end}), ctx.op("Slice", {flat, zero, ctx.constant_ints({-1})})})});
  std::string starts_run = ctx.op("Concat", {ctx.constant(at::ones({1}, at::kBool)), changed}, {{"axis", int64_t{0}}});
  starts_run = ctx.op("Slice", {starts_run, zero, ctx.op("Shape", {flat})});  // an empty input has no run
  ctx.bind(n->output(0), ctx.op("Compress", {flat, starts_run}, {{"axis", int64_t{0}}}));
  if (ctx.get_bool(n->input(1))) {
    std::string run = ctx.op("Sub", {ctx.op("CumSum", {ctx.cast(starts_run, at::kLong), ctx.scalar(0, at::kLong)}), one});
    ctx.bind(n->output(1), ctx.op("Reshape", {run, ctx.op("Shape", {x})}));
  } else {
    ctx.bind(n->output(1), empty_long(ctx));
  }
  if (ctx.get_bool(n->input(2))) {
    std::string count = ctx.op("Shape", {flat});
    std::string positions = ctx.op("Range", {ctx.scalar(0, at::kLong), ctx.op("Squeeze", {count}), ctx.scalar(1, at::kLong)});
    std::string starts = ctx.op("Compress", {positions, starts_run}, {{"axis", int64_t{0}}});
    std::string ends = ctx.op("Concat", {ctx.op("Slice", {starts, one, end}), count}, {{"axis", int64_t{0}}});
    ctx.bind(n->output(2), ctx.op("Sub", {ends, starts}));
  } else {
    ctx.bind(n->output(2), empty_long(ctx));
  }
}

// Where each of `values` goes in the sorted last dim of `sequence`: the number of sequence
// elements below it (or not above it, `right`). Every pair is compared.
std::string insertion_points(ConversionContext& ctx, const Value* sequence_value, std::string sequence, const Value* values_value,
                             bool right, bool out_int32) {
  at::ScalarType common = at::promote_types(ctx.scalar_type(sequence_value), ctx.scalar_type(values_value));
  if (ctx.scalar_type(sequence_value) != common) sequence = ctx.cast(sequence, common);
  std::string values = ctx.tensor_as(values_value, common);
  std::vector<int64_t> sum_axes{-1};
  if (ctx.rank(values_value) == 0) {
    sum_axes = {0};
  } else {
    sequence = ctx.op("Unsqueeze", {sequence, ctx.constant_ints({-2})});
    values = ctx.op("Unsqueeze", {values, ctx.constant_ints({-1})});
  }
  std::string below = ctx.op(right ? "LessOrEqual" : "Less", {sequence, values});
  std::string count = ctx.op("ReduceSum", {ctx.cast(below, at::kLong), ctx.constant_ints(sum_axes)}, {{"keepdims", int64_t{0}}});
  return out_int32 ? ctx.cast(count, at::kInt) : count;
}

// aten::searchsorted(sorted_sequence, self, out_int32, right, side?, sorter?)
void searchsorted(ConversionContext& ctx, const Node* n) {
  std::string sequence = ctx.tensor(n->input(0));
  if (!ctx.is_none(n->input(5))) {
    sequence = ctx.op("GatherElements", {sequence, ctx.tensor_as(n->input(5), at::kLong)}, {{"axis", int64_t{-1}}});
  }
  bool right = ctx.get_bool(n->input(3));
  if (!ctx.is_none(n->input(4))) right = ctx.constant(n->input(4))->toStringRef() == "right";
  ctx.bind(n->output(), insertion_points(ctx, n->input(0), sequence, n->input(1), right, ctx.get_bool(n->input(2))));
}

// aten::bucketize(self, boundaries, out_int32, right)
void bucketize(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), insertion_points(ctx, n->input(1), ctx.tensor(n->input(1)), n->input(0), ctx.get_bool(n->input(3)),
                                         ctx.get_bool(n->input(2))));
}

// aten::isin(elements, test_elements, assume_unique, invert): whether each element equals any
// test element (scalars on either side).
void isin(ConversionContext& ctx, const Node* n) {
  at::ScalarType common = at::promote_types(ctx.scalar_type(n->input(0)), ctx.scalar_type(n->input(1)));
  std::string elements = ctx.tensor_as(n->input(0), common);
  std::string tests = ctx.op("Reshape", {ctx.tensor_as(n->input(1), common), ctx.constant_ints({-1})});
  int64_t rank = ctx.rank(n->input(0));
  std::string equal = ctx.op("Equal", {ctx.op("Unsqueeze", {elements, ctx.constant_ints({rank})}), tests});
  std::string hits = ctx.op("ReduceSum", {ctx.cast(equal, at::kLong), ctx.constant_ints({rank})}, {{"keepdims", int64_t{0}}});
  std::string found = ctx.op("Greater", {hits, ctx.scalar(0, at::kLong)});
  ctx.bind(n->output(), ctx.get_bool(n->input(3)) ? ctx.op("Not", {found}) : found);
}

}  // namespace

void register_sort_ops(ConverterRegistry& r) {
  r.add("aten::sort", sort);
  r.add("aten::argsort", argsort);
  r.add("aten::msort", msort);
  r.add("aten::kthvalue", [](ConversionContext& ctx, const Node* n) { order_statistic(ctx, n, false); });
  r.add("aten::median", [](ConversionContext& ctx, const Node* n) { order_statistic(ctx, n, true); });
  r.add("aten::_unique2", unique);
  r.add("aten::unique_consecutive", unique_consecutive);
  r.add("aten::searchsorted", searchsorted);
  r.add("aten::bucketize", bucketize);
  r.add("aten::isin", isin);
}

}  // namespace htp::exporter
