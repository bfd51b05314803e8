#include "evaluator/window.h"

namespace htp::optimizer::eval {

Window sliding_window(const NodeContext& ctx, at::IntArrayRef spatial, const std::vector<int64_t>& kernel) {
  const size_t n = spatial.size();
  Window window;
  window.kernel = ctx.attr_ints("kernel_shape", kernel);
  window.strides = ctx.attr_ints("strides", std::vector<int64_t>(n, 1));
  window.dilations = ctx.attr_ints("dilations", std::vector<int64_t>(n, 1));
  if (window.kernel.size() != n || window.strides.size() != n || window.dilations.size() != n) {
    ctx.fail("kernel_shape, strides and dilations need " + std::to_string(n) + " values");
  }
  for (size_t k = 0; k < n; ++k) {
    if (window.kernel[k] <= 0 || window.strides[k] <= 0 || window.dilations[k] <= 0) {
      ctx.fail("kernel_shape, strides and dilations must be positive");
    }
  }
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  window.pads_begin.assign(n, 0);
  window.pads_end.assign(n, 0);
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t k = 0; k < n; ++k) {
      const int64_t out = (spatial[k] + window.strides[k] - 1) / window.strides[k];
      const int64_t total = std::max<int64_t>((out - 1) * window.strides[k] + window.span(k) - spatial[k], 0);
      const int64_t smaller = total / 2;
      window.pads_begin[k] = auto_pad == "SAME_UPPER" ? smaller : total - smaller;
      window.pads_end[k] = total - window.pads_begin[k];
    }
  } else if (auto_pad == "NOTSET") {
    std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
    if (pads.size() != 2 * n) ctx.fail("pads need " + std::to_string(2 * n) + " values");
    window.pads_begin.assign(pads.begin(), pads.begin() + static_cast<int64_t>(n));
    window.pads_end.assign(pads.begin() + static_cast<int64_t>(n), pads.end());
  } else if (auto_pad != "VALID") {
    ctx.fail("unknown auto_pad '" + auto_pad + "'");
  }
  return window;
}

at::Tensor pad_spatial(const at::Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                       const at::Scalar& value) {
  // constant_pad_nd lists (begin, end) pairs from the last axis backward.
  std::vector<int64_t> pads;
  for (size_t k = begin.size(); k-- > 0;) {
    pads.push_back(begin[k]);
    pads.push_back(end[k]);
  }
  bool any = false;
  for (int64_t p : pads) any = any || p != 0;
  return any ? at::constant_pad_nd(x, pads, value) : x;
}

}  // namespace htp::optimizer::eval
