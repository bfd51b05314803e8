// Ordering: sort/argsort/msort and the order statistics kthvalue, median/nanmedian and
// quantile/nanquantile (TopK over the whole dim, whose ties keep the lower index first, as torch's
// stable sort), unique (Unique) and unique_consecutive, searchsorted/bucketize and isin (by
// comparing every pair).
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <limits>
#include <numeric>

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

// `x` sorted along `dim`; a scalar is its own sort, with index 0.
Sorted sort_along(ConversionContext& ctx, const Value* input, int64_t dim, bool descending) {
  std::string x = ctx.tensor(input);
  if (ctx.rank(input) == 0) return {x, ctx.constant(at::scalar_tensor(0, at::kLong))};
  int64_t axis = normalize_dim(ctx, dim, ctx.rank(input));
  return sorted_prefix(ctx, x, axis, emit_dim_size(ctx, x, axis), descending);
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

// aten::kthvalue(self, k, dim, keepdim) → values, indices
void kthvalue(ConversionContext& ctx, const Node* n) {
  const Value* input = n->input(0);
  std::string x = ctx.tensor(input);
  bool scalar = ctx.rank(input) == 0;
  if (scalar) x = ctx.op("Reshape", {x, ctx.constant_ints({1})});
  int64_t axis = scalar ? 0 : normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(input));
  Sorted kth = kth_smallest(ctx, x, axis, ctx.constant_ints({ctx.get_int(n->input(1))}), ctx.get_bool(n->input(3)) && !scalar);
  if (scalar) {
    kth.values = ctx.op("Reshape", {kth.values, ctx.constant_ints({})});
    kth.indices = ctx.op("Reshape", {kth.indices, ctx.constant_ints({})});
  }
  ctx.bind(n->output(0), kth.values);
  ctx.bind(n->output(1), kth.indices);
}

// The rows of an order statistic: the input with its dim moved last (or flattened when there is
// no dim), NaN counted and replaced by +inf so that it sorts last, sorted ascending.
struct SortedRows {
  std::string rows, values, indices;  // [..., n]
  std::string valid;                  // [..., 1] int64: the elements that are not NaN
  std::string any_nan;                // [..., 1] bool
  std::vector<int64_t> perm;          // moves the dim last, the others keeping their order
  bool flattened;
};

SortedRows sorted_rows(ConversionContext& ctx, const Value* input, const Value* dim) {
  SortedRows r;
  std::string x = ctx.tensor(input);
  int64_t rank = ctx.rank(input);
  r.flattened = !dim || ctx.is_none(dim) || rank == 0;
  if (r.flattened) {
    r.rows = emit_flatten(ctx, x);
  } else {
    r.perm = moved_last(rank, {normalize_dim(ctx, ctx.get_int(dim), rank)});
    r.rows = ctx.op("Transpose", {x}, {{"perm", r.perm}});
  }
  std::string size = emit_dim_size(ctx, r.rows, -1), filled = r.rows;
  at::ScalarType dtype = ctx.scalar_type(input);
  if (at::isFloatingType(dtype)) {
    std::string nan = ctx.op("IsNaN", {r.rows});
    filled = ctx.op("Where", {nan, ctx.scalar(std::numeric_limits<double>::infinity(), dtype), r.rows});
    std::string nans = ctx.op("ReduceSum", {ctx.cast(nan, at::kLong), ctx.constant_ints({-1})}, {{"keepdims", int64_t{1}}});
    r.valid = ctx.op("Sub", {size, nans});
    r.any_nan = ctx.op("Greater", {nans, ctx.scalar(0, at::kLong)});
  } else {
    std::string leading = ctx.op("Slice", {ctx.op("Shape", {r.rows}), ctx.constant_ints({0}), ctx.constant_ints({-1})});
    r.valid = ctx.op("Expand", {size, ctx.op("Concat", {leading, ctx.constant_ints({1})}, {{"axis", int64_t{0}}})});
  }
  Sorted s = sorted_prefix(ctx, filled, -1, size, false);
  r.values = s.values;
  r.indices = s.indices;
  return r;
}

// A per-row result [..., m] back in the input's layout: m stays last; with keepdim the reduced
// dim returns as size 1 (every dim, for a flattened input of rank `rank`).
std::string restore_rows(ConversionContext& ctx, const SortedRows& r, const std::string& result, bool keepdim, int64_t rank) {
  if (!keepdim) return result;
  if (r.flattened) {
    std::vector<int64_t> axes(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
    return rank == 0 ? result : ctx.op("Unsqueeze", {result, ctx.constant_ints(axes)});
  }
  return ctx.op("Unsqueeze", {result, ctx.constant_ints({r.perm.back()})});
}

// The number of elements per row a statistic ranks [..., 1]: the ones that are not NaN when NaN
// is skipped, otherwise all.
std::string ranked_count(ConversionContext& ctx, const SortedRows& r, bool skip_nan) {
  return skip_nan ? r.valid : ctx.op("Expand", {emit_dim_size(ctx, r.rows, -1), ctx.op("Shape", {r.valid})});
}

// `x` with NaN in the rows whose statistic is NaN: a row holding NaN, or with NaN skipped, a row
// of nothing but NaN. Integer rows hold no NaN.
std::string nan_rows(ConversionContext& ctx, const SortedRows& r, bool skip_nan, const std::string& x, at::ScalarType dtype) {
  if (r.any_nan.empty()) return x;
  std::string condition = skip_nan ? ctx.op("Equal", {r.valid, ctx.scalar(0, at::kLong)}) : r.any_nan;
  return ctx.op("Where", {condition, ctx.scalar(std::numeric_limits<double>::quiet_NaN(), dtype), x});
}

// aten::median / nanmedian(self[, dim, keepdim]) → values[, indices]: the lower middle value.
// median is NaN where a row holds NaN (with the first NaN's index); nanmedian skips NaN and is NaN
// only for a row of NaN.
void median(ConversionContext& ctx, const Node* n, bool skip_nan) {
  const Value* input = n->input(0);
  at::ScalarType dtype = ctx.scalar_type(input);
  SortedRows r = sorted_rows(ctx, input, n->inputs().size() > 1 ? n->input(1) : nullptr);
  std::string count = ranked_count(ctx, r, skip_nan);
  std::string k = ctx.op("Max", {ctx.op("Div", {ctx.op("Sub", {count, ctx.scalar(1, at::kLong)}), ctx.scalar(2, at::kLong)}),
                                 ctx.scalar(0, at::kLong)});
  std::string value = nan_rows(ctx, r, skip_nan, ctx.op("GatherElements", {r.values, k}, {{"axis", int64_t{-1}}}), dtype);
  std::string index = ctx.op("GatherElements", {r.indices, k}, {{"axis", int64_t{-1}}});
  if (!skip_nan && !r.any_nan.empty()) {
    std::string first_nan = ctx.op("ArgMax", {ctx.cast(ctx.op("IsNaN", {r.rows}), at::kInt)}, {{"axis", int64_t{-1}}, {"keepdims", int64_t{1}}});
    index = ctx.op("Where", {r.any_nan, first_nan, index});
  }
  bool keepdim = !r.flattened && ctx.get_bool(n->input(2));
  auto finish = [&](const std::string& t) {  // [..., 1] → the result's shape
    if (r.flattened) return ctx.op("Reshape", {t, ctx.constant_ints({})});
    return keepdim ? ctx.op("Transpose", {t}, {{"perm", inverse_permutation(r.perm)}}) : ctx.op("Squeeze", {t, ctx.constant_ints({-1})});
  };
  ctx.bind(n->output(0), finish(value));
  if (n->outputs().size() > 1) ctx.bind(n->output(1), finish(index));
}

// aten::quantile / nanquantile(self, q, dim?, keepdim, interpolation): q (a float, or a 0-d or
// 1-D tensor) of the sorted rows, between the neighbouring order statistics as `interpolation`
// says; a 1-D q puts its dim first. quantile is NaN for a row holding NaN, nanquantile skips NaN.
void quantile(ConversionContext& ctx, const Node* n, bool skip_nan) {
  const Value* input = n->input(0);
  at::ScalarType dtype = ctx.scalar_type(n->output());
  SortedRows r = sorted_rows(ctx, input, n->input(2));
  bool q_vector = n->input(1)->type()->kind() == c10::TypeKind::TensorType && ctx.rank(n->input(1)) == 1;
  std::string q = emit_flatten(ctx, ctx.tensor_as(n->input(1), dtype));
  std::string count = ranked_count(ctx, r, skip_nan);
  std::string position = ctx.op("Mul", {q, ctx.op("Sub", {ctx.cast(count, dtype), ctx.scalar(1, dtype)})});  // [..., Q]
  auto at_rank = [&](const std::string& p) {
    return ctx.op("GatherElements", {r.values, ctx.cast(ctx.op("Max", {p, ctx.scalar(0, dtype)}), at::kLong)}, {{"axis", int64_t{-1}}});
  };
  std::string below = ctx.op("Floor", {position}), above = ctx.op("Ceil", {position});
  std::string how = ctx.constant(n->input(4))->toStringRef(), result;
  if (how == "linear") {
    std::string low = at_rank(below);
    result = ctx.op("Add", {low, ctx.op("Mul", {ctx.op("Sub", {at_rank(above), low}), ctx.op("Sub", {position, below})})});
  } else if (how == "lower") {
    result = at_rank(below);
  } else if (how == "higher") {
    result = at_rank(above);
  } else if (how == "midpoint") {
    result = ctx.op("Mul", {ctx.op("Add", {at_rank(below), at_rank(above)}), ctx.scalar(0.5, dtype)});
  } else if (how == "nearest") {
    result = at_rank(ctx.op("Round", {position}));
  } else {
    ctx.fail("unknown interpolation '" + how + "'");
  }
  result = restore_rows(ctx, r, nan_rows(ctx, r, skip_nan, result, dtype), ctx.get_bool(n->input(3)), ctx.rank(input));
  int64_t rank = ctx.rank(n->output()) + (q_vector ? 0 : 1);
  std::vector<int64_t> q_first{rank - 1};
  for (int64_t d = 0; d + 1 < rank; ++d) q_first.push_back(d);
  result = ctx.op("Transpose", {result}, {{"perm", q_first}});
  ctx.bind(n->output(), q_vector ? result : ctx.op("Squeeze", {result, ctx.constant_ints({0})}));
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
  std::string flat = emit_flatten(ctx, x);
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
  std::string tests = emit_flatten(ctx, ctx.tensor_as(n->input(1), common));
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
  r.add("aten::kthvalue", kthvalue);
  r.add("aten::median", [](ConversionContext& ctx, const Node* n) { median(ctx, n, false); });
  r.add("aten::nanmedian", [](ConversionContext& ctx, const Node* n) { median(ctx, n, true); });
  r.add("aten::quantile", [](ConversionContext& ctx, const Node* n) { quantile(ctx, n, false); });
  r.add("aten::nanquantile", [](ConversionContext& ctx, const Node* n) { quantile(ctx, n, true); });
  r.add("aten::_unique2", unique);
  r.add("aten::unique_consecutive", unique_consecutive);
  r.add("aten::searchsorted", searchsorted);
  r.add("aten::bucketize", bucketize);
  r.add("aten::isin", isin);
}

}  // namespace htp::exporter
