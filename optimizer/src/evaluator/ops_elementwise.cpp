// Elementwise arithmetic and math: binary ops with multidirectional broadcasting, the variadic
// Sum/Mean/Min/Max, and unary functions. Results keep the first input's dtype as ONNX requires.
#include "evaluator/registry.h"

namespace htp::optimizer::eval {
namespace {

using Binary = at::Tensor (*)(const at::Tensor&, const at::Tensor&);

void add_binary(EvaluatorRegistry& registry, const std::string& op_type, Binary op) {
  registry.add(op_type, [op](const NodeContext& ctx) {
    const at::Tensor& a = ctx.input(0);
    const at::Tensor& b = ctx.input(1);
    broadcast_shapes(ctx, a.sizes(), b.sizes());
    return single(op(a, b).to(a.scalar_type()));
  });
}

at::Tensor add(const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }
at::Tensor sub(const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); }
at::Tensor mul(const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }

// Integer division truncates toward zero (C semantics, as ONNX Runtime and the reference do).
at::Tensor div(const at::Tensor& a, const at::Tensor& b) {
  if (at::isFloatingType(a.scalar_type())) return at::div(a, b);
  return at::div(a, b, "trunc");
}

// The result has the base's dtype whatever the exponent's.
std::vector<at::Tensor> pow(const NodeContext& ctx) {
  const at::Tensor& base = ctx.input(0);
  const at::Tensor& exponent = ctx.input(1);
  broadcast_shapes(ctx, base.sizes(), exponent.sizes());
  if (at::isFloatingType(base.scalar_type())) return single(at::pow(base, exponent.to(base.scalar_type())));
  if (at::isFloatingType(exponent.scalar_type())) {
    return single(at::pow(base.to(at::kDouble), exponent.to(at::kDouble)).to(base.scalar_type()));
  }
  return single(at::pow(base, exponent.to(base.scalar_type())));
}

// fmod = 0: the remainder takes the divisor's sign (Python %); fmod = 1: the dividend's (C fmod).
std::vector<at::Tensor> mod(const NodeContext& ctx) {
  const at::Tensor& a = ctx.input(0);
  const at::Tensor& b = ctx.input(1);
  broadcast_shapes(ctx, a.sizes(), b.sizes());
  if (ctx.attr_int("fmod", 0) == 1) return single(at::fmod(a, b));
  if (at::isFloatingType(a.scalar_type())) ctx.fail("floating-point Mod requires fmod=1");
  return single(at::remainder(a, b));
}

// Sum, Mean, Min, Max: any number of inputs, all broadcast together.
void add_variadic(EvaluatorRegistry& registry, const std::string& op_type, Binary combine, bool mean) {
  registry.add(op_type, [combine, mean](const NodeContext& ctx) {
    if (ctx.input_count() == 0) ctx.fail("needs at least one input");
    at::Tensor result = ctx.input(0);
    for (size_t k = 1; k < ctx.input_count(); ++k) {
      broadcast_shapes(ctx, result.sizes(), ctx.input(k).sizes());
      result = combine(result, ctx.input(k));
    }
    if (mean) result = at::div(result, static_cast<double>(ctx.input_count()));
    // A single input still broadcasts nothing; copy so the output never aliases it.
    return single(result.to(ctx.input(0).scalar_type()).clone());
  });
}

at::Tensor minimum(const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); }
at::Tensor maximum(const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); }

using Unary = at::Tensor (*)(const at::Tensor&);

void add_unary(EvaluatorRegistry& registry, const std::string& op_type, Unary op) {
  registry.add(op_type, [op](const NodeContext& ctx) { return single(op(ctx.input(0)).to(ctx.input(0).scalar_type())); });
}

// Unary math defined on floating types only; integer inputs break the op's type constraint.
void add_float_unary(EvaluatorRegistry& registry, const std::string& op_type, Unary op) {
  registry.add(op_type, [op](const NodeContext& ctx) {
    const at::Tensor& x = ctx.input(0);
    if (!at::isFloatingType(x.scalar_type())) ctx.fail(std::string("needs a floating-point input, got ") + c10::toString(x.scalar_type()));
    return single(op(x));
  });
}

std::vector<at::Tensor> is_inf(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const bool positive = ctx.attr_int("detect_positive", 1) != 0;
  const bool negative = ctx.attr_int("detect_negative", 1) != 0;
  if (positive && negative) return single(at::isinf(x));
  if (positive) return single(at::isposinf(x));
  if (negative) return single(at::isneginf(x));
  return single(at::zeros(x.sizes(), x.options().dtype(at::kBool)));
}

}  // namespace

void register_elementwise_ops(EvaluatorRegistry& registry) {
  add_binary(registry, "Add", add);
  add_binary(registry, "Sub", sub);
  add_binary(registry, "Mul", mul);
  add_binary(registry, "Div", div);
  registry.add("Pow", pow);
  registry.add("Mod", mod);
  add_variadic(registry, "Sum", add, false);
  add_variadic(registry, "Mean", add, true);
  add_variadic(registry, "Min", minimum, false);
  add_variadic(registry, "Max", maximum, false);

  add_unary(registry, "Neg", at::neg);
  add_unary(registry, "Abs", at::abs);
  add_unary(registry, "Sign", at::sign);
  add_float_unary(registry, "Sqrt", at::sqrt);
  add_float_unary(registry, "Reciprocal", at::reciprocal);
  add_float_unary(registry, "Exp", at::exp);
  add_float_unary(registry, "Log", at::log);
  add_float_unary(registry, "Floor", at::floor);
  add_float_unary(registry, "Ceil", at::ceil);
  add_float_unary(registry, "Round", at::round);  // halves to even, as ONNX specifies
  add_float_unary(registry, "Erf", at::erf);
  add_float_unary(registry, "Sin", at::sin);
  add_float_unary(registry, "Cos", at::cos);
  add_float_unary(registry, "Tan", at::tan);
  add_float_unary(registry, "Asin", at::asin);
  add_float_unary(registry, "Acos", at::acos);
  add_float_unary(registry, "Atan", at::atan);
  add_float_unary(registry, "Sinh", at::sinh);
  add_float_unary(registry, "Cosh", at::cosh);
  add_float_unary(registry, "Asinh", at::asinh);
  add_float_unary(registry, "Acosh", at::acosh);
  add_float_unary(registry, "Atanh", at::atanh);
  registry.add("IsNaN", [](const NodeContext& ctx) { return single(at::isnan(ctx.input(0))); });
  registry.add("IsInf", is_inf);
}

}  // namespace htp::optimizer::eval
