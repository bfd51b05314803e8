// Raising a model's default-domain opset so a fusion can use a newer op (LayerNormalization-17,
// Gelu-20), allowed only when no op the model holds changes meaning on the way.
#pragma once

#include "pass.h"

#include <cstdint>

namespace htp::optimizer {

// True when the default-domain opset is at least `target`, or was raised to it: allowed from opset
// 13 on (earlier ones moved attributes to inputs and changed Softmax's axis) when no node, in
// subgraphs too, is affected by a change in between:
//   BatchNormalization-14  with training outputs (14 keeps running statistics only)
//   RoiAlign-16            default coordinate_transformation_mode became half_pixel
//   Reduce*-18             with an axes attribute (18 takes axes as an input); ReduceSum did so at 13
//   Split-18               without split sizes (18 needs num_outputs)
//   Resize-18              with tf_half_pixel_for_nn (removed)
//   DFT-20, GridSample-20  axis became an input / mode values renamed
// Every other change from 13 to 20 adds types, ops or attributes whose defaults keep the old
// behaviour. Raising also lifts ir_version to what the opset needs (8 for 17, 9 for 20).
bool ensure_opset(Graph& graph, int64_t target);

}  // namespace htp::optimizer
