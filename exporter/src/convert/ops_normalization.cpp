// Normalization layers. BatchNorm stays BatchNormalization: folding it is the optimizer's job.
#include "convert/registry.h"

#include <ATen/ATen.h>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// A per-channel affine parameter, or `fill` repeated `channels` times when the module has none.
std::string affine_or(ConversionContext& ctx, const torch::jit::Value* v, int64_t channels, double fill, at::ScalarType dtype) {
  if (v && !ctx.is_none(v)) return ctx.tensor_as(v, dtype);
  return ctx.constant(at::full({channels}, fill, at::TensorOptions().dtype(dtype)));
}

int64_t channel_count(const ConversionContext& ctx, const torch::jit::Value* input) {
  auto sizes = ctx.sizes(input);
  if (!sizes || sizes->size() < 2) ctx.fail("needs the static channel count of its input");
  return (*sizes)[1];
}

// BatchNormalization with running statistics; absent affine parameters are ones and zeros.
std::string batch_normalization(ConversionContext& ctx, const Node* n, const Value* weight, const Value* bias, const Value* mean,
                                const Value* var, double eps) {
  if (ctx.is_none(mean) || ctx.is_none(var)) ctx.fail("normalization without running statistics");
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t channels = channel_count(ctx, n->input(0));
  return ctx.op("BatchNormalization", {ctx.tensor_as(n->input(0), dtype), affine_or(ctx, weight, channels, 1, dtype),
                                       affine_or(ctx, bias, channels, 0, dtype), ctx.tensor_as(mean, dtype), ctx.tensor_as(var, dtype)},
                {{"epsilon", static_cast<float>(eps)}});
}

// aten::batch_norm(input, weight?, bias?, running_mean?, running_var?, training, momentum, eps, cudnn)
void batch_norm(ConversionContext& ctx, const Node* n) {
  if (ctx.get_bool(n->input(5))) ctx.fail("batch_norm in training mode; export the model in eval mode");
  ctx.bind(n->output(), batch_normalization(ctx, n, n->input(1), n->input(2), n->input(3), n->input(4), ctx.get_double(n->input(7))));
}

// aten::layer_norm(input, normalized_shape, weight?, bias?, eps, cudnn_enable)
void layer_norm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::vector<int64_t> normalized = ctx.get_ints(n->input(1));
  int64_t count = 1;
  for (int64_t d : normalized) count *= d;
  std::string scale = affine_or(ctx, n->input(2), count, 1.0, dtype);
  if (ctx.is_none(n->input(2)) && normalized.size() > 1) scale = ctx.op("Reshape", {scale, ctx.constant_ints(normalized)});
  std::vector<std::string> inputs{ctx.tensor_as(n->input(0), dtype), scale};
  if (!ctx.is_none(n->input(3))) inputs.push_back(ctx.tensor_as(n->input(3), dtype));
  ctx.bind(n->output(), ctx.op("LayerNormalization", inputs,
                               {{"axis", -static_cast<int64_t>(normalized.size())},
                                {"epsilon", static_cast<float>(ctx.get_double(n->input(4)))}}));
}

// aten::instance_norm(input, weight?, bias?, running_mean?, running_var?, use_input_stats, momentum, eps, cudnn)
void instance_norm(ConversionContext& ctx, const Node* n) {
  if (!ctx.get_bool(n->input(5))) {  // tracked running statistics: a batch norm in eval mode
    ctx.bind(n->output(), batch_normalization(ctx, n, n->input(1), n->input(2), n->input(3), n->input(4), ctx.get_double(n->input(7))));
    return;
  }
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t channels = channel_count(ctx, n->input(0));
  ctx.bind(n->output(), ctx.op("InstanceNormalization", {ctx.tensor_as(n->input(0), dtype), affine_or(ctx, n->input(1), channels, 1, dtype),
                                                         affine_or(ctx, n->input(2), channels, 0, dtype)},
                               {{"epsilon", static_cast<float>(ctx.get_double(n->input(7)))}}));
}

// aten::group_norm(input, groups, weight?, bias?, eps, cudnn): opset 17 has no GroupNormalization,
// so the groups are normalized as the instances of a (N, G, -1) view, then the per-channel
// affine transform is applied.
void group_norm(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t groups = ctx.get_int(n->input(1));
  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::string grouped = ctx.op("Reshape", {x, ctx.constant_ints({0, groups, -1})});
  std::string normalized = ctx.op("InstanceNormalization", {grouped, affine_or(ctx, nullptr, groups, 1, dtype), affine_or(ctx, nullptr, groups, 0, dtype)},
                                  {{"epsilon", static_cast<float>(ctx.get_double(n->input(4)))}});
  std::string y = ctx.op("Reshape", {normalized, ctx.op("Shape", {x})});
  std::vector<int64_t> per_channel(static_cast<size_t>(ctx.rank(n->input(0)) - 1), 1);
  per_channel[0] = -1;  // (C, 1, ..., 1) broadcasts over the spatial dims
  std::string shape = ctx.constant_ints(per_channel);
  if (!ctx.is_none(n->input(2))) y = ctx.op("Mul", {y, ctx.op("Reshape", {ctx.tensor_as(n->input(2), dtype), shape})});
  if (!ctx.is_none(n->input(3))) y = ctx.op("Add", {y, ctx.op("Reshape", {ctx.tensor_as(n->input(3), dtype), shape})});
  ctx.bind(n->output(), y);
}

}  // namespace

void register_normalization_ops(ConverterRegistry& r) {
  r.add("aten::batch_norm", batch_norm);
  r.add("aten::layer_norm", layer_norm);
  r.add("aten::instance_norm", instance_norm);
  r.add("aten::group_norm", group_norm);
}

}  // namespace htp::exporter
