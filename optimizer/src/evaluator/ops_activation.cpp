// Activations, Clip, and the softmax family (Softmax, LogSoftmax, Hardmax).
#include "evaluator/registry.h"

#include <cfloat>

namespace htp::optimizer::eval {
namespace {

at::Tensor stable_softplus(const at::Tensor& x) {
  // log(1 + e^x) without overflow for large x.
  return at::clamp_min(x, 0) + at::log1p(at::exp(-at::abs(x)));
}

std::vector<at::Tensor> leaky_relu(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  return single(at::where(x < 0, x * ctx.attr_float("alpha", 0.01f), x));
}

std::vector<at::Tensor> elu(const NodeContext& ctx) {
  return single(at::elu(ctx.input(0), ctx.attr_float("alpha", 1.0f)));
}

std::vector<at::Tensor> selu(const NodeContext& ctx) {
  return single(at::elu(ctx.input(0), ctx.attr_float("alpha", 1.67326319217681884765625f),
                        ctx.attr_float("gamma", 1.05070102214813232421875f)));
}

std::vector<at::Tensor> celu(const NodeContext& ctx) {
  return single(at::celu(ctx.input(0), ctx.attr_float("alpha", 1.0f)));
}

std::vector<at::Tensor> hard_sigmoid(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  return single(at::clamp(x * ctx.attr_float("alpha", 0.2f) + ctx.attr_float("beta", 0.5f), 0, 1));
}

std::vector<at::Tensor> hard_swish(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  return single(x * at::clamp(x * (1.0f / 6) + 0.5f, 0, 1));
}

std::vector<at::Tensor> thresholded_relu(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  return single(at::where(x > ctx.attr_float("alpha", 1.0f), x, at::zeros_like(x)));
}

// The slope broadcasts to the input (unidirectionally).
std::vector<at::Tensor> prelu(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const at::Tensor& slope = ctx.input(1);
  if (broadcast_shapes(ctx, x.sizes(), slope.sizes()) != x.sizes().vec()) {
    ctx.fail("slope of shape " + c10::str(slope.sizes()) + " does not broadcast to " + c10::str(x.sizes()));
  }
  return single(at::where(x < 0, x * slope, x));
}

std::vector<at::Tensor> gelu(const NodeContext& ctx) {
  const std::string approximate = ctx.attr_string("approximate", "none");
  if (approximate != "none" && approximate != "tanh") ctx.fail("unknown approximate '" + approximate + "'");
  return single(at::gelu(ctx.input(0), approximate));
}

c10::optional<at::Scalar> clip_bound(const NodeContext& ctx, size_t index, const char* attribute, float fallback) {
  if (ctx.has_input(index)) {
    const at::Tensor& bound = ctx.input(index);
    if (bound.numel() != 1) ctx.fail(std::string(attribute) + " must hold one value");
    return bound.item();
  }
  // Before opset 11 the bounds were attributes.
  if (ctx.opset() < 11) return at::Scalar(ctx.attr_float(attribute, fallback));
  return c10::nullopt;
}

std::vector<at::Tensor> clip(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  auto low = clip_bound(ctx, 1, "min", -FLT_MAX);
  auto high = clip_bound(ctx, 2, "max", FLT_MAX);
  if (!low && !high) return single(x.clone());
  return single(at::clamp(x, low, high));
}

// Opset 13 normalizes along one axis (default -1); before, the input was coerced to 2-D at `axis`
// (default 1) and normalized over everything from it on.
template <typename Along>
std::vector<at::Tensor> softmax_like(const NodeContext& ctx, Along along) {
  const at::Tensor& x = ctx.input(0);
  const int64_t rank = x.dim();
  if (ctx.opset() >= 13) {
    return single(along(x, rank == 0 ? 0 : ctx.normalize_axis(ctx.attr_int("axis", -1), rank)));
  }
  int64_t axis = rank == 0 ? 0 : ctx.normalize_axis(ctx.attr_int("axis", 1), rank);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.size(d);
  return single(along(x.reshape({outer, -1}), 1).reshape(x.sizes()));
}

at::Tensor softmax_along(const at::Tensor& x, int64_t axis) { return at::softmax(x, axis); }
at::Tensor log_softmax_along(const at::Tensor& x, int64_t axis) { return at::log_softmax(x, axis); }
// One at the first maximum along the axis, zero elsewhere.
at::Tensor hardmax_along(const at::Tensor& x, int64_t axis) {
  if (x.dim() == 0) return at::ones_like(x);
  return at::zeros_like(x).scatter_(axis, at::argmax(x, axis, /*keepdim=*/true), 1);
}

using Unary = at::Tensor (*)(const at::Tensor&);

void add_unary(EvaluatorRegistry& registry, const std::string& op_type, Unary op) {
  registry.add(op_type, [op](const NodeContext& ctx) { return single(op(ctx.input(0)).to(ctx.input(0).scalar_type())); });
}

at::Tensor softsign(const at::Tensor& x) { return x / (1 + at::abs(x)); }
at::Tensor mish(const at::Tensor& x) { return x * at::tanh(stable_softplus(x)); }

}  // namespace

void register_activation_ops(EvaluatorRegistry& registry) {
  add_unary(registry, "Relu", at::relu);
  add_unary(registry, "Sigmoid", at::sigmoid);
  add_unary(registry, "Tanh", at::tanh);
  add_unary(registry, "Softplus", stable_softplus);
  add_unary(registry, "Softsign", softsign);
  add_unary(registry, "Mish", mish);
  registry.add("LeakyRelu", leaky_relu);
  registry.add("Elu", elu);
  registry.add("Selu", selu);
  registry.add("Celu", celu);
  registry.add("HardSigmoid", hard_sigmoid);
  registry.add("HardSwish", hard_swish);
  registry.add("ThresholdedRelu", thresholded_relu);
  registry.add("PRelu", prelu);
  registry.add("Gelu", gelu);
  registry.add("Clip", clip);
  registry.add("Softmax", [](const NodeContext& ctx) { return softmax_like(ctx, softmax_along); });
  registry.add("LogSoftmax", [](const NodeContext& ctx) { return softmax_like(ctx, log_softmax_along); });
  registry.add("Hardmax", [](const NodeContext& ctx) { return softmax_like(ctx, hardmax_along); });
}

}  // namespace htp::optimizer::eval
