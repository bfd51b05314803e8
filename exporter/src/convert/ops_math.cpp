// Elementwise math that opset 17 has no single op for, decomposed into exact ONNX arithmetic:
// log/exp variants, rounding, sign handling, float classification, interpolation and the
// identities of real tensors (conj, real, positive). Each follows the formula of torch's CPU kernel
// (including its special cases for zeros, infinities and NaN) in the dtype the trace recorded.
#include "convert/registry.h"

#include <ATen/ATen.h>
#include <c10/core/ScalarType.h>

#include <cmath>
#include <limits>

namespace htp::exporter {
namespace {

using torch::jit::Node;

bool floating(at::ScalarType dtype) { return c10::isFloatingType(dtype); }

// Input `i` in the output's dtype (torch's type promotion, integers lifted to float where the op is
// float-valued).
std::string input(ConversionContext& ctx, const Node* n, size_t i) {
  return ctx.tensor_as(n->input(i), ctx.scalar_type(n->output()));
}

// A converter from a formula over the inputs (in the output dtype).
using Unary = std::function<std::string(ConversionContext&, const std::string&, at::ScalarType)>;
using Binary = std::function<std::string(ConversionContext&, const std::string&, const std::string&, at::ScalarType)>;

Converter unary(Unary formula) {
  return [formula](ConversionContext& ctx, const Node* n) {
    ctx.bind(n->output(), formula(ctx, input(ctx, n, 0), ctx.scalar_type(n->output())));
  };
}

Converter binary(Binary formula) {
  return [formula](ConversionContext& ctx, const Node* n) {
    ctx.bind(n->output(), formula(ctx, input(ctx, n, 0), input(ctx, n, 1), ctx.scalar_type(n->output())));
  };
}

std::string where(ConversionContext& ctx, const std::string& condition, const std::string& a, const std::string& b) {
  return ctx.op("Where", {condition, a, b});
}

std::string equals(ConversionContext& ctx, const std::string& x, double value, at::ScalarType dtype) {
  return ctx.op("Equal", {x, ctx.scalar(value, dtype)});
}

std::string infinity(ConversionContext& ctx, at::ScalarType dtype, bool negative = false) {
  return ctx.scalar(negative ? -INFINITY : INFINITY, dtype);
}

// A bool tensor shaped like `x`, all `value` (the answer of isnan & co. for integers).
std::string fill_like(ConversionContext& ctx, const std::string& x, bool value) {
  return ctx.op("ConstantOfShape", {ctx.op("Shape", {x})}, {{"value", at::full({1}, value, at::kBool)}});
}

std::string is_nan(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  return floating(dtype) ? ctx.op("IsNaN", {x}) : fill_like(ctx, x, false);
}

// log(1 + x) to full precision: where 1 + x rounds, log(u)·x/(u - 1) cancels the rounding
// (Goldberg's identity); u = 1 gives x itself and u = ∞ gives ∞.
std::string log1p(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  std::string u = ctx.op("Add", {x, ctx.scalar(1, dtype)});
  std::string shifted = ctx.op("Sub", {u, ctx.scalar(1, dtype)});
  std::string corrected = ctx.op("Div", {ctx.op("Mul", {ctx.op("Log", {u}), x}), shifted});
  std::string finite = where(ctx, equals(ctx, u, INFINITY, dtype), u, corrected);
  return where(ctx, equals(ctx, u, 1, dtype), x, finite);
}

// exp(x) - 1 to full precision (Kahan): (u - 1)·x/log(u) with u = exp(x); u = 1 gives x,
// u - 1 = -1 gives -1 and u = ∞ gives ∞.
std::string expm1(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  std::string u = ctx.op("Exp", {x});
  std::string shifted = ctx.op("Sub", {u, ctx.scalar(1, dtype)});
  std::string corrected = ctx.op("Div", {ctx.op("Mul", {shifted, x}), ctx.op("Log", {u})});
  std::string large = where(ctx, equals(ctx, u, INFINITY, dtype), u, corrected);
  std::string small = where(ctx, equals(ctx, shifted, -1, dtype), shifted, large);
  return where(ctx, equals(ctx, u, 1, dtype), x, small);
}

std::string scaled(ConversionContext& ctx, const std::string& x, double factor, at::ScalarType dtype) {
  return ctx.op("Mul", {x, ctx.scalar(factor, dtype)});
}

std::string trunc(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  if (!floating(dtype)) return x;
  return where(ctx, ctx.op("Less", {x, ctx.scalar(0, dtype)}), ctx.op("Ceil", {x}), ctx.op("Floor", {x}));
}

// The sign bit: negative numbers and -0 (whose reciprocal is -∞). ONNX cannot read the sign bit
// of a NaN, so NaNs count as positive.
std::string signbit(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  if (dtype == at::kBool || !c10::isSignedType(dtype)) return fill_like(ctx, x, false);
  std::string zero = ctx.scalar(0, dtype);
  std::string negative = ctx.op("Less", {x, zero});
  if (!floating(dtype)) return negative;
  std::string negative_zero = ctx.op("And", {ctx.op("Equal", {x, zero}), ctx.op("Less", {ctx.op("Reciprocal", {x}), zero})});
  return ctx.op("Or", {negative, negative_zero});
}

// torch.round(x, decimals=d): nearbyint(x·10^d)/10^d, or nearbyint(x/10^-d)·10^-d for d < 0, with
// ties to even like ONNX Round.
void round(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = input(ctx, n, 0);
  int64_t decimals = n->inputs().size() > 1 ? ctx.get_int(n->input(1)) : 0;
  if (!floating(dtype)) return ctx.bind(n->output(), x);
  if (decimals == 0) return ctx.bind(n->output(), ctx.op("Round", {x}));
  std::string scale = ctx.scalar(std::pow(10.0, static_cast<double>(std::abs(decimals))), dtype);
  bool up = decimals > 0;
  std::string rounded = ctx.op("Round", {ctx.op(up ? "Mul" : "Div", {x, scale})});
  ctx.bind(n->output(), ctx.op(up ? "Div" : "Mul", {rounded, scale}));
}

// atan2(y, x) = atan(y/x), moved by ±π (the sign of y) where x is negative or -0. Both zero gives
// y's signed zero; both infinite uses the signs alone (atan2(∞, -∞) = 3π/4).
std::string atan2(ConversionContext& ctx, const std::string& y, const std::string& x, at::ScalarType dtype) {
  std::string both_infinite = ctx.op("And", {ctx.op("IsInf", {y}), ctx.op("IsInf", {x})});
  std::string ratio = ctx.op("Div", {where(ctx, both_infinite, ctx.op("Sign", {y}), y),
                                     where(ctx, both_infinite, ctx.op("Sign", {x}), x)});
  std::string zero = ctx.scalar(0, dtype);
  std::string both_zero = ctx.op("And", {ctx.op("Equal", {y, zero}), ctx.op("Equal", {x, zero})});
  std::string base = where(ctx, both_zero, y, ctx.op("Atan", {ratio}));
  std::string half_turn = where(ctx, signbit(ctx, y, dtype), ctx.scalar(-M_PI, dtype), ctx.scalar(M_PI, dtype));
  return where(ctx, signbit(ctx, x, dtype), ctx.op("Add", {base, half_turn}), base);
}

std::string copysign(ConversionContext& ctx, const std::string& a, const std::string& b, at::ScalarType dtype) {
  std::string magnitude = ctx.op("Abs", {a});
  return where(ctx, signbit(ctx, b, dtype), ctx.op("Neg", {magnitude}), magnitude);
}

// hypot without overflow: big·sqrt(1 + (small/big)²); 0 where both are 0, ∞ where either is
// infinite (even beside a NaN, as in C's hypot).
std::string hypot(ConversionContext& ctx, const std::string& a, const std::string& b, at::ScalarType dtype) {
  std::string abs_a = ctx.op("Abs", {a}), abs_b = ctx.op("Abs", {b});
  std::string big = ctx.op("Max", {abs_a, abs_b}), small = ctx.op("Min", {abs_a, abs_b});
  std::string ratio = ctx.op("Div", {small, big});
  std::string root = ctx.op("Sqrt", {ctx.op("Add", {ctx.scalar(1, dtype), ctx.op("Mul", {ratio, ratio})})});
  std::string finite = where(ctx, equals(ctx, big, 0, dtype), big, ctx.op("Mul", {big, root}));
  std::string infinite = ctx.op("Or", {ctx.op("IsInf", {a}), ctx.op("IsInf", {b})});
  return where(ctx, infinite, infinity(ctx, dtype), finite);
}

// fmax/fmin: the other operand where one is NaN.
Binary nan_ignoring(const std::string& onnx_op) {
  return [onnx_op](ConversionContext& ctx, const std::string& a, const std::string& b, at::ScalarType dtype) {
    std::string result = ctx.op(onnx_op, {a, b});
    if (!floating(dtype)) return result;
    return where(ctx, is_nan(ctx, a, dtype), b, where(ctx, is_nan(ctx, b, dtype), a, result));
  };
}

// heaviside(x, values): values where x == 0, else x > 0 (so 0 for NaN).
std::string heaviside(ConversionContext& ctx, const std::string& x, const std::string& values, at::ScalarType dtype) {
  std::string step = ctx.cast(ctx.op("Greater", {x, ctx.scalar(0, dtype)}), dtype);
  return where(ctx, equals(ctx, x, 0, dtype), values, step);
}

// logaddexp(a, b) = max + log1p(exp(-|a - b|)), and a itself where both are the same infinity.
// The base-2 form uses exp2 and divides the log by ln 2.
Binary logaddexp(bool base2) {
  return [base2](ConversionContext& ctx, const std::string& a, const std::string& b, at::ScalarType dtype) {
    std::string gap = ctx.op("Neg", {ctx.op("Abs", {ctx.op("Sub", {a, b})})});
    std::string term = base2 ? ctx.op("Pow", {ctx.scalar(2, dtype), gap}) : ctx.op("Exp", {gap});
    std::string log_term = log1p(ctx, term, dtype);
    if (base2) log_term = scaled(ctx, log_term, 1 / M_LN2, dtype);
    std::string result = ctx.op("Add", {ctx.op("Max", {a, b}), log_term});
    std::string same_infinity = ctx.op("And", {ctx.op("IsInf", {a}), ctx.op("Equal", {a, b})});
    return where(ctx, same_infinity, a, result);
  };
}

// x·log(y) (or x·log1p(y)): NaN where y is NaN, else 0 where x is 0.
Binary x_log(bool plus_one) {
  return [plus_one](ConversionContext& ctx, const std::string& x, const std::string& y, at::ScalarType dtype) {
    std::string log = plus_one ? log1p(ctx, y, dtype) : ctx.op("Log", {y});
    std::string product = where(ctx, equals(ctx, x, 0, dtype), ctx.scalar(0, dtype), ctx.op("Mul", {x, log}));
    return where(ctx, is_nan(ctx, y, dtype), y, product);
  };
}

// entr(x) = -x·ln(x) for x > 0, 0 at 0, -∞ below, NaN kept.
std::string entr(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  std::string zero = ctx.scalar(0, dtype);
  std::string positive = ctx.op("Neg", {ctx.op("Mul", {x, ctx.op("Log", {x})})});
  std::string rest = where(ctx, ctx.op("Equal", {x, zero}), zero, infinity(ctx, dtype, true));
  std::string value = where(ctx, ctx.op("Greater", {x, zero}), positive, rest);
  return where(ctx, is_nan(ctx, x, dtype), x, value);
}

// sinc(x) = sin(πx)/(πx), 1 at 0.
std::string sinc(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  std::string product = scaled(ctx, x, M_PI, dtype);
  std::string ratio = ctx.op("Div", {ctx.op("Sin", {product}), product});
  return where(ctx, equals(ctx, x, 0, dtype), ctx.scalar(1, dtype), ratio);
}

// angle of a real number: π for negatives, 0 otherwise, NaN kept.
std::string angle(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  std::string value = where(ctx, ctx.op("Less", {x, ctx.scalar(0, dtype)}), ctx.scalar(M_PI, dtype), ctx.scalar(0, dtype));
  return where(ctx, is_nan(ctx, x, dtype), x, value);
}

// frexp(x) → (mantissa in [0.5, 1), int32 exponent) with x = mantissa·2^exponent; (x, 0) for 0, ∞
// and NaN. The exponent estimate floor(log2|x|) + 1 is computed in double and corrected by one
// where rounding put the mantissa outside [0.5, 1); the scaling by 2^-e is split in two so that
// neither factor over- or underflows, which keeps it exact.
void frexp(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  std::string x = ctx.tensor_as(n->input(0), at::kDouble);
  std::string magnitude = ctx.op("Abs", {x});
  auto d = [&](double v) { return ctx.scalar(v, at::kDouble); };
  auto scale = [&](const std::string& v, const std::string& e) {  // v·2^-e in two exact steps
    std::string first = ctx.op("Floor", {ctx.op("Mul", {e, d(0.5)})});
    std::string second = ctx.op("Sub", {e, first});
    std::string step = ctx.op("Mul", {v, ctx.op("Pow", {d(2), ctx.op("Neg", {first})})});
    return ctx.op("Mul", {step, ctx.op("Pow", {d(2), ctx.op("Neg", {second})})});
  };
  std::string regular = ctx.op("Not", {ctx.op("Or", {equals(ctx, x, 0, at::kDouble), ctx.op("IsInf", {x})})});
  regular = ctx.op("And", {regular, ctx.op("Not", {ctx.op("IsNaN", {x})})});
  std::string safe = where(ctx, regular, magnitude, d(1));
  std::string estimate = ctx.op("Add", {ctx.op("Floor", {scaled(ctx, ctx.op("Log", {safe}), 1 / M_LN2, at::kDouble)}), d(1)});
  std::string trial = scale(safe, estimate);
  std::string too_big = ctx.cast(ctx.op("GreaterOrEqual", {trial, d(1)}), at::kDouble);
  std::string too_small = ctx.cast(ctx.op("Less", {trial, d(0.5)}), at::kDouble);
  std::string exponent = ctx.op("Sub", {ctx.op("Add", {estimate, too_big}), too_small});
  exponent = where(ctx, regular, exponent, d(0));
  ctx.bind(n->output(0), ctx.cast(scale(x, exponent), dtype));
  ctx.bind(n->output(1), ctx.cast(exponent, ctx.scalar_type(n->output(1))));
}

// logit(x, eps?) = log(x/(1 - x)), x first clamped to [eps, 1 - eps] when eps is given.
void logit(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = input(ctx, n, 0);
  if (n->inputs().size() > 1 && !ctx.is_none(n->input(1))) {
    double eps = ctx.get_double(n->input(1));
    x = ctx.op("Min", {ctx.op("Max", {x, ctx.scalar(eps, dtype)}), ctx.scalar(1 - eps, dtype)});
  }
  std::string complement = ctx.op("Sub", {ctx.scalar(1, dtype), x});
  ctx.bind(n->output(), ctx.op("Log", {ctx.op("Div", {x, complement})}));
}

// nan_to_num(x, nan=0, posinf=max, neginf=lowest of the dtype).
void nan_to_num(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = input(ctx, n, 0);
  if (!floating(dtype)) return ctx.bind(n->output(), x);
  auto replacement = [&](size_t i, double fallback) {
    return ctx.scalar(ctx.is_none(n->input(i)) ? fallback : ctx.get_double(n->input(i)), dtype);
  };
  double max = dtype == at::kDouble ? std::numeric_limits<double>::max()
                                    : static_cast<double>(dtype == at::kHalf ? 65504.0f : std::numeric_limits<float>::max());
  std::string result = where(ctx, ctx.op("IsInf", {x}, {{"detect_negative", int64_t{0}}}), replacement(2, max), x);
  result = where(ctx, ctx.op("IsInf", {x}, {{"detect_positive", int64_t{0}}}), replacement(3, -max), result);
  ctx.bind(n->output(), where(ctx, ctx.op("IsNaN", {x}), replacement(1, 0), result));
}

// Float classification; integers are never NaN or infinite.
Converter classify(const std::string& onnx_op, std::vector<Attr> attrs = {}) {
  return [=](ConversionContext& ctx, const Node* n) {
    std::string x = ctx.tensor(n->input(0));
    if (!floating(ctx.scalar_type(n->input(0)))) return ctx.bind(n->output(), fill_like(ctx, x, false));
    ctx.bind(n->output(), ctx.op(onnx_op, {x}, attrs));
  };
}

void isfinite(ConversionContext& ctx, const Node* n) {
  std::string x = ctx.tensor(n->input(0));
  if (!floating(ctx.scalar_type(n->input(0)))) return ctx.bind(n->output(), fill_like(ctx, x, true));
  ctx.bind(n->output(), ctx.op("Not", {ctx.op("Or", {ctx.op("IsNaN", {x}), ctx.op("IsInf", {x})})}));
}

// isclose: a == b, or |a - b| finite and <= atol + |rtol·b|, or both NaN with equal_nan. Integers
// compare their difference in float, as torch promotes it.
void isclose(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = c10::promoteTypes(ctx.scalar_type(n->input(0)), ctx.scalar_type(n->input(1)));
  at::ScalarType real = floating(dtype) ? dtype : at::kFloat;
  std::string a = ctx.tensor_as(n->input(0), dtype), b = ctx.tensor_as(n->input(1), dtype);
  double rtol = ctx.get_double(n->input(2)), atol = ctx.get_double(n->input(3));
  std::string close = ctx.op("Equal", {a, b});
  if (dtype == at::kBool) return ctx.bind(n->output(), close);
  std::string error = ctx.cast(ctx.op("Abs", {ctx.op("Sub", {a, b})}), real);
  std::string allowed = ctx.op("Add", {ctx.scalar(atol, real), ctx.op("Abs", {scaled(ctx, ctx.cast(b, real), rtol, real)})});
  std::string within = ctx.op("LessOrEqual", {error, allowed});
  if (floating(dtype)) within = ctx.op("And", {within, ctx.op("Not", {ctx.op("IsInf", {error})})});
  close = ctx.op("Or", {close, within});
  if (floating(dtype) && ctx.get_bool(n->input(4))) {
    close = ctx.op("Or", {close, ctx.op("And", {ctx.op("IsNaN", {a}), ctx.op("IsNaN", {b})})});
  }
  ctx.bind(n->output(), close);
}

// lerp(start, end, w) as torch evaluates it: start + w·(end - start) for |w| < 0.5, else
// end - (end - start)·(1 - w).
void lerp(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string start = input(ctx, n, 0), end = input(ctx, n, 1), weight = input(ctx, n, 2);
  std::string span = ctx.op("Sub", {end, start});
  std::string from_start = ctx.op("Add", {start, ctx.op("Mul", {weight, span})});
  std::string from_end = ctx.op("Sub", {end, ctx.op("Mul", {span, ctx.op("Sub", {ctx.scalar(1, dtype), weight})})});
  if (auto known = ctx.constant(n->input(2)); known && !known->isTensor()) {
    return ctx.bind(n->output(), std::abs(ctx.get_double(n->input(2))) < 0.5 ? from_start : from_end);
  }
  std::string small = ctx.op("Less", {ctx.op("Abs", {weight}), ctx.scalar(0.5, dtype)});
  ctx.bind(n->output(), where(ctx, small, from_start, from_end));
}

// addcmul/addcdiv(self, t1, t2, value): self + (value·t1) ∘ t2, in torch's order of evaluation.
Converter add_combined(const std::string& onnx_op) {
  return [onnx_op](ConversionContext& ctx, const Node* n) {
    std::string t1 = input(ctx, n, 1);
    if (n->inputs().size() > 3 && ctx.get_double(n->input(3)) != 1.0) t1 = ctx.op("Mul", {input(ctx, n, 3), t1});
    ctx.bind(n->output(), ctx.op("Add", {input(ctx, n, 0), ctx.op(onnx_op, {t1, input(ctx, n, 2)})}));
  };
}

// threshold(x, threshold, value): value where x <= threshold.
void threshold(ConversionContext& ctx, const Node* n) {
  std::string x = input(ctx, n, 0);
  ctx.bind(n->output(), where(ctx, ctx.op("LessOrEqual", {x, input(ctx, n, 1)}), input(ctx, n, 2), x));
}

// Ops that return a real tensor unchanged.
void identity(ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), ctx.tensor(n->input(0))); }

void isreal(ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), fill_like(ctx, ctx.tensor(n->input(0)), true)); }

}  // namespace

void register_math_ops(ConverterRegistry& r) {
  auto ratio_of_log = [](double factor) {
    return unary([factor](ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
      return scaled(ctx, ctx.op("Log", {x}), factor, dtype);
    });
  };
  r.add("aten::log10", ratio_of_log(1 / M_LN10));
  r.add("aten::log2", ratio_of_log(1 / M_LN2));
  r.add("aten::log1p", unary(log1p));
  r.add("aten::special_log1p", unary(log1p));
  r.add("aten::expm1", unary(expm1));
  r.add("aten::special_expm1", unary(expm1));
  r.add("aten::exp2", unary([](ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
          return ctx.op("Pow", {ctx.scalar(2, dtype), x});
        }));
  r.add("aten::erfc", unary([](ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
          return ctx.op("Sub", {ctx.scalar(1, dtype), ctx.op("Erf", {x})});  // absolute error ≤ 1 ulp of 1
        }));
  r.add("aten::deg2rad", unary([](ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
          return scaled(ctx, x, M_PI / 180, dtype);
        }));
  r.add("aten::rad2deg", unary([](ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
          return scaled(ctx, x, 180 / M_PI, dtype);
        }));
  r.add("aten::trunc", unary(trunc));
  r.add("aten::fix", unary(trunc));
  r.add("aten::frac", unary([](ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
          return ctx.op("Sub", {x, trunc(ctx, x, dtype)});
        }));
  r.add("aten::sgn", unary([](ConversionContext& ctx, const std::string& x, at::ScalarType) { return ctx.op("Sign", {x}); }));
  r.add("aten::signbit", [](ConversionContext& ctx, const Node* n) {
    ctx.bind(n->output(), signbit(ctx, ctx.tensor(n->input(0)), ctx.scalar_type(n->input(0))));
  });
  r.add("aten::sinc", unary(sinc));
  // Φ(x) = (1 + erf(x/√2)) / 2
  r.add("aten::special_ndtr", unary([](ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
          std::string erf = ctx.op("Erf", {scaled(ctx, x, M_SQRT1_2, dtype)});
          return scaled(ctx, ctx.op("Add", {erf, ctx.scalar(1, dtype)}), 0.5, dtype);
        }));
  // j0(x) = sin(x) / x, 1 at 0
  r.add("aten::special_spherical_bessel_j0", unary([](ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
          std::string zero = ctx.op("Equal", {x, ctx.scalar(0, dtype)});
          std::string safe = where(ctx, zero, ctx.scalar(1, dtype), x);
          return where(ctx, zero, ctx.scalar(1, dtype), ctx.op("Div", {ctx.op("Sin", {safe}), safe}));
        }));
  r.add("aten::special_entr", unary(entr));
  r.add("aten::angle", unary(angle));
  r.add("aten::round", round);
  r.add("aten::special_round", round);
  r.add("aten::atan2", binary(atan2));
  r.add("aten::arctan2", binary(atan2));
  r.add("aten::copysign", binary(copysign));
  r.add("aten::hypot", binary(hypot));
  r.add("aten::fmax", binary(nan_ignoring("Max")));
  r.add("aten::fmin", binary(nan_ignoring("Min")));
  r.add("aten::heaviside", binary(heaviside));
  r.add("aten::logaddexp", binary(logaddexp(false)));
  r.add("aten::logaddexp2", binary(logaddexp(true)));
  r.add("aten::xlogy", binary(x_log(false)));
  r.add("aten::special_xlogy", binary(x_log(false)));
  r.add("aten::special_xlog1py", binary(x_log(true)));
  r.add("aten::float_power", binary([](ConversionContext& ctx, const std::string& a, const std::string& b, at::ScalarType) {
          return ctx.op("Pow", {a, b});  // both already double, the output dtype
        }));
  r.add("aten::ldexp", binary([](ConversionContext& ctx, const std::string& x, const std::string& e, at::ScalarType dtype) {
          return ctx.op("Mul", {x, ctx.op("Pow", {ctx.scalar(2, dtype), e})});
        }));
  r.add("aten::frexp", frexp);
  r.add("aten::logit", logit);
  r.add("aten::special_logit", logit);
  r.add("aten::nan_to_num", nan_to_num);
  r.add("aten::isnan", classify("IsNaN"));
  r.add("aten::isinf", classify("IsInf"));
  r.add("aten::isposinf", classify("IsInf", {{"detect_negative", int64_t{0}}}));
  r.add("aten::isneginf", classify("IsInf", {{"detect_positive", int64_t{0}}}));
  r.add("aten::isfinite", isfinite);
  r.add("aten::isreal", isreal);
  r.add("aten::isclose", isclose);
  r.add("aten::lerp", lerp);
  r.add("aten::addcmul", add_combined("Mul"));
  r.add("aten::addcdiv", add_combined("Div"));
  r.add("aten::threshold", threshold);
  for (const char* kind : {"aten::positive", "aten::real", "aten::resolve_conj", "aten::resolve_neg", "aten::conj_physical",
                           "aten::conj", "aten::_conj"}) {
    r.add(kind, identity);
  }
}

}  // namespace htp::exporter
