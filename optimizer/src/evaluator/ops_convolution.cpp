// Conv and ConvTranspose over 1 to 3 spatial axes, with groups, dilations and asymmetric pads.
#include "evaluator/window.h"

namespace htp::optimizer::eval {
namespace {

std::vector<int64_t> kernel_of(const at::Tensor& weight) {
  return {weight.sizes().begin() + 2, weight.sizes().end()};
}

void check_ranks(const NodeContext& ctx, const at::Tensor& x, const at::Tensor& weight) {
  if (x.dim() < 3 || x.dim() > 5) ctx.fail("needs an input with 1 to 3 spatial axes, got rank " + std::to_string(x.dim()));
  if (weight.dim() != x.dim()) ctx.fail("W has rank " + std::to_string(weight.dim()) + ", X " + std::to_string(x.dim()));
}

std::vector<at::Tensor> conv(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const at::Tensor& weight = ctx.input(1);
  check_ranks(ctx, x, weight);
  const int64_t group = ctx.attr_int("group", 1);
  if (group <= 0 || x.size(1) != weight.size(1) * group) {
    ctx.fail("X has " + std::to_string(x.size(1)) + " channels, W expects " + std::to_string(weight.size(1)) + " per group of " + std::to_string(group));
  }
  Window window = sliding_window(ctx, x.sizes().slice(2), kernel_of(weight));
  if (window.kernel != kernel_of(weight)) ctx.fail("kernel_shape " + c10::str(window.kernel) + " differs from W's");
  // ATen pads symmetrically; asymmetric pads are applied up front.
  std::vector<int64_t> padding = window.pads_begin;
  at::Tensor input = x;
  if (window.pads_begin != window.pads_end) {
    input = pad_spatial(x, window.pads_begin, window.pads_end, 0);
    padding.assign(window.spatial(), 0);
  }
  at::Tensor bias = ctx.has_input(2) ? ctx.input(2) : at::Tensor();
  return single(at::convolution(input, weight, bias, window.strides, padding, window.dilations, /*transposed=*/false,
                                std::vector<int64_t>(window.spatial(), 0), group));
}

// The full transposed convolution (no pads) is cropped by the pads, then grown by output_padding.
// With output_shape, pads follow from it: the odd one goes to the end for SAME_UPPER, else to the
// beginning (ONNX's rule).
std::vector<at::Tensor> conv_transpose(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const at::Tensor& weight = ctx.input(1);
  check_ranks(ctx, x, weight);
  const int64_t group = ctx.attr_int("group", 1);
  if (group <= 0 || x.size(1) != weight.size(0)) ctx.fail("X has " + std::to_string(x.size(1)) + " channels, W " + std::to_string(weight.size(0)));
  const size_t n = static_cast<size_t>(x.dim() - 2);
  std::vector<int64_t> kernel = ctx.attr_ints("kernel_shape", kernel_of(weight));
  if (kernel != kernel_of(weight)) ctx.fail("kernel_shape " + c10::str(kernel) + " differs from W's");
  std::vector<int64_t> strides = ctx.attr_ints("strides", std::vector<int64_t>(n, 1));
  std::vector<int64_t> dilations = ctx.attr_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> output_padding = ctx.attr_ints("output_padding", std::vector<int64_t>(n, 0));
  std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (strides.size() != n || dilations.size() != n || output_padding.size() != n || pads.size() != 2 * n) {
    ctx.fail("strides, dilations, output_padding and pads do not match " + std::to_string(n) + " spatial axes");
  }
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  std::vector<int64_t> output_shape = ctx.attr_ints("output_shape");
  if (output_shape.size() > n) output_shape.erase(output_shape.begin(), output_shape.end() - static_cast<int64_t>(n));
  if (output_shape.empty() && (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER")) {
    for (size_t k = 0; k < n; ++k) output_shape.push_back(x.size(static_cast<int64_t>(k) + 2) * strides[k]);
  }
  if (!output_shape.empty()) {
    if (output_shape.size() != n) ctx.fail("output_shape needs " + std::to_string(n) + " values");
    for (size_t k = 0; k < n; ++k) {
      const int64_t full = strides[k] * (x.size(static_cast<int64_t>(k) + 2) - 1) + output_padding[k] + (kernel[k] - 1) * dilations[k] + 1;
      const int64_t total = full - output_shape[k];
      pads[k] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[k + n] = total - pads[k];
    }
  } else if (auto_pad == "VALID") {
    pads.assign(2 * n, 0);
  }
  at::Tensor full = at::convolution(x, weight, at::Tensor(), strides, std::vector<int64_t>(n, 0), dilations,
                                    /*transposed=*/true, std::vector<int64_t>(n, 0), group);
  std::vector<int64_t> begin(n), end(n);
  for (size_t k = 0; k < n; ++k) {
    begin[k] = -pads[k];
    end[k] = output_padding[k] - pads[k + n];
  }
  at::Tensor y = pad_spatial(full, begin, end, 0);
  if (ctx.has_input(2)) {
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[1] = -1;
    y = y + ctx.input(2).reshape(shape);
  }
  return single(y);
}

}  // namespace

void register_convolution_ops(EvaluatorRegistry& registry) {
  registry.add("Conv", conv);
  registry.add("ConvTranspose", conv_transpose);
}

}  // namespace htp::optimizer::eval
