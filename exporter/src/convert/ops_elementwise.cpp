// Elementwise arithmetic, comparisons and unary math, with torch's type promotion: inputs are
// cast to the dtype the trace recorded for the result (comparisons: to a common input dtype).
#include "convert/registry.h"

#include <c10/core/ScalarType.h>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// b·alpha, skipping the Mul when alpha is 1 (add/sub/rsub's optional third argument).
std::string scaled(ConversionContext& ctx, const Node* n, const Value* b, at::ScalarType dtype) {
  std::string tensor = ctx.tensor_as(b, dtype);
  if (n->inputs().size() < 3 || ctx.get_double(n->input(2)) == 1.0) return tensor;
  return ctx.op("Mul", {tensor, ctx.scalar(ctx.get_double(n->input(2)), dtype)});
}

Converter arithmetic(const std::string& onnx_op) {
  return [onnx_op](ConversionContext& ctx, const Node* n) {
    at::ScalarType dtype = ctx.scalar_type(n->output());
    ctx.bind(n->output(), ctx.op(onnx_op, {ctx.tensor_as(n->input(0), dtype), scaled(ctx, n, n->input(1), dtype)}));
  };
}

void rsub(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), ctx.op("Sub", {ctx.tensor_as(n->input(1), dtype), scaled(ctx, n, n->input(0), dtype)}));
}

// Floor division of integers: truncated quotient, minus one where the remainder is non-zero
// and its sign differs from the divisor's.
std::string floor_divide_int(ConversionContext& ctx, const std::string& a, const std::string& b, at::ScalarType dtype) {
  std::string quotient = ctx.op("Div", {a, b});
  std::string remainder = ctx.op("Mod", {a, b}, {{"fmod", int64_t{1}}});
  std::string zero = ctx.scalar(0, dtype);
  std::string nonzero = ctx.op("Not", {ctx.op("Equal", {remainder, zero})});
  std::string signs_differ = ctx.op("Xor", {ctx.op("Less", {remainder, zero}), ctx.op("Less", {b, zero})});
  std::string adjust = ctx.cast(ctx.op("And", {nonzero, signs_differ}), dtype);
  return ctx.op("Sub", {quotient, adjust});
}

// aten::div(a, b, rounding_mode=None|"trunc"|"floor") and aten::floor_divide(a, b).
std::string divide(ConversionContext& ctx, const Node* n, const std::string& mode) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string a = ctx.tensor_as(n->input(0), dtype), b = ctx.tensor_as(n->input(1), dtype);
  bool integral = c10::isIntegralType(dtype, /*includeBool=*/false);
  if (mode.empty() || (mode == "trunc" && integral)) return ctx.op("Div", {a, b});
  if (mode == "floor") return integral ? floor_divide_int(ctx, a, b, dtype) : ctx.op("Floor", {ctx.op("Div", {a, b})});
  if (mode != "trunc") ctx.fail("unknown rounding mode '" + mode + "'");
  std::string q = ctx.op("Div", {a, b});  // trunc(q) = sign(q)·floor(|q|)
  return ctx.op("Mul", {ctx.op("Sign", {q}), ctx.op("Floor", {ctx.op("Abs", {q})})});
}

void div(ConversionContext& ctx, const Node* n) {
  std::string mode;
  if (n->inputs().size() > 2 && !ctx.is_none(n->input(2))) mode = ctx.constant(n->input(2))->toStringRef();
  ctx.bind(n->output(), divide(ctx, n, mode));
}

// Comparisons return bool; both sides meet in torch's promoted dtype of the inputs.
Converter comparison(const std::string& onnx_op, bool negate = false) {
  return [onnx_op, negate](ConversionContext& ctx, const Node* n) {
    at::ScalarType lhs = ctx.scalar_type(n->input(0));
    auto rhs_constant = ctx.constant(n->input(1));
    at::ScalarType dtype = c10::promoteTypes(lhs, ctx.scalar_type(n->input(1)));
    if (rhs_constant && !rhs_constant->isTensor()) {  // a Python scalar only lifts integers to float
      dtype = rhs_constant->isDouble() && c10::isIntegralType(lhs, true) ? at::kFloat : lhs;
    }
    std::string result = ctx.op(onnx_op, {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)});
    ctx.bind(n->output(), negate ? ctx.op("Not", {result}) : result);
  };
}

Converter logical(const std::string& onnx_op) {
  return [onnx_op](ConversionContext& ctx, const Node* n) {
    std::vector<std::string> inputs;
    for (const Value* v : n->inputs()) inputs.push_back(ctx.tensor_as(v, at::kBool));
    ctx.bind(n->output(), ctx.cast(ctx.op(onnx_op, inputs), ctx.scalar_type(n->output())));
  };
}

Converter unary_math(const std::string& onnx_op) {
  return [onnx_op](ConversionContext& ctx, const Node* n) {
    ctx.bind(n->output(), ctx.op(onnx_op, {ctx.tensor_as(n->input(0), ctx.scalar_type(n->output()))}));
  };
}

void rsqrt(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor_as(n->input(0), ctx.scalar_type(n->output()));
  ctx.bind(n->output(), ctx.op("Reciprocal", {ctx.op("Sqrt", {x})}));
}

// Python's remainder takes the divisor's sign: a - floor(a / b)·b; ONNX Mod (fmod=0) does that
// for integers only.
void remainder(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string a = ctx.tensor_as(n->input(0), dtype), b = ctx.tensor_as(n->input(1), dtype);
  if (c10::isIntegralType(dtype, false)) return ctx.bind(n->output(), ctx.op("Mod", {a, b}));
  std::string floored = ctx.op("Floor", {ctx.op("Div", {a, b})});
  ctx.bind(n->output(), ctx.op("Sub", {a, ctx.op("Mul", {floored, b})}));
}

void fmod(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), ctx.op("Mod", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)}, {{"fmod", int64_t{1}}}));
}

void square(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor_as(n->input(0), ctx.scalar_type(n->output()));
  ctx.bind(n->output(), ctx.op("Mul", {x, x}));
}

}  // namespace

void register_elementwise_ops(ConverterRegistry& r) {
  r.add("aten::remainder", remainder);
  r.add("aten::fmod", fmod);
  r.add("aten::square", square);
  r.add("aten::bitwise_and", logical("And"));
  r.add("aten::bitwise_or", logical("Or"));
  r.add("aten::bitwise_xor", logical("Xor"));
  r.add("aten::bitwise_not", logical("Not"));
  r.add("aten::__and__", logical("And"));
  r.add("aten::__or__", logical("Or"));
  r.add("aten::add", arithmetic("Add"));
  r.add("aten::sub", arithmetic("Sub"));
  r.add("aten::mul", arithmetic("Mul"));
  r.add("aten::pow", arithmetic("Pow"));
  r.add("aten::maximum", arithmetic("Max"));
  r.add("aten::minimum", arithmetic("Min"));
  r.add("aten::rsub", rsub);
  r.add("aten::div", div);
  r.add("aten::floor_divide", [](ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), divide(ctx, n, "floor")); });
  r.add("aten::eq", comparison("Equal"));
  r.add("aten::ne", comparison("Equal", /*negate=*/true));
  r.add("aten::lt", comparison("Less"));
  r.add("aten::le", comparison("LessOrEqual"));
  r.add("aten::gt", comparison("Greater"));
  r.add("aten::ge", comparison("GreaterOrEqual"));
  r.add("aten::logical_and", logical("And"));
  r.add("aten::logical_or", logical("Or"));
  r.add("aten::logical_xor", logical("Xor"));
  r.add("aten::logical_not", logical("Not"));
  for (auto [kind, op] : std::initializer_list<std::pair<const char*, const char*>>{
           {"aten::abs", "Abs"}, {"aten::neg", "Neg"}, {"aten::exp", "Exp"}, {"aten::log", "Log"},
           {"aten::sqrt", "Sqrt"}, {"aten::reciprocal", "Reciprocal"}, {"aten::floor", "Floor"},
           {"aten::ceil", "Ceil"}, {"aten::sign", "Sign"}, {"aten::sin", "Sin"},
           {"aten::cos", "Cos"}, {"aten::erf", "Erf"}, {"aten::tan", "Tan"}, {"aten::acos", "Acos"},
           {"aten::asin", "Asin"}, {"aten::atan", "Atan"}, {"aten::sinh", "Sinh"}, {"aten::cosh", "Cosh"},
           {"aten::acosh", "Acosh"}, {"aten::asinh", "Asinh"}, {"aten::atanh", "Atanh"}, {"aten::arccos", "Acos"},
           {"aten::arcsin", "Asin"}, {"aten::arctan", "Atan"}, {"aten::arccosh", "Acosh"}, {"aten::arcsinh", "Asinh"},
           {"aten::arctanh", "Atanh"}, {"aten::special_erf", "Erf"}}) {
    r.add(kind, unary_math(op));
  }
  r.add("aten::rsqrt", rsqrt);
}

}  // namespace htp::exporter
