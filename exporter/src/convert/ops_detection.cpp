// torchvision's detection operators: torchvision::nms → NonMaxSuppression, torchvision::roi_align
// → RoiAlign (the kernels that run them in the typing run are in torchvision_ops.cpp).
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace htp::exporter {
namespace {

using torch::jit::Node;

// A float32 or float64 tensor as NonMaxSuppression and RoiAlign take.
std::string as_float(ConversionContext& ctx, const torch::jit::Value* v) {
  at::ScalarType dtype = ctx.scalar_type(v);
  return dtype == at::kFloat || dtype == at::kDouble ? ctx.tensor(v) : ctx.tensor_as(v, at::kFloat);
}

// torchvision::nms(dets [N, 4], scores [N], iou_threshold) → the kept indices by decreasing score.
// NonMaxSuppression's IoU does not depend on which corner pair order the boxes use.
void nms(ConversionContext& ctx, const Node* n) {
  std::string boxes = ctx.op("Unsqueeze", {ctx.tensor_as(n->input(0), at::kFloat), ctx.constant_ints({0})});
  std::string scores = ctx.op("Unsqueeze", {ctx.tensor_as(n->input(1), at::kFloat), ctx.constant_ints({0, 1})});
  std::string every_box = ctx.op("Slice", {ctx.op("Shape", {boxes}), ctx.constant_ints({1}), ctx.constant_ints({2})});
  std::string threshold = ctx.constant(at::tensor({static_cast<float>(ctx.get_double(n->input(2)))}));
  std::string selected = ctx.op("NonMaxSuppression", {boxes, scores, every_box, threshold});
  ctx.bind(n->output(), ctx.op("Gather", {selected, ctx.scalar(2, at::kLong)}, {{"axis", int64_t{1}}}));
}

// torchvision::roi_align(input, rois [K, 5] = (batch, x1, y1, x2, y2), spatial_scale,
// pooled_height, pooled_width, sampling_ratio, aligned): aligned is RoiAlign's half_pixel
// coordinates; a sampling ratio ≤ 0 is its adaptive 0.
void roi_align(ConversionContext& ctx, const Node* n) {
  std::string x = as_float(ctx, n->input(0));
  at::ScalarType dtype = ctx.scalar_type(n->input(0)) == at::kDouble ? at::kDouble : at::kFloat;
  std::string rois = ctx.tensor_as(n->input(1), dtype);
  std::string batch = ctx.cast(ctx.op("Gather", {rois, ctx.scalar(0, at::kLong)}, {{"axis", int64_t{1}}}), at::kLong);
  std::string boxes = ctx.op("Slice", {rois, ctx.constant_ints({1}), ctx.constant_ints({5}), ctx.constant_ints({1})});
  bool aligned = ctx.get_bool(n->input(6));
  std::string pooled = ctx.op("RoiAlign", {x, boxes, batch},
                              {{"mode", std::string("avg")},
                               {"output_height", ctx.get_int(n->input(3))},
                               {"output_width", ctx.get_int(n->input(4))},
                               {"sampling_ratio", std::max<int64_t>(ctx.get_int(n->input(5)), 0)},
                               {"spatial_scale", static_cast<float>(ctx.get_double(n->input(2)))},
                               {"coordinate_transformation_mode", std::string(aligned ? "half_pixel" : "output_half_pixel")}});
  ctx.bind(n->output(), ctx.scalar_type(n->output()) == dtype ? pooled : ctx.cast(pooled, ctx.scalar_type(n->output())));
}

}  // namespace

void register_detection_ops(ConverterRegistry& r) {
  r.add("torchvision::nms", nms);
  r.add("torchvision::roi_align", roi_align);
}

}  // namespace htp::exporter
