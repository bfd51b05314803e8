// MaxPool (with Indices), AveragePool, GlobalAveragePool, GlobalMaxPool over 1 to 3 spatial axes.
//
// ATen pools pad symmetrically and count ceil_mode windows its own way, so the input is padded here
// to exactly the extent the ONNX output size needs and pooled without padding: explicit pads at
// both ends, plus the overhang of ceil_mode's last window (a window is only kept when it starts
// inside the input or its leading pad, as ONNX Runtime and PyTorch agree).
#include "evaluator/window.h"

#include <cmath>
#include <limits>

namespace htp::optimizer::eval {
namespace {

struct PoolGeometry {
  Window window;
  std::vector<int64_t> output;    // output spatial sizes
  std::vector<int64_t> overhang;  // padding past pads_end that the last window reaches (negative: unread tail)
};

PoolGeometry pool_geometry(const NodeContext& ctx, const at::Tensor& x) {
  if (x.dim() < 3 || x.dim() > 5) ctx.fail("needs an input with 1 to 3 spatial axes, got rank " + std::to_string(x.dim()));
  if (!ctx.has_attribute("kernel_shape")) ctx.fail("kernel_shape is required");
  PoolGeometry g;
  g.window = sliding_window(ctx, x.sizes().slice(2), {});
  const bool ceil_mode = ctx.attr_int("ceil_mode", 0) != 0;
  for (size_t k = 0; k < g.window.spatial(); ++k) {
    const int64_t size = x.size(static_cast<int64_t>(k) + 2);
    const int64_t padded = size + g.window.pads_begin[k] + g.window.pads_end[k];
    const int64_t reach = padded - g.window.span(k);
    if (reach < 0) ctx.fail("the kernel is larger than the padded input");
    const int64_t stride = g.window.strides[k];
    int64_t out = (ceil_mode ? (reach + stride - 1) / stride : reach / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= size + g.window.pads_begin[k]) --out;
    g.output.push_back(out);
    g.overhang.push_back((out - 1) * stride + g.window.span(k) - padded);
  }
  return g;
}

// `x` padded with `pad_value` over the explicit pads and `overhang_value` past them.
at::Tensor padded_input(const at::Tensor& x, const PoolGeometry& g, const at::Scalar& pad_value, const at::Scalar& overhang_value) {
  at::Tensor padded = pad_spatial(x, g.window.pads_begin, g.window.pads_end, pad_value);
  return pad_spatial(padded, std::vector<int64_t>(g.window.spatial(), 0), g.overhang, overhang_value);
}

// 1-D pools run as 2-D ones over a height of 1.
at::Tensor as_2d(const at::Tensor& x) { return x.dim() == 3 ? x.unsqueeze(2) : x; }
std::vector<int64_t> as_2d(const std::vector<int64_t>& v, int64_t one) {
  if (v.size() != 1) return v;
  return {one, v[0]};
}

// ONNX's Indices: positions in the flattened input tensor (N, C and spatial axes; the spatial ones
// column-major with storage_order 1), from ATen's positions in the padded spatial plane.
at::Tensor onnx_indices(const NodeContext& ctx, at::Tensor positions, const at::Tensor& x, const at::Tensor& padded,
                        const PoolGeometry& g) {
  const size_t n = g.window.spatial();
  const bool column_major = ctx.attr_int("storage_order", 0) != 0;
  at::Tensor result = at::zeros_like(positions);
  std::vector<at::Tensor> coords(n);
  for (size_t k = n; k-- > 0;) {
    const int64_t padded_size = padded.size(static_cast<int64_t>(k) + 2);
    coords[k] = positions.remainder(padded_size) - g.window.pads_begin[k];
    positions = positions.div(padded_size, "floor");
  }
  int64_t plane = 1;
  for (size_t j = 0; j < n; ++j) {
    const size_t k = column_major ? j : n - 1 - j;
    const int64_t size = x.size(static_cast<int64_t>(k) + 2);
    result += coords[k].clamp(0, size - 1) * plane;
    plane *= size;
  }
  std::vector<int64_t> channel_shape{x.size(0), x.size(1)};
  channel_shape.insert(channel_shape.end(), n, 1);
  return result + at::arange(x.size(0) * x.size(1), at::kLong).reshape(channel_shape) * plane;
}

std::vector<at::Tensor> max_pool(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  PoolGeometry g = pool_geometry(ctx, x);
  // Integer inputs (int8, uint8) pool exactly in double.
  const at::Tensor values = at::isFloatingType(x.scalar_type()) ? x : x.to(at::kDouble);
  const double lowest = -std::numeric_limits<double>::infinity();
  at::Tensor padded = padded_input(values, g, lowest, lowest);
  const std::vector<int64_t> zeros(g.window.spatial(), 0);
  at::Tensor pooled, positions;
  if (g.window.spatial() == 3) {
    std::tie(pooled, positions) = at::max_pool3d_with_indices(padded, g.window.kernel, g.window.strides, zeros, g.window.dilations);
  } else {
    std::tie(pooled, positions) = at::max_pool2d_with_indices(as_2d(padded), as_2d(g.window.kernel, 1), as_2d(g.window.strides, 1),
                                                              as_2d(zeros, 0), as_2d(g.window.dilations, 1));
    if (x.dim() == 3) {
      pooled = pooled.squeeze(2);
      positions = positions.squeeze(2);
    }
  }
  std::vector<at::Tensor> outputs{pooled.to(x.scalar_type())};
  if (ctx.wants_output(1)) outputs.push_back(onnx_indices(ctx, positions, x, padded, g));
  return outputs;
}

// The sum of each window divided by its element count: the input elements it covers, plus the
// explicit pads with count_include_pad, never ceil_mode's overhang.
std::vector<at::Tensor> average_pool(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  PoolGeometry g = pool_geometry(ctx, x);
  for (int64_t d : g.window.dilations) {
    if (d != 1) ctx.fail("dilated AveragePool is not supported");
  }
  const bool include_pad = ctx.attr_int("count_include_pad", 0) != 0;
  std::vector<int64_t> mask_shape{1, 1};
  mask_shape.insert(mask_shape.end(), x.sizes().begin() + 2, x.sizes().end());
  at::Tensor mask = padded_input(at::ones(mask_shape, x.options()), g, include_pad ? 1 : 0, 0);
  at::Tensor padded = padded_input(x, g, 0, 0);
  const std::vector<int64_t> zeros(g.window.spatial(), 0);
  auto window_sums = [&](const at::Tensor& t) {
    if (g.window.spatial() == 3) return at::avg_pool3d(t, g.window.kernel, g.window.strides, zeros, false, true, /*divisor_override=*/1);
    at::Tensor sums = at::avg_pool2d(as_2d(t), as_2d(g.window.kernel, 1), as_2d(g.window.strides, 1), as_2d(zeros, 0), false, true, 1);
    return x.dim() == 3 ? sums.squeeze(2) : sums;
  };
  return single(window_sums(padded) / window_sums(mask));
}

std::vector<int64_t> spatial_dims(const NodeContext& ctx, const at::Tensor& x) {
  if (x.dim() < 3) ctx.fail("needs an input of rank 3 or more");
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

std::vector<at::Tensor> global_average_pool(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  return single(at::mean(x, spatial_dims(ctx, x), /*keepdim=*/true));
}

std::vector<at::Tensor> global_max_pool(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  return single(at::amax(x, spatial_dims(ctx, x), /*keepdim=*/true));
}

}  // namespace

void register_pooling_ops(EvaluatorRegistry& registry) {
  registry.add("MaxPool", max_pool);
  registry.add("AveragePool", average_pool);
  registry.add("GlobalAveragePool", global_average_pool);
  registry.add("GlobalMaxPool", global_max_pool);
}

}  // namespace htp::optimizer::eval
