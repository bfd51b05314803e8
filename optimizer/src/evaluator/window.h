// The sliding-window attributes Conv, ConvTranspose and the pooling ops share.
#pragma once

#include "evaluator/registry.h"

#include <vector>

namespace htp::optimizer::eval {

struct Window {
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;

  size_t spatial() const { return kernel.size(); }
  // Extent of the dilated kernel along spatial axis `k`.
  int64_t span(size_t k) const { return (kernel[k] - 1) * dilations[k] + 1; }
};

// kernel_shape (or `kernel` when the attribute is absent), strides, dilations and pads of a window
// sliding over `spatial` input sizes, with auto_pad resolved: SAME_UPPER/SAME_LOWER give
// ceil(size / stride) outputs (the extra pad at the end / the beginning), VALID no pads.
Window sliding_window(const NodeContext& ctx, at::IntArrayRef spatial, const std::vector<int64_t>& kernel);

// Pads (negative values crop) the trailing `begin.size()` axes of `x` with `value`.
at::Tensor pad_spatial(const at::Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                       const at::Scalar& value);

}  // namespace htp::optimizer::eval
