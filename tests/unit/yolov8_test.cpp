// The zoo's yolov8n must be Ultralytics' YOLOv8n (yolov8.yaml at scale n): the module tree, class names
// and parameters of yolov8n.pt, and Detect's inference output, decoded boxes and class scores in one
// [batch, 84, anchors] tensor, at any batch and at image sizes that are multiples of 32.
#include "zoo_model_checks.h"

#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <stdexcept>
#include <string>

namespace {

htp::zoo::ZooModel yolov8n(const htp::zoo::ZooOptions& options = {}) {
  torch::manual_seed(0);
  return htp::zoo::make_model("yolov8n", options);
}

// Ultralytics prints "YOLOv8n summary: 225 layers, 3157200 parameters, 3157184 gradients, 8.9 GFLOPs" when it
// builds yolov8n.yaml (the model table of docs.ultralytics.com/models/yolov8 lists 3.2M parameters and 8.7
// GFLOPs, the latter after fusing BatchNorm; costs_test checks 4.35 GMACs). Its "layers" are
// len(list(model.modules())), which lists once the one SiLU every Conv shares (the class attribute
// Conv.default_act); here each Conv has its own. The 16 parameters without gradient are DFL's fixed bins.
TEST(YoloV8n, HasUltralyticsParameterAndModuleCounts) {
  const auto model = yolov8n();
  EXPECT_EQ(parameter_count(*model.module), 3157200);
  size_t activations = 0;
  for (const auto& module : model.module->modules()) activations += htp::zoo::class_name(*module) == "SiLU";
  EXPECT_EQ(activations, 57u);
  EXPECT_EQ(model.module->modules().size() - activations + 1, 225u);
  EXPECT_FALSE(model.module->is_training());
}

TEST(YoloV8n, ModulePathsAndClassesAreUltralytics) {
  const auto rows = module_rows(*yolov8n().module);
  const std::map<std::string, std::string> classes(rows.begin(), rows.end());
  const std::map<std::string, std::string> expected = {
      {"", "DetectionModel"},        {"model", "Sequential"},         {"model.0", "Conv"},
      {"model.0.conv", "Conv2d"},    {"model.0.bn", "BatchNorm2d"},   {"model.0.act", "SiLU"},
      {"model.2", "C2f"},            {"model.2.m", "ModuleList"},     {"model.2.m.0", "Bottleneck"},
      {"model.2.m.0.cv1.conv", "Conv2d"}, {"model.4.m.1", "Bottleneck"}, {"model.9", "SPPF"},
      {"model.9.m", "MaxPool2d"},    {"model.10", "Upsample"},        {"model.11", "Concat"},
      {"model.21", "C2f"},           {"model.22", "Detect"},          {"model.22.cv2", "ModuleList"},
      {"model.22.cv2.0", "Sequential"}, {"model.22.cv2.0.0", "Conv"}, {"model.22.cv2.0.2", "Conv2d"},
      {"model.22.cv3.2.2", "Conv2d"}, {"model.22.dfl", "DFL"},        {"model.22.dfl.conv", "Conv2d"},
  };
  for (const auto& [path, type] : expected) {
    ASSERT_TRUE(classes.count(path)) << path;
    EXPECT_EQ(classes.at(path), type) << path;
  }
  EXPECT_FALSE(classes.count("model.23"));
  EXPECT_FALSE(classes.count("model.2.m.1"));  // depth 0.33: C2f at layer 2 has one Bottleneck
}

TEST(YoloV8n, ParameterShapesFollowWidthQuarter) {
  const auto params = yolov8n().module->named_parameters();
  const TensorRows expected = {
      {"model.0.conv.weight", {16, 3, 3, 3}},       {"model.2.cv1.conv.weight", {32, 32, 1, 1}},
      {"model.2.cv2.conv.weight", {32, 48, 1, 1}},  {"model.8.cv2.conv.weight", {256, 384, 1, 1}},
      {"model.9.cv2.conv.weight", {256, 512, 1, 1}}, {"model.12.cv1.conv.weight", {128, 384, 1, 1}},
      {"model.22.cv2.0.0.conv.weight", {64, 64, 3, 3}}, {"model.22.cv2.2.2.weight", {64, 64, 1, 1}},
      {"model.22.cv3.0.0.conv.weight", {80, 64, 3, 3}}, {"model.22.cv3.1.2.bias", {80}},
      {"model.22.dfl.conv.weight", {1, 16, 1, 1}},
  };
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(params.contains(name)) << name;
    EXPECT_EQ(params[name].sizes().vec(), shape) << name;
  }
  EXPECT_TRUE(torch::equal(params["model.22.dfl.conv.weight"].flatten(), torch::arange(16, torch::kFloat32)));
  const auto buffers = yolov8n().module->named_buffers();
  EXPECT_EQ(buffers["model.0.bn.running_mean"].numel(), 16);
}

// Boxes are (cx, cy, w, h) in pixels: each side's distance is an expected DFL bin in [0, 15] times the
// anchor's stride, so w and h lie in [0, 30 * stride] and the centre within 7.5 strides of its cell.
TEST(YoloV8n, DecodesBoxesAndScoresOfEveryAnchor) {
  const auto model = yolov8n({{2, 3, 320, 256}});
  torch::NoGradGuard no_grad;
  const auto output = model.forward({torch::randn({2, 3, 320, 256})})[0];
  const int64_t anchors = 40 * 32 + 20 * 16 + 10 * 8;
  ASSERT_EQ(output.sizes().vec(), (std::vector<int64_t>{2, 84, anchors}));
  const auto scores = output.slice(1, 4);
  EXPECT_TRUE(scores.gt(0).all().item<bool>() && scores.lt(1).all().item<bool>());
  const auto stride = torch::cat({torch::full({40 * 32}, 8.0), torch::full({20 * 16}, 16.0), torch::full({10 * 8}, 32.0)});
  const auto wh = output.slice(1, 2, 4);
  EXPECT_TRUE(wh.ge(0).all().item<bool>());
  EXPECT_TRUE(wh.le(30 * stride + 1e-3).all().item<bool>());
  // The first anchor is cell (0, 0) of P3: centre (4, 4) px, 8 px per stride.
  const auto centre = output.select(2, 0).slice(1, 0, 2);
  EXPECT_TRUE(centre.sub(4).abs().le(7.5 * 8 + 1e-3).all().item<bool>());
}

TEST(YoloV8n, RefusesImageSidesThatAreNotMultiplesOf32) {
  EXPECT_THROW(yolov8n({{1, 3, 640, 630}}), std::invalid_argument);
  EXPECT_EQ(yolov8n().inputs.at(0).shape, (std::vector<int64_t>{1, 3, 640, 640}));
  EXPECT_EQ(yolov8n().inputs.at(0).name, "images");
}

}  // namespace
