// Normalization layers. BatchNorm stays BatchNormalization: folding it is the optimizer's job.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>

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
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  int64_t channels = channel_count(ctx, n->input(0));
  return ctx.op("BatchNormalization", {ctx.tensor_as(n->input(0), dtype), affine_or(ctx, weight, channels, 1, dtype),
                                       affine_or(ctx, bias, channels, 0, dtype), ctx.tensor_as(mean, dtype), ctx.tensor_as(var, dtype)},
                {{"epsilon", static_cast<float>(eps)}});
}

// A per-channel tensor (dim 1 of a rank-`rank` input) shaped (C, 1, ..., 1) to broadcast over the
// spatial dims.
std::string per_channel(ConversionContext& ctx, const std::string& v, int64_t rank) {
  std::vector<int64_t> shape(static_cast<size_t>(std::max<int64_t>(rank - 1, 1)), 1);
  shape[0] = -1;
  return ctx.op("Reshape", {v, ctx.constant_ints(shape)});
}

// Batch normalization with the statistics of the batch (training mode): the biased variance over
// every dim but the channels, y = (x - mean) · invstd · weight + bias. Returns y and the per-channel
// mean and invstd. Training also updates the running statistics in place; that is a side effect
// on buffers the exported function does not return, so it does not change the outputs and is left out.
std::vector<std::string> batch_statistics_norm(ConversionContext& ctx, const Node* n, double eps) {
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  int64_t rank = ctx.rank(n->input(0));
  std::vector<int64_t> axes{0};
  for (int64_t d = 2; d < rank; ++d) axes.push_back(d);
  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::string mean = emit_reduce(ctx, "ReduceMean", x, axes, true);
  std::string centered = ctx.op("Sub", {x, mean});
  std::string var = emit_reduce(ctx, "ReduceMean", ctx.op("Mul", {centered, centered}), axes, true);
  std::string invstd = ctx.op("Reciprocal", {ctx.op("Sqrt", {ctx.op("Add", {var, ctx.scalar(eps, dtype)})})});
  std::string y = ctx.op("Mul", {centered, invstd});
  if (!ctx.is_none(n->input(1))) y = ctx.op("Mul", {y, per_channel(ctx, ctx.tensor_as(n->input(1), dtype), rank)});
  if (!ctx.is_none(n->input(2))) y = ctx.op("Add", {y, per_channel(ctx, ctx.tensor_as(n->input(2), dtype), rank)});
  std::string flat = ctx.constant_ints({-1});
  return {y, ctx.op("Reshape", {mean, flat}), ctx.op("Reshape", {invstd, flat})};
}

// aten::batch_norm(input, weight?, bias?, running_mean?, running_var?, training, momentum, eps, cudnn)
void batch_norm(ConversionContext& ctx, const Node* n) {
  double eps = ctx.get_double(n->input(7));
  if (ctx.get_bool(n->input(5))) return ctx.bind(n->output(), batch_statistics_norm(ctx, n, eps)[0]);
  ctx.bind(n->output(), batch_normalization(ctx, n, n->input(1), n->input(2), n->input(3), n->input(4), eps));
}

// aten::native_batch_norm(input, weight?, bias?, running_mean?, running_var?, training, momentum, eps)
// → (y, save_mean, save_invstd); outside training torch returns the last two empty.
void native_batch_norm(ConversionContext& ctx, const Node* n) {
  double eps = ctx.get_double(n->input(7));
  if (ctx.get_bool(n->input(5))) {
    auto outputs = batch_statistics_norm(ctx, n, eps);
    for (size_t i = 0; i < 3; ++i) ctx.bind(n->output(i), outputs[i]);
    return;
  }
  ctx.bind(n->output(0), batch_normalization(ctx, n, n->input(1), n->input(2), n->input(3), n->input(4), eps));
  for (size_t i = 1; i < 3; ++i) {
    ctx.bind(n->output(i), ctx.constant(at::empty({0}, at::TensorOptions().dtype(ctx.scalar_type(n->output(i))))));
  }
}

// LayerNormalization over the trailing `normalized_shape` dims of (input, normalized_shape, weight?,
// bias?, eps); `outputs` 3 adds the mean and inverse standard deviation (native_layer_norm).
std::vector<std::string> layer_normalization(ConversionContext& ctx, const Node* n, size_t outputs) {
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  int64_t axes = static_cast<int64_t>(ctx.list_length(n->input(1)));
  std::string x = ctx.tensor_as(n->input(0), dtype);
  std::string scale;
  if (ctx.is_none(n->input(2))) {  // ones of the normalized shape, which may be known only at run time
    std::string normalized = ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constant_ints({-axes}), ctx.constant_ints({INT64_MAX})});
    scale = ctx.op("ConstantOfShape", {normalized}, {{"value", at::ones({1}, at::TensorOptions().dtype(dtype))}});
  } else {
    scale = ctx.tensor_as(n->input(2), dtype);
  }
  std::vector<std::string> inputs{x, scale};
  if (!ctx.is_none(n->input(3))) inputs.push_back(ctx.tensor_as(n->input(3), dtype));
  std::vector<Attr> attrs{{"axis", -axes}, {"epsilon", static_cast<float>(ctx.get_double(n->input(4)))}};
  // The statistics are kept in float unless the input is double, as torch does.
  if (dtype == at::kDouble) attrs.push_back({"stash_type", static_cast<int64_t>(onnx_dtype(dtype))});
  return ctx.op("LayerNormalization", inputs, outputs, attrs);
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
  int64_t rank = ctx.rank(n->input(0));
  if (!ctx.is_none(n->input(2))) y = ctx.op("Mul", {y, per_channel(ctx, ctx.tensor_as(n->input(2), dtype), rank)});
  if (!ctx.is_none(n->input(3))) y = ctx.op("Add", {y, per_channel(ctx, ctx.tensor_as(n->input(3), dtype), rank)});
  ctx.bind(n->output(), y);
}

}  // namespace

void register_normalization_ops(ConverterRegistry& r) {
  r.add("aten::batch_norm", batch_norm);
  r.add("aten::native_batch_norm", native_batch_norm);
  // aten::layer_norm(input, normalized_shape, weight?, bias?, eps, cudnn_enable)
  r.add("aten::layer_norm", [](ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), layer_normalization(ctx, n, 1)[0]); });
  // aten::native_layer_norm(input, normalized_shape, weight?, bias?, eps) → (y, mean, rstd)
  r.add("aten::native_layer_norm", [](ConversionContext& ctx, const Node* n) {
    auto outputs = layer_normalization(ctx, n, 3);
    for (size_t i = 0; i < 3; ++i) ctx.bind(n->output(i), outputs[i]);
  });
  r.add("aten::instance_norm", instance_norm);
  r.add("aten::group_norm", group_norm);
}

}  // namespace htp::exporter
