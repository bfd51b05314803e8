// Ultralytics YOLOv8n detection (ultralytics/cfg/models/v8/yolov8.yaml at scale n: depth 0.33, width
// 0.25, max channels 1024; modules from ultralytics/nn/modules/{conv,block,head}.py): DetectionModel
// with its `model` Sequential of Conv, C2f, SPPF, Upsample, Concat and Detect layers, so module paths
// and parameter names are those of yolov8n.pt (model.0.conv.weight, model.22.cv2.0.2.bias, ...).
// The forward is inference mode as Ultralytics exports it: decoded xywh boxes in pixels and class
// scores in one [batch, 84, anchors] tensor. The anchor grid is built from the feature-map sizes, which
// the image size fixes, so it becomes a constant; the batch stays dynamic.
#include "blocks.h"
#include "dynamic_shape.h"
#include "families.h"
#include "init.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/upsampling.h>
#include <torch/torch.h>

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

namespace htp::zoo {
namespace {

constexpr int64_t kClasses = 80;
constexpr int64_t kRegMax = 16;                      // DFL bins per box side
constexpr std::array<int64_t, 3> kStrides = {8, 16, 32};  // of the P3, P4, P5 feature maps
const NormOptions kNorm{1e-3, 0.03};                  // initialize_weights sets BatchNorm2d's eps and momentum

// ultralytics Conv: Conv2d (no bias, padding k // 2), BatchNorm2d, SiLU.
class ConvImpl : public torch::nn::Module {
 public:
  ConvImpl(int64_t in, int64_t out, int64_t kernel = 1, int64_t stride = 1)
      : conv_(register_module("conv", conv2d(in, out, kernel, stride))),
        bn_(register_module("bn", batch_norm(out, kNorm))),
        act_(make_activation(Activation::kSiLU)) {
    register_module("act", act_.ptr());
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return call_any(*this, act_, call(*this, bn_, call(*this, conv_, x)));
  }

 private:
  torch::nn::Conv2d conv_;
  torch::nn::BatchNorm2d bn_;
  torch::nn::AnyModule act_;
};
TORCH_MODULE(Conv);

// Two 3x3 Convs, with a residual when asked and the widths agree (C2f's inner blocks use e = 1).
class BottleneckImpl : public torch::nn::Module {
 public:
  BottleneckImpl(int64_t channels, bool shortcut)
      : add_(shortcut),
        cv1_(register_module("cv1", Conv(channels, channels, 3))),
        cv2_(register_module("cv2", Conv(channels, channels, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const auto y = call(*this, cv2_, call(*this, cv1_, x));
    return add_ ? x + y : y;
  }

 private:
  bool add_;
  Conv cv1_;
  Conv cv2_;
};
TORCH_MODULE(Bottleneck);

// CSP bottleneck with two convolutions: cv1 splits into two halves, each Bottleneck extends the list
// from the last entry, cv2 merges them all.
class C2fImpl : public torch::nn::Module {
 public:
  C2fImpl(int64_t in, int64_t out, int64_t blocks, bool shortcut)
      : hidden_(out / 2),
        cv1_(register_module("cv1", Conv(in, 2 * hidden_))),
        cv2_(register_module("cv2", Conv((2 + blocks) * hidden_, out))),
        m_(register_module("m", torch::nn::ModuleList())) {
    for (int64_t i = 0; i < blocks; ++i) m_->push_back(Bottleneck(hidden_, shortcut));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> y = call(*this, cv1_, x).chunk(2, 1);
    {
      TraceScope list_scope(child_name(*this, *m_));
      for (size_t i = 0; i < m_->size(); ++i) {
        auto block = m_->ptr<BottleneckImpl>(i);
        y.push_back(call(*m_, block, y.back()));
      }
    }
    return call(*this, cv2_, torch::cat(y, 1));
  }

 private:
  int64_t hidden_;
  Conv cv1_;
  Conv cv2_;
  torch::nn::ModuleList m_;
};
TORCH_MODULE(C2f);

// Spatial pyramid pooling, fast: one 5x5 max pool applied three times in a row.
class SPPFImpl : public torch::nn::Module {
 public:
  SPPFImpl(int64_t in, int64_t out)
      : cv1_(register_module("cv1", Conv(in, in / 2))),
        cv2_(register_module("cv2", Conv(in / 2 * 4, out))),
        m_(register_module("m", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(5).stride(1).padding(2)))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> y = {call(*this, cv1_, x)};
    for (int i = 0; i < 3; ++i) y.push_back(call(*this, m_, y.back()));
    return call(*this, cv2_, torch::cat(y, 1));
  }

 private:
  Conv cv1_;
  Conv cv2_;
  torch::nn::MaxPool2d m_;
};
TORCH_MODULE(SPPF);

class ConcatImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const std::vector<torch::Tensor>& x) { return torch::cat(x, 1); }
};
TORCH_MODULE(Concat);

// Distribution focal loss integral: the expected bin (0 ... 15) of a softmax over each side's bins,
// as a fixed 1x1 convolution with weights 0 ... 15.
class DFLImpl : public torch::nn::Module {
 public:
  DFLImpl() : conv_(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(kRegMax, 1, 1).bias(false)))) {}
  void set_bins() {
    torch::NoGradGuard no_grad;
    conv_->weight.copy_(torch::arange(kRegMax, torch::kFloat32).view({1, kRegMax, 1, 1}));
  }
  // x: [batch, 4 * 16, anchors] -> [batch, 4, anchors]
  torch::Tensor forward(const torch::Tensor& x) {
    const Size batch = Size::of(x, 0);
    const int64_t anchors = x.size(2);
    const auto bins = view(x, {batch, 4, kRegMax, anchors}).transpose(2, 1).softmax(1);
    return view(call(*this, conv_, bins), {batch, 4, anchors});
  }

 private:
  torch::nn::Conv2d conv_;
};
TORCH_MODULE(DFL);

// Conv, Conv, then a plain Conv2d to `out` channels: one branch of Detect's cv2 (boxes) or cv3 (classes).
Sequential detect_branch(int64_t in, int64_t hidden, int64_t out) {
  Sequential branch;
  branch->push_back(Conv(in, hidden, 3));
  branch->push_back(Conv(hidden, hidden, 3));
  branch->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, out, 1)));
  return branch;
}

class DetectImpl : public torch::nn::Module {
 public:
  explicit DetectImpl(const std::array<int64_t, 3>& channels)
      : cv2_(register_module("cv2", torch::nn::ModuleList())),
        cv3_(register_module("cv3", torch::nn::ModuleList())),
        dfl_(register_module("dfl", DFL())) {
    const int64_t box_hidden = std::max({int64_t{16}, channels[0] / 4, kRegMax * 4});
    const int64_t class_hidden = std::max(channels[0], std::min(kClasses, int64_t{100}));
    for (int64_t in : channels) {
      cv2_->push_back(detect_branch(in, box_hidden, 4 * kRegMax));
      cv3_->push_back(detect_branch(in, class_hidden, kClasses));
    }
  }
  DFLImpl& dfl() { return *dfl_; }

  torch::Tensor forward(const std::vector<torch::Tensor>& features) {
    const Size batch = Size::of(features[0], 0);
    std::vector<torch::Tensor> flat;
    for (size_t i = 0; i < features.size(); ++i) {
      const auto boxes = branch(cv2_, i, features[i]);
      const auto classes = branch(cv3_, i, features[i]);
      flat.push_back(view(torch::cat({boxes, classes}, 1), {batch, 4 * kRegMax + kClasses, -1}));
    }
    const auto joined = torch::cat(flat, 2);
    const auto [anchor_points, stride_per_anchor] = make_anchors(features);
    const auto parts = joined.split_with_sizes({4 * kRegMax, kClasses}, 1);
    const auto boxes = dist2bbox(call(*this, dfl_, parts[0]), anchor_points.unsqueeze(0)) * stride_per_anchor;
    return torch::cat({boxes, parts[1].sigmoid()}, 1);
  }

 private:
  torch::Tensor branch(torch::nn::ModuleList& list, size_t i, const torch::Tensor& x) {
    TraceScope list_scope(child_name(*this, *list));
    auto sequential = list->ptr<SequentialImpl>(i);
    return call(*list, sequential, x);
  }

  // make_anchors(feats, stride, 0.5), transposed as Detect keeps them: the centre of every cell,
  // [2, anchors], and each anchor's stride, [1, anchors].
  static std::pair<torch::Tensor, torch::Tensor> make_anchors(const std::vector<torch::Tensor>& features) {
    std::vector<torch::Tensor> points, strides;
    for (size_t i = 0; i < features.size(); ++i) {
      const int64_t h = features[i].size(2), w = features[i].size(3);
      const auto sx = torch::arange(w, torch::kFloat32) + 0.5;
      const auto sy = torch::arange(h, torch::kFloat32) + 0.5;
      const auto grid = torch::meshgrid({sy, sx}, "ij");
      points.push_back(torch::stack({grid[1], grid[0]}, -1).view({-1, 2}));
      strides.push_back(torch::full({h * w, 1}, static_cast<double>(kStrides[i]), torch::kFloat32));
    }
    return {torch::cat(points).transpose(0, 1), torch::cat(strides).transpose(0, 1)};
  }

  // dist2bbox(distance, anchors, xywh=True, dim=1): left-top and right-bottom distances to centre
  // and size.
  static torch::Tensor dist2bbox(const torch::Tensor& distance, const torch::Tensor& anchors) {
    const auto sides = distance.chunk(2, 1);
    const auto top_left = anchors - sides[0];
    const auto bottom_right = anchors + sides[1];
    return torch::cat({(top_left + bottom_right) / 2, bottom_right - top_left}, 1);
  }

  torch::nn::ModuleList cv2_;
  torch::nn::ModuleList cv3_;
  DFL dfl_;
};
TORCH_MODULE(Detect);

// DetectionModel.model: layers 0-22 of yolov8.yaml. Each layer reads the previous one's output, except
// the Concats (layers 11, 14, 17, 20 also read 6, 4, 12, 9) and Detect (15, 18, 21).
class YoloLayersImpl : public torch::nn::Module {
 public:
  YoloLayersImpl() : torch::nn::Module("Sequential") {
    add(Conv(3, 16, 3, 2));              // 0  P1/2
    add(Conv(16, 32, 3, 2));             // 1  P2/4
    add(C2f(32, 32, 1, true));           // 2
    add(Conv(32, 64, 3, 2));             // 3  P3/8
    add(C2f(64, 64, 2, true));           // 4
    add(Conv(64, 128, 3, 2));            // 5  P4/16
    add(C2f(128, 128, 2, true));         // 6
    add(Conv(128, 256, 3, 2));           // 7  P5/32
    add(C2f(256, 256, 1, true));         // 8
    add(SPPF(256, 256));                 // 9
    add(upsample());                     // 10
    add(Concat());                       // 11 cat backbone P4
    add(C2f(384, 128, 1, false));        // 12
    add(upsample());                     // 13
    add(Concat());                       // 14 cat backbone P3
    add(C2f(192, 64, 1, false));         // 15 (P3/8-small)
    add(Conv(64, 64, 3, 2));             // 16
    add(Concat());                       // 17 cat head P4
    add(C2f(192, 128, 1, false));        // 18 (P4/16-medium)
    add(Conv(128, 128, 3, 2));           // 19
    add(Concat());                       // 20 cat head P5
    add(C2f(384, 256, 1, false));        // 21 (P5/32-large)
    detect_ = add(Detect(std::array<int64_t, 3>{64, 128, 256}));  // 22
  }
  DetectImpl& detect() { return *detect_; }

  torch::Tensor forward(const torch::Tensor& images) {
    std::vector<torch::Tensor> y;
    auto run = [&](size_t i, auto&& input) {
      TraceScope scope(std::to_string(i));
      y.push_back(layers_[i].forward<torch::Tensor>(input));
    };
    run(0, images);
    for (size_t i = 1; i <= 10; ++i) run(i, y.back());
    run(11, std::vector<torch::Tensor>{y[10], y[6]});
    run(12, y.back());
    run(13, y.back());
    run(14, std::vector<torch::Tensor>{y[13], y[4]});
    run(15, y.back());
    run(16, y.back());
    run(17, std::vector<torch::Tensor>{y[16], y[12]});
    run(18, y.back());
    run(19, y.back());
    run(20, std::vector<torch::Tensor>{y[19], y[9]});
    run(21, y.back());
    run(22, std::vector<torch::Tensor>{y[15], y[18], y[21]});
    return y.back();
  }

 private:
  static torch::nn::Upsample upsample() {
    return torch::nn::Upsample(
        torch::nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
  }
  template <typename Holder>
  Holder add(Holder layer) {
    register_module(std::to_string(layers_.size()), layer.ptr());
    layers_.emplace_back(layer);
    return layer;
  }

  std::vector<torch::nn::AnyModule> layers_;
  Detect detect_{nullptr};
};
TORCH_MODULE(YoloLayers);

class DetectionModelImpl : public torch::nn::Module {
 public:
  DetectionModelImpl() : model_(register_module("model", YoloLayers())) {}
  YoloLayersImpl& layers() { return *model_; }
  torch::Tensor forward(const torch::Tensor& images) { return call(*this, model_, images); }

 private:
  YoloLayers model_;
};
TORCH_MODULE(DetectionModel);

}  // namespace

ZooModel build_yolov8n(InputSpec input) {
  const int64_t height = input.shape[2], width = input.shape[3];
  if (height % kStrides.back() != 0 || width % kStrides.back() != 0) {
    throw std::invalid_argument("yolov8n takes images whose height and width are multiples of 32, got " +
                                std::to_string(height) + "x" + std::to_string(width));
  }
  auto root = DetectionModel().ptr();
  init_weights(*root, LinearInit::kTorchDefault);
  root->layers().detect().dfl().set_bins();
  // Ultralytics' ONNX export names its output `output0`.
  return batched_image_model(root, std::move(input), "output0", {"batch", "", ""});
}

}  // namespace htp::zoo
