// Diagonals: diagonal (read), diagonal_scatter (write), diag_embed / diag / diagflat (build a
// matrix), trace. A diagonal of the two dims (n1, n2) is a Gather of the flat positions
// (i + row0)·n2 + i + col0 once those two dims are moved last and merged; its sizes must be
// static, as they fix the positions.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <numeric>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// The flat positions of the offset diagonal of an n1 × n2 matrix.
at::Tensor diagonal_positions(int64_t n1, int64_t n2, int64_t offset) {
  int64_t row = std::max<int64_t>(-offset, 0), col = std::max<int64_t>(offset, 0);
  int64_t length = std::max<int64_t>(0, std::min(n1 - row, n2 - col));
  return at::arange(length, at::kLong).mul(n2 + 1).add(row * n2 + col);
}

// Where the two dims of a diagonal sit in a tensor, and the permutation moving them last.
struct DiagonalDims {
  std::vector<int64_t> perm;
  int64_t rows, cols;
};

DiagonalDims diagonal_dims(const ConversionContext& ctx, const Value* x, const Value* dim1, const Value* dim2) {
  int64_t rank = ctx.rank(x);
  int64_t d1 = normalize_dim(ctx, ctx.get_int(dim1), rank), d2 = normalize_dim(ctx, ctx.get_int(dim2), rank);
  if (d1 == d2) ctx.fail("the two diagonal dims must differ");
  auto sizes = ctx.sizes(x);
  if (!sizes) ctx.fail("needs static sizes");
  return {moved_last(rank, {d1, d2}), (*sizes)[static_cast<size_t>(d1)], (*sizes)[static_cast<size_t>(d2)]};
}

// `x` with the diagonal dims moved last and merged into one.
std::string merged_matrix(ConversionContext& ctx, const std::string& x, const DiagonalDims& dims) {
  std::string moved = ctx.op("Transpose", {x}, {{"perm", dims.perm}});
  std::vector<int64_t> shape(dims.perm.size() - 2, 0);  // 0 copies a leading dim
  shape.push_back(dims.rows * dims.cols);
  return ctx.op("Reshape", {moved, ctx.constant_ints(shape)});
}

// aten::diagonal(self, offset, dim1, dim2): the diagonal becomes the last dim.
void diagonal(ConversionContext& ctx, const Node* n) {
  DiagonalDims dims = diagonal_dims(ctx, n->input(0), n->input(2), n->input(3));
  std::string flat = merged_matrix(ctx, ctx.tensor(n->input(0)), dims);
  at::Tensor positions = diagonal_positions(dims.rows, dims.cols, ctx.get_int(n->input(1)));
  ctx.bind(n->output(), ctx.op("Gather", {flat, ctx.constant(positions)}, {{"axis", static_cast<int64_t>(dims.perm.size()) - 2}}));
}

// aten::diagonal_scatter(self, src, offset, dim1, dim2): self with src written over that diagonal.
void diagonal_scatter(ConversionContext& ctx, const Node* n) {
  DiagonalDims dims = diagonal_dims(ctx, n->input(0), n->input(3), n->input(4));
  std::string x = ctx.tensor(n->input(0));
  std::string flat = merged_matrix(ctx, x, dims);
  std::string src = ctx.tensor_as(n->input(1), ctx.scalar_type(n->output()));
  std::string positions = ctx.op("Expand", {ctx.constant(diagonal_positions(dims.rows, dims.cols, ctx.get_int(n->input(2)))),
                                            ctx.op("Shape", {src})});
  auto axis = static_cast<int64_t>(dims.perm.size()) - 2;
  std::string written = ctx.op("ScatterElements", {flat, positions, src}, {{"axis", axis}});
  std::string moved_shape = ctx.op("Shape", {ctx.op("Transpose", {x}, {{"perm", dims.perm}})});
  ctx.bind(n->output(), ctx.op("Transpose", {ctx.op("Reshape", {written, moved_shape})}, {{"perm", inverse_permutation(dims.perm)}}));
}

// The last dim of `x` (rank `rank`, static length `length`) spread over the offset diagonal of a
// new square matrix, whose two dims land at dim1 and dim2 of the result (rank + 1 dims).
std::string embed_diagonal(ConversionContext& ctx, const std::string& x, int64_t rank, int64_t length, int64_t offset, int64_t dim1,
                           int64_t dim2, at::ScalarType dtype) {
  int64_t side = length + std::abs(offset);
  std::string leading = ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constant_ints({0}), ctx.constant_ints({rank - 1})});
  std::string zeros = ctx.op("Expand", {ctx.scalar(0, dtype), ctx.op("Concat", {leading, ctx.constant_ints({side * side})}, {{"axis", int64_t{0}}})});
  std::string positions = ctx.op("Expand", {ctx.constant(diagonal_positions(side, side, offset)), ctx.op("Shape", {x})});
  std::string flat = ctx.op("ScatterElements", {zeros, positions, x}, {{"axis", rank - 1}});
  std::string matrix = ctx.op("Reshape", {flat, ctx.op("Concat", {leading, ctx.constant_ints({side, side})}, {{"axis", int64_t{0}}})});
  int64_t out_rank = rank + 1;
  int64_t d1 = normalize_dim(ctx, dim1, out_rank), d2 = normalize_dim(ctx, dim2, out_rank);
  if (d1 == d2) ctx.fail("the two diagonal dims must differ");
  std::vector<int64_t> perm(static_cast<size_t>(out_rank));
  int64_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) perm[static_cast<size_t>(d)] = d == d1 ? rank - 1 : d == d2 ? rank : next++;
  std::vector<int64_t> identity(perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  return perm == identity ? matrix : ctx.op("Transpose", {matrix}, {{"perm", perm}});
}

int64_t last_static_size(const ConversionContext& ctx, const Value* x) {
  auto sizes = ctx.sizes(x);
  if (!sizes || sizes->empty()) ctx.fail("needs static sizes and at least one dim");
  return sizes->back();
}

// aten::diag_embed(self, offset, dim1, dim2)
void diag_embed(ConversionContext& ctx, const Node* n) {
  const Value* x = n->input(0);
  ctx.bind(n->output(), embed_diagonal(ctx, ctx.tensor(x), ctx.rank(x), last_static_size(ctx, x), ctx.get_int(n->input(1)),
                                       ctx.get_int(n->input(2)), ctx.get_int(n->input(3)), ctx.scalar_type(n->output())));
}

// aten::diag(self, diagonal): a vector becomes a matrix, a matrix gives its diagonal.
void diag(ConversionContext& ctx, const Node* n) {
  const Value* x = n->input(0);
  int64_t offset = ctx.get_int(n->input(1));
  if (ctx.rank(x) == 2) {
    DiagonalDims dims{{0, 1}, 0, 0};
    auto sizes = ctx.sizes(x);
    if (!sizes) ctx.fail("needs static sizes");
    dims.rows = (*sizes)[0];
    dims.cols = (*sizes)[1];
    std::string flat = merged_matrix(ctx, ctx.tensor(x), dims);
    return ctx.bind(n->output(), ctx.op("Gather", {flat, ctx.constant(diagonal_positions(dims.rows, dims.cols, offset))}));
  }
  if (ctx.rank(x) != 1) ctx.fail("needs a vector or a matrix");
  ctx.bind(n->output(), embed_diagonal(ctx, ctx.tensor(x), 1, last_static_size(ctx, x), offset, 0, 1, ctx.scalar_type(n->output())));
}

// aten::diagflat(self, offset): the flattened input on the diagonal of a matrix.
void diagflat(ConversionContext& ctx, const Node* n) {
  auto sizes = ctx.sizes(n->input(0));
  if (!sizes) ctx.fail("needs static sizes");
  int64_t count = std::accumulate(sizes->begin(), sizes->end(), int64_t{1}, std::multiplies<>());
  std::string flat = emit_flatten(ctx, ctx.tensor(n->input(0)));
  ctx.bind(n->output(), embed_diagonal(ctx, flat, 1, count, ctx.get_int(n->input(1)), 0, 1, ctx.scalar_type(n->output())));
}

// aten::trace(self): the sum of a matrix's main diagonal (int64 for integer inputs, as torch).
void trace(ConversionContext& ctx, const Node* n) {
  auto sizes = ctx.sizes(n->input(0));
  if (!sizes || sizes->size() != 2) ctx.fail("needs a matrix of static size");
  DiagonalDims dims{{0, 1}, (*sizes)[0], (*sizes)[1]};
  std::string flat = merged_matrix(ctx, ctx.tensor_as(n->input(0), ctx.scalar_type(n->output())), dims);
  std::string values = ctx.op("Gather", {flat, ctx.constant(diagonal_positions(dims.rows, dims.cols, 0))});
  ctx.bind(n->output(), emit_reduce(ctx, "ReduceSum", values, {0}, false));
}

}  // namespace

void register_diagonal_ops(ConverterRegistry& r) {
  r.add("aten::diagonal", diagonal);
  r.add("aten::linalg_diagonal", diagonal);
  r.add("aten::diagonal_scatter", diagonal_scatter);
  r.add("aten::diag_embed", diag_embed);
  r.add("aten::diag", diag);
  r.add("aten::diagflat", diagflat);
  r.add("aten::trace", trace);
}

}  // namespace htp::exporter
