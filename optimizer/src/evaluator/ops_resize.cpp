// Resize (opset 11 on): nearest, linear and cubic, each separable, so every resized axis is
// interpolated on its own. Coordinates are computed in float32 as ONNX Runtime does, so rounding
// at exact halves (nearest) lands on the same side.
#include "evaluator/registry.h"

#include <cmath>

namespace htp::optimizer::eval {
namespace {

struct AxisResize {
  int64_t axis;
  int64_t in;
  int64_t out;
  float scale;
};

// Output sizes and scales from `scales` or `sizes` (only for `axes` when given, opset 18), with
// keep_aspect_ratio_policy applied to sizes.
std::vector<AxisResize> axis_resizes(const NodeContext& ctx, const at::Tensor& x) {
  const int64_t rank = x.dim();
  std::vector<int64_t> axes;
  for (int64_t axis : ctx.attr_ints("axes")) axes.push_back(ctx.normalize_axis(axis, rank));
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  const bool has_scales = ctx.has_input(2) && ctx.input(2).numel() > 0;
  const bool has_sizes = ctx.has_input(3) && ctx.input(3).numel() > 0;
  if (has_scales == has_sizes) ctx.fail("exactly one of scales and sizes must be given");
  std::vector<AxisResize> resizes;
  if (has_scales) {
    at::Tensor scales = ctx.input(2).to(at::kFloat).contiguous();
    if (scales.numel() != static_cast<int64_t>(axes.size())) ctx.fail("scales need one value per axis");
    for (size_t k = 0; k < axes.size(); ++k) {
      const float scale = scales.data_ptr<float>()[k];
      if (scale <= 0) ctx.fail("scales must be positive");
      const int64_t in = x.size(axes[k]);
      resizes.push_back({axes[k], in, static_cast<int64_t>(std::floor(in * static_cast<double>(scale))), scale});
    }
    return resizes;
  }
  std::vector<int64_t> sizes = ctx.ints_input(3);
  if (sizes.size() != axes.size()) ctx.fail("sizes need one value per axis");
  const std::string policy = ctx.attr_string("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller") ctx.fail("unknown keep_aspect_ratio_policy '" + policy + "'");
  float common = policy == "not_larger" ? INFINITY : 0.0f;
  for (size_t k = 0; k < axes.size(); ++k) {
    const float scale = static_cast<float>(sizes[k]) / static_cast<float>(x.size(axes[k]));
    common = policy == "not_larger" ? std::min(common, scale) : std::max(common, scale);
  }
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t in = x.size(axes[k]);
    if (policy == "stretch") resizes.push_back({axes[k], in, sizes[k], static_cast<float>(sizes[k]) / static_cast<float>(in)});
    else resizes.push_back({axes[k], in, static_cast<int64_t>(std::llround(common * in)), common});
  }
  return resizes;
}

// Source coordinate of each output position along one axis.
at::Tensor source_coordinates(const NodeContext& ctx, const AxisResize& r) {
  const std::string mode = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  at::Tensor x = at::arange(r.out, at::kFloat);
  if (mode == "asymmetric") return x / r.scale;
  if (mode == "half_pixel") return (x + 0.5f) / r.scale - 0.5f;
  if (mode == "pytorch_half_pixel") return r.out > 1 ? (x + 0.5f) / r.scale - 0.5f : at::zeros_like(x);
  if (mode == "align_corners") {
    return r.out == 1 ? at::zeros_like(x) : x * (static_cast<float>(r.in - 1) / static_cast<float>(r.out - 1));
  }
  if (mode == "half_pixel_symmetric") {
    const float adjustment = static_cast<float>(r.out) / (r.scale * static_cast<float>(r.in));
    const float offset = static_cast<float>(r.in) / 2 * (1 - adjustment);
    return (x + 0.5f) / r.scale - 0.5f + offset;
  }
  ctx.fail("coordinate_transformation_mode '" + mode + "' is not supported");
}

at::Tensor nearest_indices(const NodeContext& ctx, const at::Tensor& coords, int64_t in) {
  const std::string mode = ctx.attr_string("nearest_mode", "round_prefer_floor");
  at::Tensor floor = at::floor(coords);
  at::Tensor rounded = at::floor(coords + 0.5f);
  at::Tensor half = (coords - floor).eq(0.5f);
  at::Tensor index;
  if (mode == "round_prefer_floor") index = at::where(half, floor, rounded);
  else if (mode == "round_prefer_ceil") index = at::where(half, at::ceil(coords), rounded);
  else if (mode == "floor") index = floor;
  else if (mode == "ceil") index = at::ceil(coords);
  else ctx.fail("unknown nearest_mode '" + mode + "'");
  return index.clamp(0, static_cast<float>(in - 1)).to(at::kLong);
}

// Weighted sum over taps: `indices[j]` and `weights[j]` are [out] each.
at::Tensor combine(const at::Tensor& x, int64_t axis, const std::vector<at::Tensor>& indices, const std::vector<at::Tensor>& weights) {
  std::vector<int64_t> weight_shape(static_cast<size_t>(x.dim()), 1);
  weight_shape[static_cast<size_t>(axis)] = -1;
  at::Tensor result;
  for (size_t j = 0; j < indices.size(); ++j) {
    at::Tensor term = x.index_select(axis, indices[j]) * weights[j].to(x.scalar_type()).reshape(weight_shape);
    result = result.defined() ? result + term : term;
  }
  return result;
}

at::Tensor linear(const at::Tensor& x, const AxisResize& r, const at::Tensor& coords) {
  at::Tensor clamped = coords.clamp(0, static_cast<float>(r.in - 1));
  at::Tensor low = at::floor(clamped);
  at::Tensor high_weight = clamped - low;
  at::Tensor low_index = low.to(at::kLong);
  at::Tensor high_index = (low_index + 1).clamp_max(r.in - 1);
  return combine(x, r.axis, {low_index, high_index}, {1 - high_weight, high_weight});
}

// Keys' cubic convolution with coefficient a over the four nearest inputs; out-of-range taps read
// the edge, or are dropped and the weights renormalized with exclude_outside.
at::Tensor cubic(const NodeContext& ctx, const at::Tensor& x, const AxisResize& r, const at::Tensor& coords) {
  const float a = ctx.attr_float("cubic_coeff_a", -0.75f);
  const bool exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
  at::Tensor base = at::floor(coords);
  at::Tensor t = coords - base;
  auto near = [a](const at::Tensor& d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };             // |d| <= 1
  auto far = [a](const at::Tensor& d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };          // 1 < |d| < 2
  std::vector<at::Tensor> weights{far(t + 1), near(t), near(1 - t), far(2 - t)};
  std::vector<at::Tensor> indices;
  at::Tensor total = at::zeros_like(t);
  for (int64_t j = 0; j < 4; ++j) {
    at::Tensor index = base.to(at::kLong) + (j - 1);
    if (exclude_outside) weights[j] = at::where((index >= 0) & (index < r.in), weights[j], at::zeros_like(t));
    total = total + weights[j];
    indices.push_back(index.clamp(0, r.in - 1));
  }
  if (exclude_outside) {
    for (auto& w : weights) w = w / total;
  }
  return combine(x, r.axis, indices, weights);
}

std::vector<at::Tensor> resize(const NodeContext& ctx) {
  if (ctx.opset() < 11) ctx.fail("Resize before opset 11 is not supported");
  if (ctx.attr_int("antialias", 0) != 0) ctx.fail("antialias is not supported");
  const at::Tensor& x = ctx.input(0);
  const std::string mode = ctx.attr_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "cubic") ctx.fail("unknown mode '" + mode + "'");
  // Integer inputs interpolate in float32 and round back.
  const bool interpolated_integers = mode != "nearest" && !at::isFloatingType(x.scalar_type());
  at::Tensor y = interpolated_integers ? x.to(at::kFloat) : x;
  for (const AxisResize& r : axis_resizes(ctx, y)) {
    if (r.in == r.out && r.scale == 1.0f) continue;
    if (r.out <= 0) ctx.fail("output size along axis " + std::to_string(r.axis) + " is " + std::to_string(r.out));
    at::Tensor coords = source_coordinates(ctx, r);
    if (mode == "nearest") y = y.index_select(r.axis, nearest_indices(ctx, coords, r.in));
    else if (mode == "linear") y = linear(y, r, coords);
    else y = cubic(ctx, y, r, coords);
  }
  if (interpolated_integers) y = at::round(y).to(x.scalar_type());
  return single(y.contiguous());
}

}  // namespace

void register_resize_ops(EvaluatorRegistry& registry) {
  registry.add("Resize", resize);
}

}  // namespace htp::optimizer::eval
