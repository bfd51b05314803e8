// Shared by the passes that fold a per-channel affine op following a Conv into its weights.
#pragma once

#include "pass.h"

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

namespace htp::optimizer {

// A Conv's weight [M, C/group, k...] in the model's dtype and bias [M] (zeros when it has none) in
// double precision. Folding adds no rounding of its own: the bias is computed in double, and the
// weight is scaled element by element in double and rounded once (scale_weight), without a double
// copy of the whole weight.
struct ConvParameters {
  at::Tensor weight;
  at::Tensor bias;
  bool weight_changed = false;  // else only the bias gets a new initializer
  int64_t out_channels() const { return weight.size(0); }
  at::ScalarType dtype() const { return weight.scalar_type(); }  // the model's
  // weight[m, ...] = round(double(weight[m, ...]) * factor[m]), or / factor[m] with `divide`;
  // `factor` is a double tensor of out_channels() values.
  void scale_weight(const at::Tensor& factor, bool divide = false);
};

// The parameters of a standard-domain Conv whose weight (and bias) are constants, whose output is
// read by `follower` alone, and whose output `follower` may take over; nullopt otherwise.
std::optional<ConvParameters> foldable_conv(const Graph& graph, const onnx::NodeProto* conv,
                                            const onnx::NodeProto& follower);

// Makes `conv` compute `follower`'s output with the given parameters: new initializers named after
// the old ones plus `suffix` (conv1.weight -> conv1.weight_fused_bn; without a bias, conv1.bias
// -> conv1.bias_fused_bn), the follower removed and recorded in htp.fused_from, and constants
// nothing reads anymore dropped.
void fold_into_conv(Graph& graph, onnx::NodeProto& conv, const ConvParameters& folded, onnx::NodeProto& follower,
                    const std::string& suffix);

}  // namespace htp::optimizer
