// Matrix products: linear → Gemm (2-D input) or MatMul + Add, addmm → Gemm, matmul/mm/bmm → MatMul,
// bilinear → Einsum.
#include "convert/registry.h"

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

// aten::baddbmm(input, batch1, batch2, beta, alpha) = beta·input + alpha·(batch1 @ batch2)
void baddbmm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string product = ctx.op("MatMul", {ctx.tensor_as(n->input(1), dtype), ctx.tensor_as(n->input(2), dtype)});
  std::string input = ctx.tensor_as(n->input(0), dtype);
  double beta = ctx.get_double(n->input(3)), alpha = ctx.get_double(n->input(4));
  if (alpha != 1.0) product = ctx.op("Mul", {product, ctx.scalar(alpha, dtype)});
  if (beta == 0.0) return ctx.bind(n->output(), product);
  if (beta != 1.0) input = ctx.op("Mul", {input, ctx.scalar(beta, dtype)});
  ctx.bind(n->output(), ctx.op("Add", {input, product}));
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
  r.add("aten::baddbmm", baddbmm);
  r.add("aten::bilinear", bilinear);
  r.add("aten::einsum", einsum);
  r.add("aten::linear", linear);
  r.add("aten::addmm", addmm);
  r.add("aten::matmul", matmul);
  r.add("aten::mm", matmul);
  r.add("aten::bmm", matmul);
}

}  // namespace htp::exporter
