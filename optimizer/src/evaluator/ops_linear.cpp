// Matrix products: MatMul (NumPy semantics), Gemm, Einsum.
#include "evaluator/registry.h"

#include <algorithm>
#include <cctype>

namespace htp::optimizer::eval {
namespace {

std::vector<at::Tensor> mat_mul(const NodeContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  const at::Tensor& b = ctx.input(1);
  if (a.dim() == 0 || b.dim() == 0) ctx.fail("inputs must have rank 1 or more");
  return single(at::matmul(a, b));
}

// Y = alpha · A' · B' + beta · C, with C broadcast to [M, N].
std::vector<at::Tensor> gemm(const NodeContext& ctx) {
  at::Tensor a = ctx.input(0);
  at::Tensor b = ctx.input(1);
  if (a.dim() != 2 || b.dim() != 2) ctx.fail("A and B must be 2-D");
  if (ctx.attr_int("transA", 0) != 0) a = a.t();
  if (ctx.attr_int("transB", 0) != 0) b = b.t();
  if (a.size(1) != b.size(0)) ctx.fail("A' " + c10::str(a.sizes()) + " and B' " + c10::str(b.sizes()) + " do not multiply");
  at::Tensor y = at::mm(a, b) * ctx.attr_float("alpha", 1.0f);
  if (ctx.has_input(2)) {
    const at::Tensor& c = ctx.input(2);
    if (broadcast_shapes(ctx, y.sizes(), c.sizes()) != y.sizes().vec()) ctx.fail("C " + c10::str(c.sizes()) + " does not broadcast to " + c10::str(y.sizes()));
    y = y + c * ctx.attr_float("beta", 1.0f);
  }
  return single(y.to(ctx.input(0).scalar_type()));
}

std::vector<at::Tensor> einsum(const NodeContext& ctx) {
  std::string equation = ctx.attr_string("equation", "");
  equation.erase(std::remove_if(equation.begin(), equation.end(), [](unsigned char c) { return std::isspace(c); }),
                 equation.end());
  if (equation.empty()) ctx.fail("no equation");
  std::vector<at::Tensor> operands;
  for (size_t k = 0; k < ctx.input_count(); ++k) operands.push_back(ctx.input(k));
  return single(at::einsum(equation, operands));
}

}  // namespace

void register_linear_ops(EvaluatorRegistry& registry) {
  registry.add("MatMul", mat_mul);
  registry.add("Gemm", gemm);
  registry.add("Einsum", einsum);
}

}  // namespace htp::optimizer::eval
