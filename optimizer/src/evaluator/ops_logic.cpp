// Comparisons (bool results), boolean logic and bitwise ops, all with multidirectional broadcasting.
#include "evaluator/registry.h"

namespace htp::optimizer::eval {
namespace {

using Binary = at::Tensor (*)(const at::Tensor&, const at::Tensor&);

void add_binary(EvaluatorRegistry& registry, const std::string& op_type, Binary op) {
  registry.add(
      op_type,
      [op](const NodeContext& ctx) {
        broadcast_shapes(ctx, ctx.input(0).sizes(), ctx.input(1).sizes());
        return single(op(ctx.input(0), ctx.input(1)));
      },
      HalfFloats::kNative);
}

// Boolean logic is defined on bool tensors only.
void add_logical(EvaluatorRegistry& registry, const std::string& op_type, Binary op) {
  registry.add(
      op_type,
      [op](const NodeContext& ctx) {
        if (ctx.input(0).scalar_type() != at::kBool || ctx.input(1).scalar_type() != at::kBool) ctx.fail("needs bool inputs");
        broadcast_shapes(ctx, ctx.input(0).sizes(), ctx.input(1).sizes());
        return single(op(ctx.input(0), ctx.input(1)));
      },
      HalfFloats::kNative);
}

at::Tensor equal(const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); }
at::Tensor less(const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); }
at::Tensor less_or_equal(const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); }
at::Tensor greater(const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); }
at::Tensor greater_or_equal(const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); }
at::Tensor logical_and(const at::Tensor& a, const at::Tensor& b) { return at::logical_and(a, b); }
at::Tensor logical_or(const at::Tensor& a, const at::Tensor& b) { return at::logical_or(a, b); }
at::Tensor logical_xor(const at::Tensor& a, const at::Tensor& b) { return at::logical_xor(a, b); }
at::Tensor bitwise_and(const at::Tensor& a, const at::Tensor& b) { return at::bitwise_and(a, b); }
at::Tensor bitwise_or(const at::Tensor& a, const at::Tensor& b) { return at::bitwise_or(a, b); }
at::Tensor bitwise_xor(const at::Tensor& a, const at::Tensor& b) { return at::bitwise_xor(a, b); }

std::vector<at::Tensor> logical_not(const NodeContext& ctx) {
  if (ctx.input(0).scalar_type() != at::kBool) ctx.fail("needs a bool input");
  return single(at::logical_not(ctx.input(0)));
}

}  // namespace

void register_logic_ops(EvaluatorRegistry& registry) {
  add_binary(registry, "Equal", equal);
  add_binary(registry, "Less", less);
  add_binary(registry, "LessOrEqual", less_or_equal);
  add_binary(registry, "Greater", greater);
  add_binary(registry, "GreaterOrEqual", greater_or_equal);
  add_logical(registry, "And", logical_and);
  add_logical(registry, "Or", logical_or);
  add_logical(registry, "Xor", logical_xor);
  registry.add("Not", logical_not, HalfFloats::kNative);
  add_binary(registry, "BitwiseAnd", bitwise_and);
  add_binary(registry, "BitwiseOr", bitwise_or);
  add_binary(registry, "BitwiseXor", bitwise_xor);
  registry.add(
      "BitwiseNot", [](const NodeContext& ctx) { return single(at::bitwise_not(ctx.input(0))); }, HalfFloats::kNative);
}

}  // namespace htp::optimizer::eval
