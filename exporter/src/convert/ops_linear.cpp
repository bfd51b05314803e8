// Matrix and vector products: linear → Gemm (2-D input) or MatMul + Add, addmm → Gemm,
// matmul/mm/bmm/mv/dot → MatMul, the other add*-products as MatMul, Mul and Add, bilinear,
// tensordot and inner → Einsum, outer → Mul, matrix_power by repeated squaring.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace htp::exporter {
namespace {

using torch::jit::Node;

// aten::linear(input, weight, bias?) computes input·weightᵀ + bias.
void linear(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string bias = ctx.is_none(n->input(2)) ? "" : ctx.tensor_as(n->input(2), dtype);
  ctx.bind(n->output(), emit_linear(ctx, ctx.tensor_as(n->input(0), dtype), ctx.rank(n->input(0)), ctx.tensor_as(n->input(1), dtype), bias));
}

// aten::addmm(bias, m1, m2, beta, alpha) = beta·bias + alpha·(m1·m2)
void addmm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::vector<std::string> inputs{ctx.tensor_as(n->input(1), dtype), ctx.tensor_as(n->input(2), dtype),
                                  ctx.tensor_as(n->input(0), dtype)};
  ctx.bind(n->output(), ctx.op("Gemm", inputs,
                               {{"beta", static_cast<float>(ctx.get_double(n->input(3)))},
                                {"alpha", static_cast<float>(ctx.get_double(n->input(4)))}}));
}

void matmul(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), ctx.op("MatMul", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)}));
}

// beta·input + alpha·product, as torch's add* products compute it: beta = 0 ignores input, NaN
// included.
std::string scaled_sum(ConversionContext& ctx, const Node* n, std::string product, at::ScalarType dtype) {
  std::string input = ctx.tensor_as(n->input(0), dtype);
  double beta = ctx.get_double(n->input(3)), alpha = ctx.get_double(n->input(4));
  if (alpha != 1.0) product = ctx.op("Mul", {product, ctx.scalar(alpha, dtype)});
  if (beta == 0.0) return ctx.op("Expand", {product, ctx.op("Shape", {input})});
  if (beta != 1.0) input = ctx.op("Mul", {input, ctx.scalar(beta, dtype)});
  return ctx.op("Add", {input, product});
}

std::string outer_product(ConversionContext& ctx, const std::string& a, const std::string& b) {
  return ctx.op("Mul", {ctx.op("Unsqueeze", {a, ctx.constant_ints({1})}), b});
}

// aten::baddbmm(input, batch1, batch2, beta, alpha) = beta·input + alpha·(batch1 @ batch2);
// addmv(input, mat, vec, ...) the same with mat @ vec; addbmm sums the batch of products;
// addr(input, vec1, vec2, ...) uses their outer product.
enum class Product { matmul, summed_batches, outer };

Converter add_product(Product kind) {
  return [kind](ConversionContext& ctx, const Node* n) {
    at::ScalarType dtype = ctx.scalar_type(n->output());
    std::string a = ctx.tensor_as(n->input(1), dtype), b = ctx.tensor_as(n->input(2), dtype);
    std::string product = kind == Product::outer ? outer_product(ctx, a, b) : ctx.op("MatMul", {a, b});
    if (kind == Product::summed_batches) product = emit_reduce(ctx, "ReduceSum", product, {0}, false);
    ctx.bind(n->output(), scaled_sum(ctx, n, product, dtype));
  };
}

// aten::outer / ger(self, vec2)
void outer(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), outer_product(ctx, ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)));
}

// An Einsum subscript letter for dim i (52 available).
char letter(size_t i) { return static_cast<char>(i < 26 ? 'a' + i : 'A' + (i - 26)); }

// Einsum over a and b with the dims `contract_a[k]` of a and `contract_b[k]` of b summed
// together; the result keeps a's other dims, then b's, in order.
std::string contract(ConversionContext& ctx, const Node* n, const std::vector<int64_t>& contract_a, const std::vector<int64_t>& contract_b) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank_a = ctx.rank(n->input(0)), rank_b = ctx.rank(n->input(1));
  if (contract_a.size() != contract_b.size()) ctx.fail("both tensors must contract the same number of dims");
  if (rank_a + rank_b > 52) ctx.fail("too many dims for one Einsum");
  std::string sub_a(static_cast<size_t>(rank_a), ' '), sub_b(static_cast<size_t>(rank_b), ' '), result;
  size_t next = 0;
  for (size_t k = 0; k < contract_a.size(); ++k) {
    char shared = letter(next++);
    sub_a[static_cast<size_t>(normalize_dim(ctx, contract_a[k], rank_a))] = shared;
    sub_b[static_cast<size_t>(normalize_dim(ctx, contract_b[k], rank_b))] = shared;
  }
  for (std::string* sub : {&sub_a, &sub_b}) {
    for (char& c : *sub) {
      if (c != ' ') continue;
      c = letter(next++);
      result += c;
    }
  }
  for (const std::string* sub : {&sub_a, &sub_b}) {
    if (std::count(sub->begin(), sub->end(), ' ') != 0) ctx.fail("a dim is contracted twice");
  }
  return ctx.op("Einsum", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)},
                {{"equation", sub_a + "," + sub_b + "->" + result}});
}

// aten::tensordot(self, other, dims_self, dims_other)
void tensordot(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), contract(ctx, n, ctx.get_ints(n->input(2)), ctx.get_ints(n->input(3))));
}

// aten::inner(self, other): the last dims contracted; a scalar multiplies.
void inner(ConversionContext& ctx, const Node* n) {
  if (ctx.rank(n->input(0)) == 0 || ctx.rank(n->input(1)) == 0) {
    at::ScalarType dtype = ctx.scalar_type(n->output());
    return ctx.bind(n->output(), ctx.op("Mul", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)}));
  }
  ctx.bind(n->output(), contract(ctx, n, {-1}, {-1}));
}

// aten::linalg_vecdot(x, y, dim): the sum of the products along dim (real tensors).
void vecdot(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t rank = std::max(ctx.rank(n->input(0)), ctx.rank(n->input(1)));
  std::string product = ctx.op("Mul", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)});
  ctx.bind(n->output(), emit_reduce(ctx, "ReduceSum", product, {normalize_dim(ctx, ctx.get_int(n->input(2)), rank)}, false));
}

// aten::linalg_multi_dot / chain_matmul(tensors): MatMul left to right (a 1-D first or last
// operand acts as a row or column vector and is dropped from the result, as MatMul does).
void multi_dot(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  auto operands = ctx.list_elements(n->input(0));
  if (operands.empty()) ctx.fail("needs at least one tensor");
  std::string product = ctx.tensor_as(operands[0], dtype);
  for (size_t i = 1; i < operands.size(); ++i) product = ctx.op("MatMul", {product, ctx.tensor_as(operands[i], dtype)});
  ctx.bind(n->output(), product);
}

// aten::linalg_matrix_power / matrix_power(self, n) for n ≥ 0, by repeated squaring; n = 0 is the
// identity in every batch. A negative power needs an inverse, which ONNX has no op for.
void matrix_power(ConversionContext& ctx, const Node* n) {
  int64_t power = ctx.get_int(n->input(1));
  if (power < 0) ctx.fail("a negative power needs a matrix inverse, which ONNX has no operator for");
  std::string a = ctx.tensor(n->input(0));
  if (power == 0) {
    auto sizes = ctx.sizes(n->input(0));
    if (!sizes || sizes->size() < 2) ctx.fail("needs static sizes of a matrix");
    at::Tensor eye = at::eye(sizes->back(), at::TensorOptions().dtype(ctx.scalar_type(n->output())));
    return ctx.bind(n->output(), ctx.op("Expand", {ctx.constant(eye), ctx.op("Shape", {a})}));
  }
  std::string result, square = a;
  for (int64_t rest = power; rest > 0; rest >>= 1) {
    if (rest & 1) result = result.empty() ? square : ctx.op("MatMul", {result, square});
    if (rest > 1) square = ctx.op("MatMul", {square, square});
  }
  ctx.bind(n->output(), result);
}

// aten::einsum(equation, tensors, path?)
void einsum(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::vector<std::string> inputs;
  for (const auto* v : ctx.list_elements(n->input(1))) inputs.push_back(ctx.tensor_as(v, dtype));
  ctx.bind(n->output(), ctx.op("Einsum", inputs, {{"equation", ctx.constant(n->input(0))->toStringRef()}}));
}

// aten::bilinear(x1 [.., I], x2 [.., J], weight [O, I, J], bias?) computes
// y[.., o] = Σ x1[.., i] · weight[o, i, j] · x2[.., j] + bias[o].
void bilinear(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::vector<std::string> inputs{ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(2), dtype), ctx.tensor_as(n->input(1), dtype)};
  std::string y = ctx.op("Einsum", inputs, {{"equation", std::string("...i,oij,...j->...o")}});
  ctx.bind(n->output(), ctx.is_none(n->input(3)) ? y : ctx.op("Add", {y, ctx.tensor_as(n->input(3), dtype)}));
}

}  // namespace

std::string emit_linear(ConversionContext& ctx, const std::string& x, int64_t rank, const std::string& weight, const std::string& bias) {
  if (rank == 2) {
    std::vector<std::string> inputs{x, weight};
    if (!bias.empty()) inputs.push_back(bias);
    return ctx.op("Gemm", inputs, {{"transB", int64_t{1}}});
  }
  std::string product = ctx.op("MatMul", {x, ctx.op("Transpose", {weight})});
  return bias.empty() ? product : ctx.op("Add", {product, bias});
}

void register_linear_ops(ConverterRegistry& r) {
  r.add("aten::baddbmm", add_product(Product::matmul));
  r.add("aten::addmv", add_product(Product::matmul));
  r.add("aten::addbmm", add_product(Product::summed_batches));
  r.add("aten::addr", add_product(Product::outer));
  r.add("aten::outer", outer);
  r.add("aten::ger", outer);
  r.add("aten::tensordot", tensordot);
  r.add("aten::inner", inner);
  r.add("aten::linalg_vecdot", vecdot);
  r.add("aten::linalg_multi_dot", multi_dot);
  r.add("aten::chain_matmul", multi_dot);
  r.add("aten::linalg_matrix_power", matrix_power);
  r.add("aten::matrix_power", matrix_power);
  for (const char* kind : {"aten::dot", "aten::vdot", "aten::mv"}) r.add(kind, matmul);
  r.add("aten::bilinear", bilinear);
  r.add("aten::einsum", einsum);
  r.add("aten::linear", linear);
  r.add("aten::addmm", addmm);
  r.add("aten::matmul", matmul);
  r.add("aten::mm", matmul);
  r.add("aten::bmm", matmul);
}

}  // namespace htp::exporter
