// Activations: one ONNX op each where opset 17 has it, short decompositions where it does not.
#include "convert/registry.h"

#include <cmath>

namespace htp::exporter {
namespace {

using torch::jit::Node;

// The input in the output's dtype, so integer inputs of float-valued ops are promoted like torch.
std::string input_as_output(ConversionContext& ctx, const Node* n) {
  return ctx.tensor_as(n->input(0), ctx.scalar_type(n->output()));
}

Converter unary(const std::string& onnx_op, std::vector<Attr> attrs = {}) {
  return [onnx_op, attrs](ConversionContext& ctx, const Node* n) {
    ctx.bind(n->output(), ctx.op(onnx_op, {input_as_output(ctx, n)}, attrs));
  };
}

// Clip with optional bounds in the output's dtype. Clip takes scalar bounds only, so tensor bounds
// (which may also broadcast the input to a larger shape) use Max and Min.
std::string clip(ConversionContext& ctx, const Node* n, const torch::jit::Value* low, const torch::jit::Value* high) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  auto given = [&](const torch::jit::Value* v) { return v && !ctx.is_none(v); };
  auto tensor_bound = [&](const torch::jit::Value* v) { return given(v) && ctx.rank(v) > 0; };
  std::string x = input_as_output(ctx, n);
  if (tensor_bound(low) || tensor_bound(high)) {
    if (given(low)) x = ctx.op("Max", {x, ctx.tensor_as(low, dtype)});
    if (given(high)) x = ctx.op("Min", {x, ctx.tensor_as(high, dtype)});
    return x;
  }
  std::vector<std::string> inputs{x, given(low) ? ctx.tensor_as(low, dtype) : std::string()};
  if (given(high)) inputs.push_back(ctx.tensor_as(high, dtype));
  while (inputs.back().empty()) inputs.pop_back();
  return ctx.op("Clip", inputs);
}

void clamp(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), clip(ctx, n, n->input(1), n->input(2)));
}

void relu6(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), ctx.op("Clip", {input_as_output(ctx, n), ctx.scalar(0, dtype), ctx.scalar(6, dtype)}));
}

void silu(ConversionContext& ctx, const Node* n) {
  std::string x = input_as_output(ctx, n);
  ctx.bind(n->output(), ctx.op("Mul", {x, ctx.op("Sigmoid", {x})}));
}

void mish(ConversionContext& ctx, const Node* n) {
  std::string x = input_as_output(ctx, n);
  ctx.bind(n->output(), ctx.op("Mul", {x, ctx.op("Tanh", {ctx.op("Softplus", {x})})}));
}

void gelu(ConversionContext& ctx, const Node* n) {
  std::string approximate = n->inputs().size() > 1 ? ctx.constant(n->input(1))->toStringRef() : "none";
  ctx.bind(n->output(), emit_gelu(ctx, input_as_output(ctx, n), ctx.scalar_type(n->output()), approximate));
}

void leaky_relu(ConversionContext& ctx, const Node* n) {
  float slope = n->inputs().size() > 1 ? static_cast<float>(ctx.get_double(n->input(1))) : 0.01f;
  ctx.bind(n->output(), ctx.op("LeakyRelu", {input_as_output(ctx, n)}, {{"alpha", slope}}));
}

// elu(x, alpha, scale, input_scale); ONNX Elu covers scale = input_scale = 1.
void elu(ConversionContext& ctx, const Node* n) {
  if (ctx.get_double(n->input(2)) != 1.0 || ctx.get_double(n->input(3)) != 1.0) ctx.fail("elu with scale is not supported");
  ctx.bind(n->output(), ctx.op("Elu", {input_as_output(ctx, n)}, {{"alpha", static_cast<float>(ctx.get_double(n->input(1)))}}));
}

// softplus(x, beta, threshold) = log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold
// (torch's linear region).
void softplus(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  double beta = ctx.get_double(n->input(1));
  std::string x = input_as_output(ctx, n);
  std::string scaled = beta == 1.0 ? x : ctx.op("Mul", {x, ctx.scalar(beta, dtype)});
  std::string smooth = ctx.op("Softplus", {scaled});
  if (beta != 1.0) smooth = ctx.op("Div", {smooth, ctx.scalar(beta, dtype)});
  std::string linear = ctx.op("Greater", {scaled, ctx.scalar(ctx.get_double(n->input(2)), dtype)});
  ctx.bind(n->output(), ctx.op("Where", {linear, x, smooth}));
}

void softmax_like(ConversionContext& ctx, const Node* n, const std::string& onnx_op) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  ctx.bind(n->output(), ctx.op(onnx_op, {ctx.tensor_as(n->input(0), dtype)}, {{"axis", axis}}));
}

// aten::prelu(self, weight): one slope per channel (dim 1); ONNX broadcasts the slope from the
// last dim, so it is shaped (C, 1, ..., 1).
void prelu(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string slope = ctx.tensor_as(n->input(1), dtype);
  int64_t rank = ctx.rank(n->input(0));
  if (rank >= 3) {
    std::vector<int64_t> shape(static_cast<size_t>(rank - 1), 1);
    shape[0] = -1;
    slope = ctx.op("Reshape", {slope, ctx.constant_ints(shape)});
  }
  ctx.bind(n->output(), ctx.op("PRelu", {input_as_output(ctx, n), slope}));
}

// aten::celu(x, alpha) = max(0, x) + min(0, alpha·(exp(x/alpha) - 1)) = alpha·elu(x/alpha); written
// through Elu because ONNX Celu takes float only.
void celu(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  double alpha = ctx.get_double(n->input(1));
  std::string x = input_as_output(ctx, n);
  if (alpha == 1.0) return ctx.bind(n->output(), ctx.op("Elu", {x}));
  std::string scaled = ctx.op("Elu", {ctx.op("Div", {x, ctx.scalar(alpha, dtype)})});
  ctx.bind(n->output(), ctx.op("Mul", {scaled, ctx.scalar(alpha, dtype)}));
}

// aten::glu(x, dim): the first half along `dim` gated by the sigmoid of the second.
void glu(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  auto halves = ctx.op("Split", {input_as_output(ctx, n)}, 2, {{"axis", axis}});  // equal halves (opset 17)
  ctx.bind(n->output(), ctx.op("Mul", {halves[0], ctx.op("Sigmoid", {halves[1]})}));
}

// softshrink (x ∓ λ outside [-λ, λ], else 0) and hardshrink (x outside [-λ, λ], else 0) are ONNX
// Shrink with bias λ and 0.
Converter shrink(bool soft) {
  return [soft](ConversionContext& ctx, const Node* n) {
    float lambd = n->inputs().size() > 1 ? static_cast<float>(ctx.get_double(n->input(1))) : 0.5f;
    ctx.bind(n->output(), ctx.op("Shrink", {input_as_output(ctx, n)}, {{"lambd", lambd}, {"bias", soft ? lambd : 0.0f}}));
  };
}

}  // namespace

// log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|)): finite where sigmoid underflows, and without
// Softplus, which ONNX Runtime lacks for double.
std::string emit_log_sigmoid(ConversionContext& ctx, const std::string& x, at::ScalarType dtype) {
  std::string tail = ctx.op("Exp", {ctx.op("Neg", {ctx.op("Abs", {x})})});
  std::string log_term = ctx.op("Log", {ctx.op("Add", {tail, ctx.scalar(1, dtype)})});
  return ctx.op("Sub", {ctx.op("Min", {x, ctx.scalar(0, dtype)}), log_term});
}

// gelu(x) = x·Φ(x): "none" uses erf, "tanh" the tanh approximation; opset 17 has no Gelu.
std::string emit_gelu(ConversionContext& ctx, const std::string& x, at::ScalarType dtype, const std::string& approximate) {
  std::string inner;
  if (approximate == "tanh") {
    std::string cube = ctx.op("Mul", {ctx.op("Mul", {x, x}), x});
    std::string poly = ctx.op("Add", {x, ctx.op("Mul", {cube, ctx.scalar(0.044715, dtype)})});
    inner = ctx.op("Tanh", {ctx.op("Mul", {poly, ctx.scalar(std::sqrt(2.0 / M_PI), dtype)})});
  } else if (approximate == "none") {
    inner = ctx.op("Erf", {ctx.op("Mul", {x, ctx.scalar(M_SQRT1_2, dtype)})});
  } else {
    ctx.fail("unknown gelu approximation '" + approximate + "'");
  }
  std::string half_x = ctx.op("Mul", {x, ctx.scalar(0.5, dtype)});
  return ctx.op("Mul", {half_x, ctx.op("Add", {inner, ctx.scalar(1, dtype)})});
}

void register_activation_ops(ConverterRegistry& r) {
  r.add("aten::prelu", prelu);
  r.add("aten::relu", unary("Relu"));
  r.add("aten::sigmoid", unary("Sigmoid"));
  r.add("aten::tanh", unary("Tanh"));
  r.add("aten::hardswish", unary("HardSwish"));
  r.add("aten::hardsigmoid", unary("HardSigmoid", {{"alpha", 1.0f / 6.0f}, {"beta", 0.5f}}));
  r.add("aten::selu", unary("Selu"));
  r.add("aten::hardtanh", [](ConversionContext& ctx, const Node* n) { clamp(ctx, n); });
  r.add("aten::clamp", clamp);
  r.add("aten::clip", clamp);
  r.add("aten::clamp_min", [](ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), clip(ctx, n, n->input(1), nullptr)); });
  r.add("aten::clamp_max", [](ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), clip(ctx, n, nullptr, n->input(1))); });
  r.add("aten::relu6", relu6);
  r.add("aten::silu", silu);
  r.add("aten::mish", mish);
  r.add("aten::gelu", gelu);
  r.add("aten::leaky_relu", leaky_relu);
  r.add("aten::elu", elu);
  r.add("aten::softplus", softplus);
  r.add("aten::celu", celu);
  r.add("aten::glu", glu);
  r.add("aten::softshrink", shrink(true));
  r.add("aten::hardshrink", shrink(false));
  r.add("aten::log_sigmoid", [](ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), emit_log_sigmoid(ctx, input_as_output(ctx, n), ctx.scalar_type(n->output()))); });
  r.add("aten::softmax", [](ConversionContext& ctx, const Node* n) { softmax_like(ctx, n, "Softmax"); });
  r.add("aten::log_softmax", [](ConversionContext& ctx, const Node* n) { softmax_like(ctx, n, "LogSoftmax"); });
}

}  // namespace htp::exporter
