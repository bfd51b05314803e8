#include "torchvision_ops.h"

#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace htp::exporter {
namespace {

// Indices of the boxes kept by greedy non-maximum suppression, by decreasing score: a box is
// dropped when its IoU with a kept, higher-scoring box exceeds the threshold.
at::Tensor nms(const at::Tensor& dets, const at::Tensor& scores, double iou_threshold) {
  TORCH_CHECK(dets.dim() == 2 && dets.size(1) == 4, "boxes should be an N×4 tensor");
  TORCH_CHECK(scores.dim() == 1 && scores.size(0) == dets.size(0), "scores should hold one score per box");
  if (dets.numel() == 0) return at::empty({0}, dets.options().dtype(at::kLong));
  at::Tensor boxes = dets.to(at::kDouble).contiguous();
  at::Tensor order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  auto b = boxes.accessor<double, 2>();
  auto o = order.accessor<int64_t, 1>();
  int64_t count = dets.size(0);
  std::vector<bool> dropped(static_cast<size_t>(count), false);
  std::vector<int64_t> kept;
  auto area = [&](int64_t i) { return (b[i][2] - b[i][0]) * (b[i][3] - b[i][1]); };
  for (int64_t a = 0; a < count; ++a) {
    int64_t i = o[a];
    if (dropped[static_cast<size_t>(i)]) continue;
    kept.push_back(i);
    for (int64_t c = a + 1; c < count; ++c) {
      int64_t j = o[c];
      if (dropped[static_cast<size_t>(j)]) continue;
      double w = std::max(0.0, std::min(b[i][2], b[j][2]) - std::max(b[i][0], b[j][0]));
      double h = std::max(0.0, std::min(b[i][3], b[j][3]) - std::max(b[i][1], b[j][1]));
      double inter = w * h;
      if (inter / (area(i) + area(j) - inter) > iou_threshold) dropped[static_cast<size_t>(j)] = true;
    }
  }
  return at::tensor(kept, at::kLong);
}

// The value of `plane` (H×W) at (y, x) by bilinear interpolation, 0 outside [-1, H] × [-1, W].
double bilinear(const at::TensorAccessor<double, 2>& plane, int64_t height, int64_t width, double y, double x) {
  if (y < -1.0 || y > height || x < -1.0 || x > width) return 0.0;
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  auto y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x);
  int64_t y_high = y_low + 1, x_high = x_low + 1;
  if (y_low >= height - 1) y = static_cast<double>(y_high = y_low = height - 1);
  if (x_low >= width - 1) x = static_cast<double>(x_high = x_low = width - 1);
  double ly = y - static_cast<double>(y_low), lx = x - static_cast<double>(x_low), hy = 1.0 - ly, hx = 1.0 - lx;
  return hy * hx * plane[y_low][x_low] + hy * lx * plane[y_low][x_high] + ly * hx * plane[y_high][x_low] + ly * lx * plane[y_high][x_high];
}

// Average of sampled bilinear values in each of pooled_height × pooled_width bins of every RoI
// (rows of [batch index, x1, y1, x2, y2] in input coordinates, scaled by spatial_scale); aligned
// shifts by half a pixel; sampling_ratio ≤ 0 samples ceil(bin size) points per bin side.
at::Tensor roi_align(const at::Tensor& input, const at::Tensor& rois, double spatial_scale, int64_t pooled_height, int64_t pooled_width,
                     int64_t sampling_ratio, bool aligned) {
  TORCH_CHECK(input.dim() == 4, "input should be N×C×H×W");
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, "rois should be K×5");
  at::Tensor x = input.to(at::kDouble).contiguous(), r = rois.to(at::kDouble).contiguous();
  int64_t channels = x.size(1), height = x.size(2), width = x.size(3);
  at::Tensor out = at::zeros({rois.size(0), channels, pooled_height, pooled_width}, x.options());
  auto rr = r.accessor<double, 2>();
  auto xa = x.accessor<double, 4>();
  auto oa = out.accessor<double, 4>();
  double offset = aligned ? 0.5 : 0.0;
  for (int64_t k = 0; k < r.size(0); ++k) {
    auto batch = static_cast<int64_t>(rr[k][0]);
    double x1 = rr[k][1] * spatial_scale - offset, y1 = rr[k][2] * spatial_scale - offset;
    double roi_w = rr[k][3] * spatial_scale - offset - x1, roi_h = rr[k][4] * spatial_scale - offset - y1;
    if (!aligned) {
      roi_w = std::max(roi_w, 1.0);
      roi_h = std::max(roi_h, 1.0);
    }
    double bin_h = roi_h / static_cast<double>(pooled_height), bin_w = roi_w / static_cast<double>(pooled_width);
    int64_t grid_h = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(roi_h / static_cast<double>(pooled_height)));
    int64_t grid_w = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(roi_w / static_cast<double>(pooled_width)));
    double samples = static_cast<double>(std::max<int64_t>(grid_h * grid_w, 1));
    for (int64_t c = 0; c < channels; ++c) {
      auto plane = xa[batch][c];
      for (int64_t ph = 0; ph < pooled_height; ++ph) {
        for (int64_t pw = 0; pw < pooled_width; ++pw) {
          double sum = 0.0;
          for (int64_t iy = 0; iy < grid_h; ++iy) {
            double y = y1 + static_cast<double>(ph) * bin_h + (static_cast<double>(iy) + 0.5) * bin_h / static_cast<double>(grid_h);
            for (int64_t ix = 0; ix < grid_w; ++ix) {
              double xx = x1 + static_cast<double>(pw) * bin_w + (static_cast<double>(ix) + 0.5) * bin_w / static_cast<double>(grid_w);
              sum += bilinear(plane, height, width, y, xx);
            }
          }
          oa[k][c][ph][pw] = sum / samples;
        }
      }
    }
  }
  return out.to(input.scalar_type());
}

}  // namespace

void register_torchvision_ops() {
  static torch::Library schemas(torch::Library::FRAGMENT, "torchvision", c10::nullopt, __FILE__, __LINE__);
  static bool registered = [] {
    schemas.def("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor", &nms);
    schemas.def(
        "roi_align(Tensor input, Tensor rois, float spatial_scale, int pooled_height, int pooled_width, int sampling_ratio, bool aligned) -> Tensor",
        &roi_align);
    return true;
  }();
  (void)registered;
}

}  // namespace htp::exporter
