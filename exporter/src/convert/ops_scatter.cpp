// Scatter and gather by index or mask: scatter (src, value, reduce), scatter_add, scatter_reduce,
// index_add/index_copy/index_fill/index_reduce, masked_scatter, masked_select, take,
// take_along_dim, put, as_strided(_scatter), nonzero/argwhere. ScatterElements in opset 17
// reduces by add and mul only, so amax and amin reductions stay unsupported.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <numeric>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

std::vector<Attr> scatter_attrs(int64_t axis, const std::string& reduction) {
  std::vector<Attr> attrs{{"axis", axis}};
  if (reduction != "none") attrs.push_back({"reduction", reduction});
  return attrs;
}

// How torch names a reduction → ScatterElements' name.
std::string onnx_reduction(const ConversionContext& ctx, const std::string& reduce) {
  if (reduce == "add" || reduce == "sum") return "add";
  if (reduce == "multiply" || reduce == "prod") return "mul";
  ctx.fail("the reduction '" + reduce + "' has no ScatterElements form in opset 17");
}

// `src` cut to the shape of `index` (torch reads only that corner of src).
std::string corner(ConversionContext& ctx, const std::string& src, const std::string& index, int64_t rank) {
  std::vector<int64_t> axes(static_cast<size_t>(rank));
  std::iota(axes.begin(), axes.end(), 0);
  std::vector<int64_t> zeros(axes.size(), 0);
  return ctx.op("Slice", {src, ctx.constant_ints(zeros), ctx.op("Shape", {index}), ctx.constant_ints(axes)});
}

// aten::scatter(self, dim, index, src | value[, reduce]) and scatter_add(self, dim, index, src)
void scatter(ConversionContext& ctx, const Node* n, const std::string& fixed_reduction) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->input(0));
  std::string x = ctx.tensor(n->input(0)), index = ctx.tensor_as(n->input(2), at::kLong);
  if (rank == 0) {  // torch treats a scalar as one element along dim 0
    x = ctx.op("Reshape", {x, ctx.constant_ints({1})});
    index = emit_flatten(ctx, index);
  }
  int64_t axis = rank == 0 ? 0 : normalize_dim(ctx, ctx.get_int(n->input(1)), rank);
  const Value* source = n->input(3);
  std::string updates;
  if (source->type()->kind() == c10::TypeKind::TensorType && ctx.rank(source) == std::max<int64_t>(rank, 1)) {
    updates = corner(ctx, ctx.tensor_as(source, dtype), index, std::max<int64_t>(rank, 1));
  } else {
    updates = ctx.op("Expand", {ctx.op("Reshape", {ctx.tensor_as(source, dtype), ctx.constant_ints({})}), ctx.op("Shape", {index})});
  }
  std::string reduction = fixed_reduction;
  if (n->inputs().size() > 4) reduction = onnx_reduction(ctx, ctx.constant(n->input(4))->toStringRef());
  std::string result = ctx.op("ScatterElements", {x, index, updates}, scatter_attrs(axis, reduction));
  ctx.bind(n->output(), rank == 0 ? ctx.op("Reshape", {result, ctx.constant_ints({})}) : result);
}

// A reduction of `updates` into `x` at `index` along `axis` with torch's scatter_reduce /
// index_reduce semantics: sum, prod or mean; without include_self the written places start from
// the reduction's identity instead of x; mean divides by the number of values each place got
// (x's own counted when included), places that got none keep x.
std::string reduce_into(ConversionContext& ctx, const Node* n, const std::string& x, const std::string& index, const std::string& updates,
                        int64_t axis, const std::string& reduce, bool include_self) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  bool mean = reduce == "mean";
  if (mean && !at::isFloatingType(dtype)) ctx.fail("the mean reduction of integers (floor division) is not supported");
  std::string reduction = mean ? "add" : onnx_reduction(ctx, reduce);
  std::string start = x;
  if (!include_self) {
    std::string identity = ctx.op("Expand", {ctx.scalar(reduction == "mul" ? 1 : 0, dtype), ctx.op("Shape", {index})});
    start = ctx.op("ScatterElements", {x, index, identity}, scatter_attrs(axis, "none"));
  }
  std::string reduced = ctx.op("ScatterElements", {start, index, updates}, scatter_attrs(axis, reduction));
  if (!mean) return reduced;
  std::string ones = ctx.op("Expand", {ctx.scalar(1, dtype), ctx.op("Shape", {index})});
  std::string counted = ctx.op("ScatterElements", {ctx.op("Expand", {ctx.scalar(include_self ? 1 : 0, dtype), ctx.op("Shape", {x})}), index, ones},
                               scatter_attrs(axis, "add"));
  std::string got = ctx.op("Greater", {counted, ctx.scalar(0, dtype)});
  std::string divisor = ctx.op("Where", {got, counted, ctx.scalar(1, dtype)});
  std::string average = ctx.op("Div", {reduced, divisor});
  return ctx.op("Where", {got, average, x});
}

// aten::scatter_reduce(self, dim, index, src, reduce, include_self)
void scatter_reduce(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->input(0));
  if (rank == 0) ctx.fail("scatter_reduce of a 0-d tensor is not supported");
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), rank);
  std::string index = ctx.tensor_as(n->input(2), at::kLong);
  std::string updates = corner(ctx, ctx.tensor_as(n->input(3), dtype), index, rank);
  ctx.bind(n->output(), reduce_into(ctx, n, ctx.tensor(n->input(0)), index, updates, axis, ctx.constant(n->input(4))->toStringRef(),
                                    ctx.get_bool(n->input(5))));
}

// A 1-D `index` along `axis` widened to the shape of `like` (the source of index_add/copy/reduce).
std::string index_along(ConversionContext& ctx, const std::string& index, int64_t axis, int64_t rank, const std::string& like) {
  std::vector<int64_t> column(static_cast<size_t>(rank), 1);
  column[static_cast<size_t>(axis)] = -1;
  return ctx.op("Expand", {ctx.op("Reshape", {index, ctx.constant_ints(column)}), ctx.op("Shape", {like})});
}

struct IndexedWrite {
  std::string x, index, source;
  int64_t axis;
};

// self, dim, index and source of index_add/index_copy/index_reduce(self, dim, index, source, ...);
// a 0-d self and source act as 1-D.
IndexedWrite indexed_write(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->input(0));
  IndexedWrite w{ctx.tensor(n->input(0)), ctx.tensor_as(n->input(2), at::kLong), ctx.tensor_as(n->input(3), dtype), 0};
  if (rank == 0) {
    w.x = emit_flatten(ctx, w.x);
    w.source = emit_flatten(ctx, w.source);
  } else {
    w.axis = normalize_dim(ctx, ctx.get_int(n->input(1)), rank);
  }
  w.index = index_along(ctx, emit_flatten(ctx, w.index), w.axis, std::max<int64_t>(rank, 1), w.source);
  return w;
}

std::string restore_rank(ConversionContext& ctx, const Node* n, const std::string& result) {
  return ctx.rank(n->input(0)) == 0 ? ctx.op("Reshape", {result, ctx.constant_ints({})}) : result;
}

// aten::index_add(self, dim, index, source, alpha) and index_copy(self, dim, index, source)
void index_add_or_copy(ConversionContext& ctx, const Node* n, bool add) {
  IndexedWrite w = indexed_write(ctx, n);
  if (add && n->inputs().size() > 4 && ctx.get_double(n->input(4)) != 1.0) {
    w.source = ctx.op("Mul", {w.source, ctx.scalar(ctx.get_double(n->input(4)), ctx.scalar_type(n->output()))});
  }
  std::string result = ctx.op("ScatterElements", {w.x, w.index, w.source}, scatter_attrs(w.axis, add ? "add" : "none"));
  ctx.bind(n->output(), restore_rank(ctx, n, result));
}

// aten::index_reduce(self, dim, index, source, reduce, include_self)
void index_reduce(ConversionContext& ctx, const Node* n) {
  IndexedWrite w = indexed_write(ctx, n);
  std::string result = reduce_into(ctx, n, w.x, w.index, w.source, w.axis, ctx.constant(n->input(4))->toStringRef(), ctx.get_bool(n->input(5)));
  ctx.bind(n->output(), restore_rank(ctx, n, result));
}

// aten::index_fill(self, dim, index, value): the value written at every listed place along dim.
void index_fill(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = ctx.rank(n->input(0));
  std::string x = ctx.tensor(n->input(0));
  if (rank == 0) x = emit_flatten(ctx, x);
  int64_t axis = rank == 0 ? 0 : normalize_dim(ctx, ctx.get_int(n->input(1)), rank);
  std::string index = emit_flatten(ctx, ctx.tensor_as(n->input(2), at::kLong));
  std::string shape = ctx.op("Shape", {x});
  std::string written_shape = ctx.op("ScatterElements", {shape, ctx.constant_ints({axis}), ctx.op("Shape", {index})}, {{"axis", int64_t{0}}});
  std::string value = ctx.op("Reshape", {ctx.tensor_as(n->input(3), dtype), ctx.constant_ints({})});
  std::string values = ctx.op("Expand", {value, written_shape});
  std::vector<int64_t> column(static_cast<size_t>(std::max<int64_t>(rank, 1)), 1);
  column[static_cast<size_t>(axis)] = -1;
  std::string positions = ctx.op("Expand", {ctx.op("Reshape", {index, ctx.constant_ints(column)}), written_shape});
  ctx.bind(n->output(), restore_rank(ctx, n, ctx.op("ScatterElements", {x, positions, values}, {{"axis", axis}})));
}

// `a` and `b` expanded to their common shape.
std::pair<std::string, std::string> broadcast_pair(ConversionContext& ctx, const std::string& a, const std::string& b) {
  std::string a_wide = ctx.op("Expand", {a, ctx.op("Shape", {b})});
  return {a_wide, ctx.op("Expand", {b, ctx.op("Shape", {a_wide})})};
}

// aten::masked_select(self, mask): the elements where the broadcast mask holds, flattened.
void masked_select(ConversionContext& ctx, const Node* n) {
  auto [x, mask] = broadcast_pair(ctx, ctx.tensor(n->input(0)), ctx.tensor_as(n->input(1), at::kBool));
  ctx.bind(n->output(), ctx.op("Compress", {emit_flatten(ctx, x), emit_flatten(ctx, mask)}, {{"axis", int64_t{0}}}));
}

// aten::masked_scatter(self, mask, source): where the mask (broadcast to self) holds, the next
// element of source in order; elsewhere self.
void masked_scatter(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = ctx.tensor(n->input(0));
  std::string mask = emit_flatten(ctx, ctx.op("Expand", {ctx.tensor_as(n->input(1), at::kBool), ctx.op("Shape", {x})}));
  std::string order = ctx.op("Sub", {ctx.op("CumSum", {ctx.cast(mask, at::kLong), ctx.scalar(0, at::kLong)}), ctx.scalar(1, at::kLong)});
  order = ctx.op("Max", {order, ctx.scalar(0, at::kLong)});
  std::string source = emit_flatten(ctx, ctx.tensor_as(n->input(2), dtype));
  // An all-false mask may come with an empty source: one padding element keeps the Gather valid.
  source = ctx.op("Concat", {source, ctx.constant(at::zeros({1}, at::TensorOptions().dtype(dtype)))}, {{"axis", int64_t{0}}});
  std::string picked = ctx.op("Gather", {source, order}, {{"axis", int64_t{0}}});
  std::string merged = ctx.op("Where", {mask, picked, emit_flatten(ctx, x)});
  ctx.bind(n->output(), ctx.op("Reshape", {merged, ctx.op("Shape", {x})}));
}

// aten::take(self, index): elements of the flattened tensor, in index's shape.
void take(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), ctx.op("Gather", {emit_flatten(ctx, ctx.tensor(n->input(0))), ctx.tensor_as(n->input(1), at::kLong)}, {{"axis", int64_t{0}}}));
}

// aten::take_along_dim(self, indices, dim?): GatherElements with self and indices broadcast over
// every other dim; without dim, of the flattened tensors.
void take_along_dim(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor(n->input(0)), index = ctx.tensor_as(n->input(1), at::kLong);
  if (ctx.is_none(n->input(2))) {
    return ctx.bind(n->output(), ctx.op("GatherElements", {emit_flatten(ctx, x), emit_flatten(ctx, index)}, {{"axis", int64_t{0}}}));
  }
  int64_t rank = ctx.rank(n->input(0));
  if (ctx.rank(n->input(1)) != rank) ctx.fail("self and indices must have the same number of dims");
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), rank);
  auto others_of = [&](const std::string& t) {  // t's shape with 1 at axis
    return ctx.op("ScatterElements", {ctx.op("Shape", {t}), ctx.constant_ints({axis}), ctx.constant_ints({1})}, {{"axis", int64_t{0}}});
  };
  std::string wide_x = ctx.op("Expand", {x, others_of(index)}), wide_index = ctx.op("Expand", {index, others_of(x)});
  ctx.bind(n->output(), ctx.op("GatherElements", {wide_x, wide_index}, {{"axis", axis}}));
}

// Whether strides lay out sizes densely in row-major order (a dim of size 1 may have any stride).
bool row_major(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
  std::vector<int64_t> dense = c10::TensorType::contiguousStridesOf(sizes);
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] > 1 && strides[d] != dense[d]) return false;
  }
  return true;
}

// The storage positions that as_strided(size, stride, storage_offset?) reads, arguments from
// input `first` on, in the result's shape. That storage is self's own elements in order only
// when the trace saw self contiguous, which is required.
at::Tensor strided_positions(ConversionContext& ctx, const Node* n, size_t first) {
  auto type = n->input(0)->type()->cast<c10::TensorType>();
  auto sizes = ctx.sizes(n->input(0));
  c10::optional<std::vector<int64_t>> strides;
  if (type) strides = type->strides().concrete_sizes();
  if (!sizes || !strides || !row_major(*sizes, *strides)) {
    ctx.fail("needs an input the trace saw contiguous, with static sizes");
  }
  std::vector<int64_t> size = ctx.get_ints(n->input(first)), stride = ctx.get_ints(n->input(first + 1));
  if (size.size() != stride.size()) ctx.fail("size and stride differ in length");
  const Value* offset = n->input(first + 2);
  at::Tensor positions = at::scalar_tensor(ctx.is_none(offset) ? 0 : ctx.get_int(offset), at::kLong);
  for (size_t d = 0; d < size.size(); ++d) {
    std::vector<int64_t> column(size.size(), 1);
    column[d] = size[d];
    positions = positions + at::arange(size[d], at::kLong).mul(stride[d]).reshape(column);
  }
  return positions.contiguous();
}

// aten::as_strided(self, size, stride, storage_offset?): a Gather of the flattened tensor.
void as_strided(ConversionContext& ctx, const Node* n) {
  at::Tensor positions = strided_positions(ctx, n, 1);
  ctx.bind(n->output(), ctx.op("Gather", {emit_flatten(ctx, ctx.tensor(n->input(0))), ctx.constant(positions)}, {{"axis", int64_t{0}}}));
}

// aten::as_strided_scatter(self, src, size, stride, storage_offset?): src written where
// as_strided would read.
void as_strided_scatter(ConversionContext& ctx, const Node* n) {
  at::Tensor positions = strided_positions(ctx, n, 2).reshape({-1});
  std::string x = ctx.tensor(n->input(0));
  std::string src = emit_flatten(ctx, ctx.tensor_as(n->input(1), ctx.scalar_type(n->output())));
  std::string written = ctx.op("ScatterElements", {emit_flatten(ctx, x), ctx.constant(positions), src}, {{"axis", int64_t{0}}});
  ctx.bind(n->output(), ctx.op("Reshape", {written, ctx.op("Shape", {x})}));
}

// aten::put(self, index, source, accumulate): source written (or added) at flat positions.
void put(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = ctx.tensor(n->input(0));
  std::string written = ctx.op("ScatterElements", {emit_flatten(ctx, x), emit_flatten(ctx, ctx.tensor_as(n->input(1), at::kLong)),
                                                   emit_flatten(ctx, ctx.tensor_as(n->input(2), dtype))},
                               scatter_attrs(0, ctx.get_bool(n->input(3)) ? "add" : "none"));
  ctx.bind(n->output(), ctx.op("Reshape", {written, ctx.op("Shape", {x})}));
}

// aten::nonzero / argwhere(self): one row of coordinates per nonzero element (of no coordinates
// for a scalar: [1, 0] or [0, 0]).
void nonzero(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor(n->input(0));
  bool scalar = ctx.rank(n->input(0)) == 0;
  if (scalar) x = ctx.op("Reshape", {x, ctx.constant_ints({1})});
  std::string rows = ctx.op("Transpose", {ctx.op("NonZero", {x})}, {{"perm", std::vector<int64_t>{1, 0}}});
  if (scalar) rows = ctx.op("Slice", {rows, ctx.constant_ints({0}), ctx.constant_ints({0}), ctx.constant_ints({1})});
  ctx.bind(n->output(), rows);
}

}  // namespace

void register_scatter_ops(ConverterRegistry& r) {
  r.add("aten::scatter", [](ConversionContext& ctx, const Node* n) { scatter(ctx, n, "none"); });
  r.add("aten::scatter_add", [](ConversionContext& ctx, const Node* n) { scatter(ctx, n, "add"); });
  r.add("aten::scatter_reduce", scatter_reduce);
  r.add("aten::index_add", [](ConversionContext& ctx, const Node* n) { index_add_or_copy(ctx, n, true); });
  r.add("aten::index_copy", [](ConversionContext& ctx, const Node* n) { index_add_or_copy(ctx, n, false); });
  r.add("aten::index_reduce", index_reduce);
  r.add("aten::index_fill", index_fill);
  r.add("aten::masked_select", masked_select);
  r.add("aten::masked_scatter", masked_scatter);
  r.add("aten::take", take);
  r.add("aten::take_along_dim", take_along_dim);
  r.add("aten::put", put);
  r.add("aten::as_strided", as_strided);
  r.add("aten::as_strided_scatter", as_strided_scatter);
  r.add("aten::nonzero", nonzero);
  r.add("aten::argwhere", nonzero);
}

}  // namespace htp::exporter
