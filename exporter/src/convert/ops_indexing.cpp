// Indexing and slicing: slice/select/narrow, advanced indexing, gather, masked_fill/where,
// expand/repeat, split/chunk/unbind, embedding lookup and roll.
#include "convert/registry.h"

#include <limits>
#include <optional>
#include <numeric>

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

// aten::slice(self, dim, start?, end?, step)
void slice_op(ConversionContext& ctx, const Node* n) {
  constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  bool whole = (ctx.is_none(n->input(2)) || (ctx.constant(n->input(2)) && ctx.get_int(n->input(2)) == 0)) &&
               (ctx.is_none(n->input(3)) || (ctx.constant(n->input(3)) && ctx.get_int(n->input(3)) == kEnd)) &&
               ctx.get_int(n->input(4)) == 1;
  if (whole) return ctx.bind(n->output(), ctx.tensor(n->input(0)));  // x[:] in a trace
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

// aten::index(self, indices): one integer index tensor at any dim (Gather); a boolean mask over
// the leading dims (GatherND of its nonzero positions); or integer tensors for each leading dim
// (broadcast, then GatherND).
void index(ConversionContext& ctx, const Node* n) {
  auto indices = ctx.list_elements(n->input(1));
  std::vector<size_t> given;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (!ctx.is_none(indices[i])) given.push_back(i);
  }
  std::string x = ctx.tensor(n->input(0));
  if (given.size() == 1 && ctx.scalar_type(indices[given[0]]) != at::kBool) {
    ctx.bind(n->output(), ctx.op("Gather", {x, ctx.tensor_as(indices[given[0]], at::kLong)}, {{"axis", int64_t(given[0])}}));
    return;
  }
  if (given.size() == 1 && given[0] == 0) {  // x[mask]
    std::string positions = ctx.op("Transpose", {ctx.op("NonZero", {ctx.tensor(indices[0])})}, {{"perm", std::vector<int64_t>{1, 0}}});
    ctx.bind(n->output(), ctx.op("GatherND", {x, positions}));
    return;
  }
  for (size_t i = 0; i < given.size(); ++i) {
    if (given[i] != i || ctx.scalar_type(indices[i]) == at::kBool) ctx.fail("this combination of index tensors is not supported");
  }
  // Broadcast the index tensors against each other, then stack them on a new last axis.
  std::vector<std::string> parts;
  for (size_t i : given) parts.push_back(ctx.tensor_as(indices[i], at::kLong));
  std::string sum = parts[0];  // its shape is the broadcast shape of all index tensors
  for (size_t i = 1; i < parts.size(); ++i) sum = ctx.op("Add", {sum, parts[i]});
  std::string shape = ctx.op("Shape", {sum});
  std::string last = ctx.constant_ints({-1});
  for (auto& part : parts) part = ctx.op("Unsqueeze", {ctx.op("Expand", {part, shape}), last});
  ctx.bind(n->output(), ctx.op("GatherND", {x, ctx.op("Concat", parts, {{"axis", int64_t{-1}}})}));
}

// aten::where(condition, self, other) and aten::masked_fill(self, mask, value)
void where(ConversionContext& ctx, const Node* n) {
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

// aten::repeat(self, repeats): more repeats than dims adds leading dims first.
void repeat(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor(n->input(0));
  int64_t rank = ctx.rank(n->input(0));
  int64_t count = static_cast<int64_t>(ctx.list_length(n->input(1)));
  if (count > rank) {
    std::vector<int64_t> axes(static_cast<size_t>(count - rank));
    std::iota(axes.begin(), axes.end(), 0);
    x = ctx.op("Unsqueeze", {x, ctx.constant_ints(axes)});
  }
  ctx.bind(n->output(), ctx.op("Tile", {x, ctx.ints_tensor(n->input(1))}));
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

// The size of dim `axis` of v at run time, as a 1-element int64 tensor.
std::string runtime_size(ConversionContext& ctx, const Value* v, int64_t axis) {
  return ctx.op("Gather", {ctx.op("Shape", {ctx.tensor(v)}), ctx.constant_ints({axis})}, {{"axis", int64_t{0}}});
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
  std::string total = runtime_size(ctx, n->input(0), axis);
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
  std::string size = runtime_size(ctx, n->input(0), axis);
  std::string rounded_up = ctx.op("Sub", {ctx.op("Add", {size, chunks}), ctx.constant_ints({1})});
  bind_runtime_even_split(ctx, n, axis, ctx.op("Div", {rounded_up, chunks}));
}

void unbind(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  int64_t total = static_size(ctx, n->input(0), axis);
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

// aten::roll(self, shifts, dims): per dim, the last `shift` elements move to the front.
void roll(ConversionContext& ctx, const Node* n) {
  std::vector<int64_t> shifts = ctx.get_ints(n->input(1)), dims = ctx.get_ints(n->input(2));
  if (dims.size() != shifts.size()) ctx.fail("roll without dims is not supported");
  std::string x = ctx.tensor(n->input(0));
  int64_t rank = ctx.rank(n->input(0));
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t axis = normalize_dim(ctx, dims[i], rank), size = static_size(ctx, n->input(0), axis);
    int64_t shift = ((shifts[i] % size) + size) % size;
    if (shift == 0) continue;
    std::string step = ctx.constant_ints({1});
    std::string tail = slice(ctx, x, axis, ctx.constant_ints({size - shift}), ctx.constant_ints({size}), step);
    std::string head = slice(ctx, x, axis, ctx.constant_ints({0}), ctx.constant_ints({size - shift}), step);
    x = ctx.op("Concat", {tail, head}, {{"axis", axis}});
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
  r.add("aten::where", where);
  r.add("aten::masked_fill", masked_fill);
  r.add("aten::expand", expand);
  r.add("aten::expand_as", expand_as);
  r.add("aten::broadcast_tensors", broadcast_tensors);
  r.add("aten::repeat", repeat);
  r.add("aten::split", split);
  r.add("aten::split_with_sizes", split);
  r.add("aten::unsafe_split", split);
  r.add("aten::unsafe_split_with_sizes", split);
  r.add("aten::chunk", chunk);
  r.add("aten::unbind", unbind);
  r.add("aten::embedding", embedding);
  r.add("aten::roll", roll);
}

}  // namespace htp::exporter
