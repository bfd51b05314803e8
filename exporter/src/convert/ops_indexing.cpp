// Indexing and slicing: slice/select/narrow, advanced indexing, gather, masked_fill/where,
// expand/repeat, split/chunk/unbind, embedding lookup and roll; and the write forms of slice,
// select and index (slice_scatter, select_scatter, index_put), which in-place writes through
// views become.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// A 1-element int64 tensor from an optional int argument (constant or computed at run time).
std::string one_int(ConversionContext& ctx, const Value* v, int64_t if_none) {
  if (ctx.is_none(v)) return ctx.constant_ints({if_none});
  if (ctx.constant(v)) return ctx.constant_ints({ctx.get_int(v)});
  return ctx.op("Unsqueeze", {ctx.tensor_as(v, at::kLong), ctx.constant_ints({0})});
}

std::string slice(ConversionContext& ctx, const std::string& x, int64_t axis, const std::string& start, const std::string& end,
                  const std::string& step) {
  return ctx.op("Slice", {x, start, end, ctx.constant_ints({axis}), step});
}

constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();

// start:end:step covers the whole dim (x[:] in a trace).
bool whole_slice(const ConversionContext& ctx, const Value* start, const Value* end, const Value* step) {
  return (ctx.is_none(start) || (ctx.constant(start) && ctx.get_int(start) == 0)) &&
         (ctx.is_none(end) || (ctx.constant(end) && ctx.get_int(end) == kEnd)) && ctx.constant(step) && ctx.get_int(step) == 1;
}

// aten::slice(self, dim, start?, end?, step)
void slice_op(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  if (whole_slice(ctx, n->input(2), n->input(3), n->input(4))) return ctx.bind(n->output(), ctx.tensor(n->input(0)));
  ctx.bind(n->output(), slice(ctx, ctx.tensor(n->input(0)), axis, one_int(ctx, n->input(2), 0), one_int(ctx, n->input(3), kEnd),
                              one_int(ctx, n->input(4), 1)));
}

// aten::narrow(self, dim, start, length)
void narrow(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  std::string start = one_int(ctx, n->input(2), 0);
  std::string end = ctx.op("Add", {start, one_int(ctx, n->input(3), 0)});
  ctx.bind(n->output(), slice(ctx, ctx.tensor(n->input(0)), axis, start, end, ctx.constant_ints({1})));
}

// aten::select(self, dim, index): a scalar index removes the dim, like Gather with a 0-d index.
void select(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  ctx.bind(n->output(), ctx.op("Gather", {ctx.tensor(n->input(0)), ctx.tensor_as(n->input(2), at::kLong)}, {{"axis", axis}}));
}

void index_select(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  ctx.bind(n->output(), ctx.op("Gather", {ctx.tensor(n->input(0)), ctx.tensor_as(n->input(2), at::kLong)}, {{"axis", axis}}));
}

// aten::gather(self, dim, index, sparse_grad)
void gather(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  ctx.bind(n->output(), ctx.op("GatherElements", {ctx.tensor(n->input(0)), ctx.tensor_as(n->input(2), at::kLong)}, {{"axis", axis}}));
}

// Integer index tensors broadcast against each other and stacked on a new last axis: the indices
// of GatherND / ScatterND.
std::string stacked_indices(ConversionContext& ctx, std::vector<std::string> parts) {
  std::string sum = parts[0];  // its shape is the broadcast shape of all index tensors
  for (size_t i = 1; i < parts.size(); ++i) sum = ctx.op("Add", {sum, parts[i]});
  std::string shape = ctx.op("Shape", {sum});
  std::string last = ctx.constant_ints({-1});
  for (auto& part : parts) part = ctx.op("Unsqueeze", {ctx.op("Expand", {part, shape}), last});
  return ctx.op("Concat", parts, {{"axis", int64_t{-1}}});
}

// One entry of the `Tensor?[] indices` of aten::index and aten::index_put: None (a whole dim) or
// a tensor, listed in the graph or folded into a constant list.
struct IndexTensor {
  std::string name;
  at::ScalarType dtype;
  int64_t rank;
  bool is_mask() const { return dtype == at::kBool || dtype == at::kByte; }
};

std::vector<std::optional<IndexTensor>> index_tensors(ConversionContext& ctx, const Value* list) {
  std::vector<std::optional<IndexTensor>> indices;
  if (auto known = ctx.constant(list)) {
    for (const c10::IValue& item : known->toListRef()) {
      if (item.isNone()) {
        indices.emplace_back();
      } else {
        indices.push_back(IndexTensor{ctx.constant(item.toTensor()), item.toTensor().scalar_type(), item.toTensor().dim()});
      }
    }
    return indices;
  }
  for (const Value* v : ctx.list_elements(list)) {
    if (ctx.is_none(v)) {
      indices.emplace_back();
    } else {
      indices.push_back(IndexTensor{ctx.tensor(v), ctx.scalar_type(v), ctx.rank(v)});
    }
  }
  return indices;
}

std::vector<size_t> given_indices(const std::vector<std::optional<IndexTensor>>& indices) {
  std::vector<size_t> given;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i]) given.push_back(i);
  }
  return given;
}

std::string as_long(ConversionContext& ctx, const IndexTensor& index) {
  return index.dtype == at::kLong ? index.name : ctx.cast(index.name, at::kLong);
}

// aten::index(self, indices): one integer index tensor at any dim (Gather); a boolean mask over
// the leading dims (GatherND of its nonzero positions); or integer tensors for each leading dim
// (broadcast, then GatherND).
void index(ConversionContext& ctx, const Node* n) {
  auto indices = index_tensors(ctx, n->input(1));
  std::vector<size_t> given = given_indices(indices);
  std::string x = ctx.tensor(n->input(0));
  if (given.size() == 1 && !indices[given[0]]->is_mask()) {
    ctx.bind(n->output(), ctx.op("Gather", {x, as_long(ctx, *indices[given[0]])}, {{"axis", int64_t(given[0])}}));
    return;
  }
  if (given.size() == 1 && given[0] == 0) {  // x[mask]
    std::string positions = ctx.op("Transpose", {ctx.op("NonZero", {indices[0]->name})}, {{"perm", std::vector<int64_t>{1, 0}}});
    ctx.bind(n->output(), ctx.op("GatherND", {x, positions}));
    return;
  }
  for (size_t i = 0; i < given.size(); ++i) {
    if (given[i] != i || indices[i]->is_mask()) ctx.fail("this combination of index tensors is not supported");
  }
  std::vector<std::string> parts;
  for (size_t i : given) parts.push_back(as_long(ctx, *indices[i]));
  ctx.bind(n->output(), ctx.op("GatherND", {x, stacked_indices(ctx, parts)}));
}

// Where a slice of `x` along `axis` starts, normalized like aten::slice (None is 0, a negative
// start counts from the end, clamped to [0, size]), when that is known before the run.
std::optional<int64_t> known_start(const ConversionContext& ctx, const Value* x, int64_t axis, const Value* start) {
  if (ctx.is_none(start)) return 0;
  auto sizes = ctx.sizes(x);
  if (!ctx.constant(start) || !sizes) return std::nullopt;
  int64_t size = (*sizes)[static_cast<size_t>(axis)], at = ctx.get_int(start);
  return std::clamp<int64_t>(at < 0 ? at + size : at, 0, size);
}

// The same start computed in the graph: a 1-element int64 tensor.
std::string slice_start(ConversionContext& ctx, const Value* x, int64_t axis, const Value* start) {
  if (auto known = known_start(ctx, x, axis, start)) return ctx.constant_ints({*known});
  std::string size = emit_dim_size(ctx, ctx.tensor(x), axis);
  std::string at = one_int(ctx, start, 0), zero = ctx.constant_ints({0});
  at = ctx.op("Where", {ctx.op("Less", {at, zero}), ctx.op("Add", {at, size}), at});
  return ctx.op("Max", {zero, ctx.op("Min", {at, size})});
}

// Where a slice puts its elements along one axis: from `start` by `step` (null: 1), `count`
// of them (unknown: as many as the source has there).
struct SliceSpan {
  const Value* start;
  const Value* step;
  std::optional<int64_t> count;
};

// `x` with `src` (x's rank) written over the span along `axis`: ScatterElements with the
// positions broadcast to src's shape.
std::string scatter_slice(ConversionContext& ctx, const Value* x, const std::string& src, int64_t axis, const SliceSpan& span) {
  std::vector<int64_t> column(static_cast<size_t>(ctx.rank(x)), 1);
  column[static_cast<size_t>(axis)] = -1;
  std::optional<int64_t> start = known_start(ctx, x, axis, span.start);
  std::optional<int64_t> step = !span.step ? 1 : ctx.constant(span.step) ? std::optional<int64_t>(ctx.get_int(span.step)) : std::nullopt;
  std::string positions;
  if (span.count && start && step) {
    std::vector<int64_t> values;
    for (int64_t i = 0; i < *span.count; ++i) values.push_back(*start + i * *step);
    positions = ctx.constant(at::tensor(values, at::kLong).reshape(column));
  } else {
    std::string length = emit_dim_size(ctx, src, axis);
    std::string offsets = ctx.op("Range", {ctx.scalar(0, at::kLong), ctx.op("Squeeze", {length}), ctx.scalar(1, at::kLong)});
    offsets = ctx.op("Mul", {offsets, step ? ctx.constant_ints({*step}) : one_int(ctx, span.step, 1)});
    positions = ctx.op("Reshape", {ctx.op("Add", {offsets, slice_start(ctx, x, axis, span.start)}), ctx.constant_ints(column)});
  }
  positions = ctx.op("Expand", {positions, ctx.op("Shape", {src})});
  return ctx.op("ScatterElements", {ctx.tensor(x), positions, src}, {{"axis", axis}});
}

// aten::slice_scatter(self, src, dim, start?, end?, step): self with src written over
// self[start:end:step] along dim.
void slice_scatter(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  std::string src = ctx.tensor_as(n->input(1), ctx.scalar_type(n->output()));
  if (whole_slice(ctx, n->input(3), n->input(4), n->input(5))) return ctx.bind(n->output(), src);
  std::optional<int64_t> count;
  if (auto sizes = ctx.sizes(n->input(1))) count = (*sizes)[static_cast<size_t>(axis)];
  ctx.bind(n->output(), scatter_slice(ctx, n->input(0), src, axis, {n->input(3), n->input(5), count}));
}

// aten::select_scatter(self, src, dim, index): self with src written over self.select(dim, index).
void select_scatter(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  std::string src = ctx.op("Unsqueeze", {ctx.tensor_as(n->input(1), ctx.scalar_type(n->output())), ctx.constant_ints({axis})});
  ctx.bind(n->output(), scatter_slice(ctx, n->input(0), src, axis, {n->input(3), nullptr, 1}));
}

// [first, first + count) moved in front of the other dims of a rank-`rank` tensor.
std::vector<int64_t> to_front(int64_t first, int64_t count, int64_t rank) {
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  std::iota(perm.begin(), perm.begin() + count, first);
  std::iota(perm.begin() + count, perm.begin() + count + first, 0);
  std::iota(perm.begin() + count + first, perm.end(), first + count);
  return perm;
}

bool holds_one_element(const ConversionContext& ctx, const Value* v) {
  auto sizes = ctx.sizes(v);
  return ctx.rank(v) == 0 || (sizes && std::all_of(sizes->begin(), sizes->end(), [](int64_t d) { return d == 1; }));
}

// x[mask] = values over the leading dims of x: one value is a Where; several go, in order, to
// the positions where the mask is true.
std::string put_by_mask(ConversionContext& ctx, const Node* n, const IndexTensor& mask, const std::string& values, bool accumulate) {
  std::string x = ctx.tensor(n->input(0)), m = mask.dtype == at::kBool ? mask.name : ctx.cast(mask.name, at::kBool);
  int64_t rank = ctx.rank(n->input(0)), mask_rank = mask.rank;
  if (holds_one_element(ctx, n->input(2))) {
    if (mask_rank < rank) {
      std::vector<int64_t> trailing(static_cast<size_t>(rank - mask_rank));
      std::iota(trailing.begin(), trailing.end(), mask_rank);
      m = ctx.op("Unsqueeze", {m, ctx.constant_ints(trailing)});
    }
    std::string value = ctx.op("Reshape", {values, ctx.constant_ints({})});
    if (!accumulate) return ctx.op("Where", {m, value, x});
    return ctx.op("Add", {x, ctx.op("Where", {m, value, ctx.scalar(0, ctx.scalar_type(n->output()))})});
  }
  std::string positions = ctx.op("Transpose", {ctx.op("NonZero", {m})}, {{"perm", std::vector<int64_t>{1, 0}}});
  std::string shape = ctx.op("Concat", {ctx.op("Slice", {ctx.op("Shape", {positions}), ctx.constant_ints({0}), ctx.constant_ints({1})}),
                                        ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constant_ints({mask_rank}), ctx.constant_ints({kEnd})})},
                             {{"axis", int64_t{0}}});
  std::vector<Attr> reduction;
  if (accumulate) reduction.push_back({"reduction", std::string("add")});
  return ctx.op("ScatterND", {x, positions, ctx.op("Expand", {values, shape})}, reduction);
}

// aten::index_put(self, indices, values, accumulate): the write form of aten::index. A boolean
// mask over the leading dims, or integer index tensors at adjacent dims (broadcast against each
// other; negative counts from the end), pick what `values` (broadcast to what x[indices] would
// be) replaces, or is added to with accumulate=True: ScatterND, after moving the indexed dims to
// the front.
void index_put(ConversionContext& ctx, const Node* n) {
  auto indices = index_tensors(ctx, n->input(1));
  std::vector<size_t> given = given_indices(indices);
  if (given.empty()) ctx.fail("expected at least one index tensor");
  std::string values = ctx.tensor_as(n->input(2), ctx.scalar_type(n->output()));
  bool accumulate = ctx.get_bool(n->input(3));
  if (given.size() == 1 && indices[given[0]]->is_mask()) {
    if (given[0] != 0) ctx.fail("a boolean mask after sliced dims is not supported");
    return ctx.bind(n->output(), put_by_mask(ctx, n, *indices[0], values, accumulate));
  }
  int64_t first = static_cast<int64_t>(given[0]), count = static_cast<int64_t>(given.size());
  int64_t rank = ctx.rank(n->input(0)), index_rank = 0;
  std::string x = ctx.tensor(n->input(0)), shape = ctx.op("Shape", {x});
  std::vector<std::string> parts;
  for (size_t i = 0; i < given.size(); ++i) {
    const IndexTensor& tensor = *indices[given[i]];
    if (given[i] != given[0] + i || tensor.is_mask()) ctx.fail("index tensors at non-adjacent dims or mixed with a mask are not supported");
    index_rank = std::max(index_rank, tensor.rank);
    std::string index = as_long(ctx, tensor);
    std::string size = ctx.op("Gather", {shape, ctx.constant_ints({first + static_cast<int64_t>(i)})});
    parts.push_back(ctx.op("Where", {ctx.op("Less", {index, ctx.scalar(0, at::kLong)}), ctx.op("Add", {index, size}), index}));
  }
  std::string stacked = stacked_indices(ctx, parts);
  auto dims = [&](const std::string& of, int64_t from, int64_t to) {
    return ctx.op("Slice", {of, ctx.constant_ints({from}), ctx.constant_ints({to})});
  };
  // What x[indices] would be: x's leading dims, the indices' broadcast shape, x's trailing dims.
  std::string picked = ctx.op("Concat", {dims(shape, 0, first), dims(ctx.op("Shape", {stacked}), 0, -1), dims(shape, first + count, kEnd)},
                              {{"axis", int64_t{0}}});
  std::string updates = ctx.op("Expand", {values, picked});
  std::vector<Attr> reduction;
  if (accumulate) reduction.push_back({"reduction", std::string("add")});
  if (first == 0) return ctx.bind(n->output(), ctx.op("ScatterND", {x, stacked, updates}, reduction));
  std::vector<int64_t> perm = to_front(first, count, rank);
  updates = ctx.op("Transpose", {updates}, {{"perm", to_front(first, index_rank, rank - count + index_rank)}});
  std::string scattered = ctx.op("ScatterND", {ctx.op("Transpose", {x}, {{"perm", perm}}), stacked, updates}, reduction);
  ctx.bind(n->output(), ctx.op("Transpose", {scattered}, {{"perm", inverse_permutation(perm)}}));
}

// aten::where(condition): the coordinates of its nonzero elements, one int64 tensor per dim
// (torch.nonzero(condition, as_tuple=True)).
void nonzero_coordinates(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  if (rank == 0) ctx.fail("where(condition) of a 0-d tensor is not supported");
  std::string coordinates = ctx.op("NonZero", {ctx.tensor(n->input(0))});
  auto rows = ctx.op("Split", {coordinates, ctx.constant_ints(std::vector<int64_t>(static_cast<size_t>(rank), 1))},
                     static_cast<size_t>(rank), {{"axis", int64_t{0}}});
  std::string first = ctx.constant_ints({0});
  for (auto& row : rows) row = ctx.op("Squeeze", {row, first});
  ctx.bind_list(n->output(), rows);
}

// aten::where(condition, self, other) and aten::masked_fill(self, mask, value)
void where(ConversionContext& ctx, const Node* n) {
  if (n->inputs().size() == 1) return nonzero_coordinates(ctx, n);
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), ctx.op("Where", {ctx.tensor_as(n->input(0), at::kBool), ctx.tensor_as(n->input(1), dtype),
                                         ctx.tensor_as(n->input(2), dtype)}));
}

void masked_fill(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), ctx.op("Where", {ctx.tensor_as(n->input(1), at::kBool), ctx.tensor_as(n->input(2), dtype),
                                         ctx.tensor(n->input(0))}));
}

// aten::expand(self, size, implicit): torch's -1 keeps a dim; ONNX Expand broadcasts both ways,
// so a 1 there does the same.
void expand(ConversionContext& ctx, const Node* n) {
  std::string shape = ctx.ints_tensor(n->input(1), [](int64_t d) { return d == -1 ? 1 : d; });
  ctx.bind(n->output(), ctx.op("Expand", {ctx.tensor(n->input(0)), shape}));
}

void expand_as(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), ctx.op("Expand", {ctx.tensor(n->input(0)), ctx.op("Shape", {ctx.tensor(n->input(1))})}));
}

// aten::broadcast_tensors(tensors): each tensor expanded to the common shape. Expand broadcasts
// both ways, so expanding the first by every shape in turn gives that shape, known at run time.
void broadcast_tensors(ConversionContext& ctx, const Node* n) {
  std::vector<std::string> tensors = ctx.tensor_list(n->input(0));
  std::string common = tensors.at(0);
  for (size_t i = 1; i < tensors.size(); ++i) common = ctx.op("Expand", {common, ctx.op("Shape", {tensors[i]})});
  std::string shape = ctx.op("Shape", {common});
  for (size_t i = 1; i < tensors.size(); ++i) tensors[i] = ctx.op("Expand", {tensors[i], shape});
  tensors[0] = common;
  ctx.bind_list(n->output(), tensors);
}

// aten::repeat(self, repeats): more repeats than dims adds leading dims first. aten::tile(self,
// dims) is the same, except that fewer dims than the rank repeat the trailing dims.
void repeat(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor(n->input(0));
  int64_t rank = ctx.rank(n->input(0));
  int64_t count = static_cast<int64_t>(ctx.list_length(n->input(1)));
  if (count > rank) {
    std::vector<int64_t> axes(static_cast<size_t>(count - rank));
    std::iota(axes.begin(), axes.end(), 0);
    x = ctx.op("Unsqueeze", {x, ctx.constant_ints(axes)});
  }
  std::string repeats = ctx.ints_tensor(n->input(1));
  if (count < rank) {
    if (n->kind() != c10::Symbol::fromQualString("aten::tile")) ctx.fail("fewer repeats than dims");
    std::vector<int64_t> ones(static_cast<size_t>(rank - count), 1);
    repeats = ctx.op("Concat", {ctx.constant_ints(ones), repeats}, {{"axis", int64_t{0}}});
  }
  ctx.bind(n->output(), ctx.op("Tile", {x, repeats}));
}

// Splits along `axis` into `count` pieces of the sizes in the 1-D int64 tensor `sizes` and binds
// them as the output list.
void bind_split(ConversionContext& ctx, const Node* n, int64_t axis, const std::string& sizes, size_t count) {
  ctx.bind_list(n->output(), ctx.op("Split", {ctx.tensor(n->input(0)), sizes}, count, {{"axis", axis}}));
}

void bind_static_split(ConversionContext& ctx, const Node* n, int64_t axis, const std::vector<int64_t>& sizes) {
  bind_split(ctx, n, axis, ctx.constant_ints(sizes), sizes.size());
}

std::optional<int64_t> known_size(const ConversionContext& ctx, const Value* v, int64_t axis) {
  auto sizes = ctx.sizes(v);
  if (!sizes) return std::nullopt;
  return (*sizes)[static_cast<size_t>(axis)];
}

int64_t static_size(const ConversionContext& ctx, const Value* v, int64_t axis) {
  auto size = known_size(ctx, v, axis);
  if (!size) ctx.fail("needs the static size of the split dimension");
  return *size;
}

// Pieces of `piece` elements, the last one smaller.
std::vector<int64_t> even_pieces(int64_t total, int64_t piece) {
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < total; start += piece) sizes.push_back(std::min(piece, total - start));
  return sizes;
}

// When the piece size is only known at run time (computed from sizes), so is the number of
// pieces; the trace fixed it where it unpacked the list into as many values as the example gave.
size_t unpacked_count(const ConversionContext& ctx, const Node* n) {
  const auto& uses = n->output()->uses();
  if (uses.size() == 1 && uses[0].user->kind() == c10::prim::ListUnpack) return uses[0].user->outputs().size();
  ctx.fail("the number of pieces depends on sizes computed at run time, and the list is not unpacked");
}

// Pieces of the run-time size `piece` (a 1-element int64 tensor), the last one taking the rest.
void bind_runtime_even_split(ConversionContext& ctx, const Node* n, int64_t axis, const std::string& piece) {
  size_t count = unpacked_count(ctx, n);
  std::string total = emit_dim_size(ctx, ctx.tensor(n->input(0)), axis);
  if (count == 1) return bind_split(ctx, n, axis, total, 1);
  auto leading = static_cast<int64_t>(count - 1);
  std::string rest = ctx.op("Sub", {total, ctx.op("Mul", {piece, ctx.constant_ints({leading})})});
  std::string sizes = ctx.op("Concat", {ctx.op("Expand", {piece, ctx.constant_ints({leading})}), rest}, {{"axis", int64_t{0}}});
  bind_split(ctx, n, axis, sizes, count);
}

// aten::split(self, split_size | split_sizes, dim), split_with_sizes and their unsafe_ forms.
// Sizes computed from x.size() at run time stay live.
void split(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  const Value* given = n->input(1);
  if (given->type()->kind() == c10::TypeKind::ListType) return bind_split(ctx, n, axis, ctx.ints_tensor(given), ctx.list_length(given));
  auto total = known_size(ctx, n->input(0), axis);
  if (ctx.constant(given) && total) return bind_static_split(ctx, n, axis, even_pieces(*total, ctx.get_int(given)));
  bind_runtime_even_split(ctx, n, axis, one_int(ctx, given, 0));
}

// aten::chunk(self, chunks, dim): pieces of ceil(size / chunks), the last one smaller.
void chunk(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  auto total = known_size(ctx, n->input(0), axis);
  if (ctx.constant(n->input(1)) && total) {
    int64_t chunks = ctx.get_int(n->input(1));
    return bind_static_split(ctx, n, axis, even_pieces(*total, (*total + chunks - 1) / chunks));
  }
  std::string chunks = one_int(ctx, n->input(1), 0);
  std::string size = emit_dim_size(ctx, ctx.tensor(n->input(0)), axis);
  std::string rounded_up = ctx.op("Sub", {ctx.op("Add", {size, chunks}), ctx.constant_ints({1})});
  bind_runtime_even_split(ctx, n, axis, ctx.op("Div", {rounded_up, chunks}));
}

// The pieces of the input between `bounds` (1-element int64 tensors) along `axis`: the first
// from 0, the last to the end. Slice wraps negative bounds and clamps them like torch's slice,
// and a bound below the one before gives an empty piece, as in torch.
void bind_bounded_pieces(ConversionContext& ctx, const Node* n, int64_t axis, const std::vector<std::string>& bounds) {
  std::string x = ctx.tensor(n->input(0)), step = ctx.constant_ints({1}), start = ctx.constant_ints({0});
  std::vector<std::string> pieces;
  for (const std::string& bound : bounds) {
    pieces.push_back(slice(ctx, x, axis, start, bound, step));
    start = bound;
  }
  pieces.push_back(slice(ctx, x, axis, start, ctx.constant_ints({kEnd}), step));
  ctx.bind_list(n->output(), pieces);
}

// aten::tensor_split / hsplit / vsplit / dsplit with `how` = a number of sections (the first
// size % sections pieces one longer), a list of indices, or a 1-D tensor of indices (bounds read
// at run time; its length fixes the number of pieces).
void split_at(ConversionContext& ctx, const Node* n, int64_t axis, const Value* how) {
  std::vector<std::string> bounds;
  auto known = ctx.constant(how);
  bool tensor = how->type()->kind() == c10::TypeKind::TensorType;
  if (tensor && !known && ctx.rank(how) == 1) {
    auto length = ctx.sizes(how);
    if (!length) ctx.fail("needs the static length of the index tensor");
    std::string indices = ctx.tensor_as(how, at::kLong);
    for (int64_t i = 0; i < (*length)[0]; ++i) bounds.push_back(slice(ctx, indices, 0, ctx.constant_ints({i}), ctx.constant_ints({i + 1}), ctx.constant_ints({1})));
    return bind_bounded_pieces(ctx, n, axis, bounds);
  }
  if (tensor && !known) ctx.fail("the number of sections is computed at run time");
  if (how->type()->kind() == c10::TypeKind::ListType && !known) {
    for (const Value* v : ctx.list_elements(how)) bounds.push_back(one_int(ctx, v, 0));
    return bind_bounded_pieces(ctx, n, axis, bounds);
  }
  std::vector<int64_t> values;
  bool sections;
  if (known->isTensor()) {
    at::Tensor t = known->toTensor().to(at::kLong).contiguous();
    values.assign(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
    sections = t.dim() == 0;
  } else {
    values = ctx.get_ints(how);
    sections = known->isInt();
  }
  if (sections) {
    int64_t count = values.at(0), size = static_size(ctx, n->input(0), axis);
    if (count <= 0) ctx.fail("the number of sections must be positive");
    values.clear();
    for (int64_t i = 1; i < count; ++i) values.push_back(i * (size / count) + std::min(i, size % count));
  }
  for (int64_t v : values) bounds.push_back(ctx.constant_ints({v}));
  bind_bounded_pieces(ctx, n, axis, bounds);
}

// aten::tensor_split(self, sections | indices | tensor_indices_or_sections, dim)
void tensor_split(ConversionContext& ctx, const Node* n) {
  split_at(ctx, n, normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0))), n->input(1));
}

// aten::hsplit (dim 1, or 0 for a vector), vsplit (dim 0), dsplit (dim 2)
Converter split_along(int64_t dim) {
  return [dim](ConversionContext& ctx, const Node* n) {
    int64_t rank = ctx.rank(n->input(0)), axis = dim == 1 && rank == 1 ? 0 : dim;
    if (rank <= axis || rank == 0) ctx.fail("needs a tensor of at least " + std::to_string(dim + 1) + " dims");
    split_at(ctx, n, axis, n->input(1));
  };
}

// aten::unbind(self, dim): when the dim's size is only known at run time, the list's unpacking
// fixes the count.
void unbind(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  auto known = known_size(ctx, n->input(0), axis);
  int64_t total = known ? *known : static_cast<int64_t>(unpacked_count(ctx, n));
  auto pieces = ctx.op("Split", {ctx.tensor(n->input(0)), ctx.constant_ints(std::vector<int64_t>(total, 1))},
                       static_cast<size_t>(total), {{"axis", axis}});
  std::string axes = ctx.constant_ints({axis});
  for (auto& piece : pieces) piece = ctx.op("Squeeze", {piece, axes});
  ctx.bind_list(n->output(), pieces);
}

// aten::embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse)
void embedding(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), ctx.op("Gather", {ctx.tensor(n->input(0)), ctx.tensor_as(n->input(1), at::kLong)}, {{"axis", int64_t{0}}}));
}

// `x` rolled by `shift` along `axis` of static length `size`: the last `shift` elements move to
// the front.
std::string roll_axis(ConversionContext& ctx, const std::string& x, int64_t axis, int64_t size, int64_t shift) {
  if (size == 0) return x;
  shift = ((shift % size) + size) % size;
  if (shift == 0) return x;
  std::string step = ctx.constant_ints({1});
  std::string tail = slice(ctx, x, axis, ctx.constant_ints({size - shift}), ctx.constant_ints({size}), step);
  std::string head = slice(ctx, x, axis, ctx.constant_ints({0}), ctx.constant_ints({size - shift}), step);
  return ctx.op("Concat", {tail, head}, {{"axis", axis}});
}

// aten::roll(self, shifts, dims): per dim; without dims, the flattened tensor rolls and keeps
// its shape.
void roll(ConversionContext& ctx, const Node* n) {
  std::vector<int64_t> shifts = ctx.get_ints(n->input(1)), dims = ctx.get_ints(n->input(2));
  std::string x = ctx.tensor(n->input(0));
  int64_t rank = ctx.rank(n->input(0));
  if (dims.empty()) {
    if (shifts.size() != 1) ctx.fail("roll without dims takes one shift");
    auto sizes = ctx.sizes(n->input(0));
    if (!sizes) ctx.fail("roll without dims needs static sizes");
    int64_t count = std::accumulate(sizes->begin(), sizes->end(), int64_t{1}, std::multiplies<>());
    std::string rolled = roll_axis(ctx, emit_flatten(ctx, x), 0, count, shifts[0]);
    return ctx.bind(n->output(), ctx.op("Reshape", {rolled, ctx.op("Shape", {x})}));
  }
  if (dims.size() != shifts.size()) ctx.fail("roll needs one shift per dim");
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t axis = normalize_dim(ctx, dims[i], rank);
    x = roll_axis(ctx, x, axis, static_size(ctx, n->input(0), axis), shifts[i]);
  }
  ctx.bind(n->output(), x);
}

}  // namespace

void register_indexing_ops(ConverterRegistry& r) {
  r.add("aten::slice", slice_op);
  r.add("aten::narrow", narrow);
  r.add("aten::select", select);
  r.add("aten::index_select", index_select);
  r.add("aten::gather", gather);
  r.add("aten::index", index);
  r.add("aten::slice_scatter", slice_scatter);
  r.add("aten::select_scatter", select_scatter);
  r.add("aten::index_put", index_put);
  r.add("aten::where", where);
  r.add("aten::masked_fill", masked_fill);
  r.add("aten::expand", expand);
  r.add("aten::expand_as", expand_as);
  r.add("aten::broadcast_tensors", broadcast_tensors);
  r.add("aten::repeat", repeat);
  r.add("aten::tile", repeat);
  r.add("aten::broadcast_to", expand);
  r.add("aten::narrow_copy", narrow);
  r.add("aten::split", split);
  r.add("aten::split_with_sizes", split);
  r.add("aten::unsafe_split", split);
  r.add("aten::unsafe_split_with_sizes", split);
  r.add("aten::chunk", chunk);
  r.add("aten::unsafe_chunk", chunk);  // what traced nn.LSTMCell/GRUCell record; the same values
  r.add("aten::unbind", unbind);
  r.add("aten::tensor_split", tensor_split);
  r.add("aten::hsplit", split_along(1));
  r.add("aten::vsplit", split_along(0));
  r.add("aten::dsplit", split_along(2));
  r.add("aten::embedding", embedding);
  r.add("aten::roll", roll);
}

}  // namespace htp::exporter
