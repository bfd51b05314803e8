// Ops that build a larger tensor out of smaller ones by repeating or combining their elements:
// meshgrid, cartesian_prod, combinations, repeat_interleave, unfold (sliding windows), block_diag,
// kron and vander.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <numeric>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// The grids of torch.meshgrid for 1-D (or 0-d) tensors: grid i has tensor i along dim i and is
// repeated along the others. "xy" indexing swaps the first two dims of every grid.
std::vector<std::string> mesh(ConversionContext& ctx, const std::vector<std::string>& tensors, bool xy) {
  auto count = static_cast<int64_t>(tensors.size());
  std::vector<std::string> flat, sizes;
  for (const auto& t : tensors) {
    flat.push_back(emit_flatten(ctx, t));
    sizes.push_back(ctx.op("Shape", {flat.back()}));
  }
  auto place = [&](int64_t i) { return xy && count > 1 && i < 2 ? 1 - i : i; };
  std::vector<std::string> ordered(sizes.size());
  for (int64_t i = 0; i < count; ++i) ordered[static_cast<size_t>(place(i))] = sizes[static_cast<size_t>(i)];
  std::string shape = ctx.op("Concat", ordered, {{"axis", int64_t{0}}});
  std::vector<std::string> grids;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<int64_t> column(static_cast<size_t>(count), 1);
    column[static_cast<size_t>(place(i))] = -1;
    grids.push_back(ctx.op("Expand", {ctx.op("Reshape", {flat[static_cast<size_t>(i)], ctx.constant_ints(column)}), shape}));
  }
  return grids;
}

// Every input cast to the dtype of the op's first output.
std::vector<std::string> list_as_output_dtype(ConversionContext& ctx, const Node* n, const Value* list) {
  at::ScalarType dtype = ctx.scalar_type(n->outputs().at(0));
  std::vector<std::string> tensors;
  for (const Value* v : ctx.list_elements(list)) tensors.push_back(ctx.tensor_as(v, dtype));
  return tensors;
}

// aten::meshgrid(tensors[, indexing])
void meshgrid(ConversionContext& ctx, const Node* n) {
  std::vector<std::string> tensors;
  for (const Value* v : ctx.list_elements(n->input(0))) tensors.push_back(ctx.tensor(v));
  bool xy = n->inputs().size() > 1 && ctx.constant(n->input(1))->toStringRef() == "xy";
  ctx.bind_list(n->output(), mesh(ctx, tensors, xy));
}

// aten::cartesian_prod(tensors): the meshgrid's grids flattened, as columns; one tensor is itself.
void cartesian_prod(ConversionContext& ctx, const Node* n) {
  auto tensors = list_as_output_dtype(ctx, n, n->input(0));
  if (tensors.size() == 1) return ctx.bind(n->output(), tensors[0]);
  std::vector<std::string> columns;
  for (const auto& grid : mesh(ctx, tensors, false)) columns.push_back(ctx.op("Reshape", {grid, ctx.constant_ints({-1, 1})}));
  ctx.bind(n->output(), ctx.op("Concat", columns, {{"axis", int64_t{1}}}));
}

// Index tuples of the r-combinations of n elements in lexicographic order, as torch lists them.
void combinations_of(int64_t n, int64_t r, bool with_replacement, std::vector<int64_t>& current, std::vector<int64_t>& out) {
  if (static_cast<int64_t>(current.size()) == r) {
    out.insert(out.end(), current.begin(), current.end());
    return;
  }
  int64_t from = current.empty() ? 0 : current.back() + (with_replacement ? 0 : 1);
  for (int64_t i = from; i < n; ++i) {
    current.push_back(i);
    combinations_of(n, r, with_replacement, current, out);
    current.pop_back();
  }
}

// aten::combinations(self, r, with_replacement) of a 1-D tensor: a Gather of the index tuples.
void combinations(ConversionContext& ctx, const Node* n) {
  auto sizes = ctx.sizes(n->input(0));
  if (!sizes || sizes->size() != 1) ctx.fail("needs a 1-D tensor of static size");
  int64_t r = ctx.get_int(n->input(1));
  if (r < 0) ctx.fail("r must be non-negative");
  if (r == 0) return ctx.bind(n->output(), ctx.constant(at::empty({0}, at::TensorOptions().dtype(ctx.scalar_type(n->output())))));
  std::vector<int64_t> current, indices;
  combinations_of((*sizes)[0], r, ctx.get_bool(n->input(2)), current, indices);
  at::Tensor table = at::tensor(indices, at::kLong).reshape({-1, r});
  ctx.bind(n->output(), ctx.op("Gather", {ctx.tensor(n->input(0)), ctx.constant(table)}, {{"axis", int64_t{0}}}));
}

// For every position p in [0, total), the index i of the repeat group holding it: the number of
// cumulative counts ≤ p (counts is a 1-D int64 tensor).
std::string group_of_each_position(ConversionContext& ctx, const std::string& counts) {
  std::string ends = ctx.op("CumSum", {counts, ctx.scalar(0, at::kLong)});
  std::string total = ctx.op("ReduceSum", {counts}, {{"keepdims", int64_t{0}}});
  std::string positions = ctx.op("Range", {ctx.scalar(0, at::kLong), total, ctx.scalar(1, at::kLong)});
  std::string passed = ctx.op("LessOrEqual", {ctx.op("Unsqueeze", {ends, ctx.constant_ints({0})}),
                                              ctx.op("Unsqueeze", {positions, ctx.constant_ints({1})})});
  return ctx.op("ReduceSum", {ctx.cast(passed, at::kLong), ctx.constant_ints({1})}, {{"keepdims", int64_t{0}}});
}

// aten::repeat_interleave(self, repeats, dim?, output_size?) with an int or a tensor of repeats,
// and aten::repeat_interleave(repeats): the indices 0..n-1, each repeated.
void repeat_interleave(ConversionContext& ctx, const Node* n) {
  if (n->inputs().size() <= 2) {  // (repeats, output_size?)
    return ctx.bind(n->output(), group_of_each_position(ctx, emit_flatten(ctx, ctx.tensor_as(n->input(0), at::kLong))));
  }
  std::string x = ctx.tensor(n->input(0));
  int64_t axis = 0;
  if (ctx.is_none(n->input(2))) {
    x = emit_flatten(ctx, x);
  } else {
    axis = normalize_dim(ctx, ctx.get_int(n->input(2)), ctx.rank(n->input(0)));
  }
  const Value* repeats = n->input(1);
  std::string counts;
  if (repeats->type()->kind() == c10::TypeKind::TensorType && ctx.rank(repeats) == 1) {
    counts = ctx.tensor_as(repeats, at::kLong);
  } else {
    // One count for every element along the axis.
    std::string one = ctx.op("Reshape", {ctx.tensor_as(repeats, at::kLong), ctx.constant_ints({1})});
    std::string length = emit_dim_size(ctx, x, axis);
    counts = ctx.op("Expand", {one, length});
  }
  ctx.bind(n->output(), ctx.op("Gather", {x, group_of_each_position(ctx, counts)}, {{"axis", axis}}));
}

// aten::unfold(self, dimension, size, step): windows of `size` elements every `step` along the
// dim, which becomes the window count, with the window's elements as a new last dim.
void unfold(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  std::string x = ctx.tensor(n->input(0));
  int64_t size = ctx.get_int(n->input(2)), step = ctx.get_int(n->input(3));
  if (rank == 0) {  // torch treats a scalar as one window of one element
    if (size > 1) ctx.fail("window size exceeds the dim");
    return ctx.bind(n->output(), ctx.op("Reshape", {x, ctx.constant_ints({1})}));
  }
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), rank);
  auto sizes = ctx.sizes(n->input(0));
  if (!sizes) ctx.fail("needs static sizes");
  int64_t length = (*sizes)[static_cast<size_t>(axis)];
  if (size > length || step <= 0) ctx.fail("window size exceeds the dim or step is not positive");
  int64_t windows = (length - size) / step + 1;
  at::Tensor index = at::arange(windows, at::kLong).mul(step).unsqueeze(1) + at::arange(size, at::kLong).unsqueeze(0);
  std::string gathered = ctx.op("Gather", {x, ctx.constant(index)}, {{"axis", axis}});
  std::vector<int64_t> perm(static_cast<size_t>(rank + 1));
  std::iota(perm.begin(), perm.end(), 0);
  perm.erase(perm.begin() + axis + 1);
  perm.push_back(axis + 1);
  ctx.bind(n->output(), ctx.op("Transpose", {gathered}, {{"perm", perm}}));
}

// aten::block_diag(tensors): each 0-d, 1-D (a row) or 2-D block padded with zeros to the total
// width at its column offset, then the rows concatenated.
void block_diag(ConversionContext& ctx, const Node* n) {
  auto elements = ctx.list_elements(n->input(0));
  auto blocks = list_as_output_dtype(ctx, n, n->input(0));
  if (blocks.empty()) ctx.fail("needs at least one block");
  std::vector<int64_t> widths;
  for (const Value* v : elements) {
    auto sizes = ctx.sizes(v);
    if (!sizes || sizes->size() > 2) ctx.fail("needs blocks of at most 2 dims with static sizes");
    widths.push_back(sizes->empty() ? 1 : sizes->back());
  }
  int64_t total = std::accumulate(widths.begin(), widths.end(), int64_t{0}), offset = 0;
  std::vector<std::string> rows;
  for (size_t i = 0; i < blocks.size(); ++i) {
    std::string block = ctx.op("Reshape", {blocks[i], ctx.constant_ints({-1, widths[i]})});
    if (ctx.rank(elements[i]) == 2) block = blocks[i];
    rows.push_back(ctx.op("Pad", {block, ctx.constant_ints({0, offset, 0, total - offset - widths[i]})}));
    offset += widths[i];
  }
  ctx.bind(n->output(), ctx.op("Concat", rows, {{"axis", int64_t{0}}}));
}

// aten::kron(self, other): both raised to the same rank, interleaved as [a0, b0, a1, b1, ...] by
// broadcasting, and each pair of dims merged.
void kron(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = std::max(ctx.rank(n->input(0)), ctx.rank(n->input(1)));
  if (rank == 0) return ctx.bind(n->output(), ctx.op("Mul", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)}));
  std::string a = emit_at_rank(ctx, n->input(0), dtype, rank), b = emit_at_rank(ctx, n->input(1), dtype, rank);
  std::vector<int64_t> odd, even;
  for (int64_t d = 0; d < rank; ++d) {
    odd.push_back(2 * d + 1);
    even.push_back(2 * d);
  }
  std::string product = ctx.op("Mul", {ctx.op("Unsqueeze", {a, ctx.constant_ints(odd)}), ctx.op("Unsqueeze", {b, ctx.constant_ints(even)})});
  std::string shape = ctx.op("Mul", {ctx.op("Shape", {a}), ctx.op("Shape", {b})});
  ctx.bind(n->output(), ctx.op("Reshape", {product, shape}));
}

// aten::linalg_vander(x, N?): the powers x^0 .. x^(N-1) of each element along a new last dim
// (N defaults to the last dim's size).
void vander(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t count;
  if (ctx.is_none(n->input(1))) {
    auto sizes = ctx.sizes(n->input(0));
    if (!sizes) ctx.fail("needs the static size of the last dim");
    count = sizes->empty() ? 1 : sizes->back();
  } else {
    count = ctx.get_int(n->input(1));
  }
  std::string powers = ctx.constant(at::arange(count, at::TensorOptions().dtype(dtype)));
  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::vector<int64_t> axes{-1};
  if (ctx.rank(n->input(0)) == 0) axes = {0, 1};  // a scalar counts as a vector of one
  ctx.bind(n->output(), ctx.op("Pow", {ctx.op("Unsqueeze", {x, ctx.constant_ints(axes)}), powers}));
}

}  // namespace

void register_grid_ops(ConverterRegistry& r) {
  r.add("aten::meshgrid", meshgrid);
  r.add("aten::cartesian_prod", cartesian_prod);
  r.add("aten::combinations", combinations);
  r.add("aten::repeat_interleave", repeat_interleave);
  r.add("aten::unfold", unfold);
  r.add("aten::block_diag", block_diag);
  r.add("aten::kron", kron);
  r.add("aten::linalg_vander", vander);
}

}  // namespace htp::exporter
