// Normalizations: BatchNormalization (inference), LayerNormalization, InstanceNormalization,
// LpNormalization.
#include "evaluator/registry.h"

namespace htp::optimizer::eval {
namespace {

// A per-channel [C] tensor shaped to broadcast over [N, C, d1, ...] of rank `rank`.
at::Tensor per_channel(const NodeContext& ctx, const at::Tensor& value, int64_t channels, int64_t rank, const char* what) {
  if (value.numel() != channels) ctx.fail(std::string(what) + " has " + std::to_string(value.numel()) + " values for " + std::to_string(channels) + " channels");
  std::vector<int64_t> shape(static_cast<size_t>(rank), 1);
  shape[1] = channels;
  return value.reshape(shape);
}

std::vector<at::Tensor> batch_normalization(const NodeContext& ctx) {
  if (ctx.attr_int("training_mode", 0) != 0) ctx.fail("training mode is not evaluated (inference only)");
  const at::Tensor& x = ctx.input(0);
  if (x.dim() < 2) ctx.fail("needs an input of rank 2 or more");
  const int64_t channels = x.size(1), rank = x.dim();
  at::Tensor scale = per_channel(ctx, ctx.input(1), channels, rank, "scale");
  at::Tensor bias = per_channel(ctx, ctx.input(2), channels, rank, "B");
  at::Tensor mean = per_channel(ctx, ctx.input(3), channels, rank, "input_mean");
  at::Tensor var = per_channel(ctx, ctx.input(4), channels, rank, "input_var");
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  // ATen's inference kernel is one pass over x, where the formula spelled out takes four.
  const bool all_float = x.scalar_type() == at::kFloat && scale.scalar_type() == at::kFloat &&
                         bias.scalar_type() == at::kFloat && mean.scalar_type() == at::kFloat && var.scalar_type() == at::kFloat;
  if (all_float) {
    return single(at::batch_norm(x, scale.reshape({channels}), bias.reshape({channels}), mean.reshape({channels}),
                                 var.reshape({channels}), /*training=*/false, 0.0, epsilon, /*cudnn_enabled=*/false));
  }
  return single((x - mean) / at::sqrt(var + epsilon) * scale + bias);
}

// Normalizes over the axes from `axis` to the last; Mean and InvStdDev keep those axes as size 1.
std::vector<at::Tensor> layer_normalization(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", -1), x.dim());
  std::vector<int64_t> dims;
  for (int64_t d = axis; d < x.dim(); ++d) dims.push_back(d);
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  at::Tensor mean = at::mean(x, dims, /*keepdim=*/true);
  at::Tensor centered = x - mean;
  at::Tensor inv_std_dev = at::rsqrt(at::mean(centered * centered, dims, /*keepdim=*/true) + epsilon);
  at::Tensor y = centered * inv_std_dev * ctx.input(1);
  if (ctx.has_input(2)) y = y + ctx.input(2);
  return {y, mean, inv_std_dev};
}

std::vector<at::Tensor> instance_normalization(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  if (x.dim() < 3) ctx.fail("needs an input of rank 3 or more");
  const int64_t channels = x.size(1), rank = x.dim();
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < rank; ++d) dims.push_back(d);
  at::Tensor centered = x - at::mean(x, dims, /*keepdim=*/true);
  at::Tensor var = at::mean(centered * centered, dims, /*keepdim=*/true);
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  return single(centered / at::sqrt(var + epsilon) * per_channel(ctx, ctx.input(1), channels, rank, "scale") +
                per_channel(ctx, ctx.input(2), channels, rank, "B"));
}

std::vector<at::Tensor> lp_normalization(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", -1), x.dim());
  const int64_t p = ctx.attr_int("p", 2);
  if (p != 1 && p != 2) ctx.fail("p must be 1 or 2");
  at::Tensor norm = p == 1 ? at::sum(at::abs(x), axis, /*keepdim=*/true) : at::sqrt(at::sum(x * x, axis, /*keepdim=*/true));
  return single(x / norm);
}

}  // namespace

void register_normalization_ops(EvaluatorRegistry& registry) {
  registry.add("BatchNormalization", batch_normalization);
  registry.add("LayerNormalization", layer_normalization);
  registry.add("InstanceNormalization", instance_normalization);
  registry.add("LpNormalization", lp_normalization);
}

}  // namespace htp::optimizer::eval
