// The zoo must be a drop-in for torchvision 0.14.1: same module tree, class names and state_dict
// layout (fixtures/torchvision/reference_structure.json, made by make_reference.py from torchvision).
#include "htp/zoo/scoped.h"
#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

// (name, shape or class name) rows, in order.
using Entries = std::vector<std::pair<std::string, nlohmann::json>>;

const nlohmann::json& reference() {
  static const nlohmann::json json = [] {
    std::ifstream file(std::string(HTP_SOURCE_DIR) + "/fixtures/torchvision/reference_structure.json");
    if (!file) throw std::runtime_error("missing fixtures/torchvision/reference_structure.json");
    return nlohmann::json::parse(file);
  }();
  return json;
}

Entries reference_entries(const std::string& model, const std::string& section) {
  Entries entries;
  for (const auto& row : reference().at(model).at(section)) entries.emplace_back(row.at(0), row.at(1));
  return entries;
}

// Reports the first differing row rather than dumping hundreds of rows.
void expect_same_rows(const Entries& ours, const Entries& torchvision) {
  for (size_t i = 0; i < std::min(ours.size(), torchvision.size()); ++i) {
    ASSERT_EQ(ours[i], torchvision[i]) << "first difference at row " << i;
  }
  EXPECT_EQ(ours.size(), torchvision.size());
}

// Python's state_dict order: each module's own parameters, then its own buffers, in named_modules() order.
Entries state_dict_entries(const torch::nn::Module& root) {
  Entries entries;
  for (const auto& item : root.named_modules()) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& tensor : item.value()->named_parameters(/*recurse=*/false)) {
      entries.emplace_back(prefix + tensor.key(), tensor.value().sizes().vec());
    }
    for (const auto& tensor : item.value()->named_buffers(/*recurse=*/false)) {
      entries.emplace_back(prefix + tensor.key(), tensor.value().sizes().vec());
    }
  }
  return entries;
}

// The distinct (eps, momentum) of the BatchNorm layers in Python's sorted() order, as the fixture lists them.
nlohmann::json batch_norm_options(const torch::nn::Module& root) {
  std::set<std::pair<double, double>> options;
  for (const auto& module : root.modules()) {
    if (const auto* norm = module->as<torch::nn::BatchNorm2d>()) {
      options.emplace(norm->options.eps(), norm->options.momentum().value());
    }
  }
  return std::vector<std::pair<double, double>>(options.begin(), options.end());
}

// The crop size of the model's torchvision weights transforms.
int64_t default_image_side(const std::string& model) {
  static const std::map<std::string, int64_t> sides = {
      {"efficientnet_b1", 240}, {"efficientnet_b2", 288}, {"efficientnet_b3", 300}, {"efficientnet_b4", 380},
      {"efficientnet_b5", 456}, {"efficientnet_b6", 528}, {"efficientnet_b7", 600}};
  const auto found = sides.find(model);
  return found == sides.end() ? 224 : found->second;
}

Entries module_entries(const torch::nn::Module& root) {
  Entries entries;
  for (const auto& item : root.named_modules()) {
    entries.emplace_back(item.key(), htp::zoo::class_name(*item.value()));
  }
  return entries;
}

class ZooModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    model_ = htp::zoo::make_model(GetParam());
  }
  htp::zoo::ZooModel model_;
};

TEST_P(ZooModelTest, StateDictMatchesTorchvision) {
  expect_same_rows(state_dict_entries(*model_.module), reference_entries(GetParam(), "state_dict"));
}

TEST_P(ZooModelTest, ModuleTreeMatchesTorchvision) {
  expect_same_rows(module_entries(*model_.module), reference_entries(GetParam(), "modules"));
}

TEST_P(ZooModelTest, BatchNormSettingsMatchTorchvision) {
  EXPECT_EQ(batch_norm_options(*model_.module), reference().at(GetParam()).at("batch_norm"));
}

TEST_P(ZooModelTest, IsFrozenForTracing) {
  EXPECT_FALSE(model_.module->is_training());
  for (const auto& tensor : model_.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
  for (const auto& tensor : model_.module->buffers()) EXPECT_FALSE(tensor.requires_grad());
}

TEST_P(ZooModelTest, ForwardGivesFiniteLogits) {
  ASSERT_EQ(model_.inputs.size(), 1u);
  EXPECT_EQ(model_.inputs[0].name, "input");
  const int64_t side = default_image_side(GetParam());
  EXPECT_EQ(model_.inputs[0].shape, (std::vector<int64_t>{1, 3, side, side}));
  EXPECT_EQ(model_.output_names, std::vector<std::string>{"output"});

  const auto outputs = model_.forward({torch::randn(model_.inputs[0].shape)});
  ASSERT_EQ(outputs.size(), 1u);
  const auto& logits = outputs[0];
  EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{1, 1000}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  // Random BatchNorm statistics must neither wash the signal out nor blow it up (seed 0 gives a logit
  // spread from ~5e-3 for mobilenet_v3_small to ~2e2 for resnet50).
  const double spread = logits.std().item<double>();
  EXPECT_GT(spread, 1e-4);
  EXPECT_LT(spread, 1e4);
}

const std::vector<std::string> kTorchvisionModels = {
    "resnet18",        "resnet50",        "mobilenet_v2",    "mobilenet_v3_small", "efficientnet_b0", "efficientnet_b1",
    "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",    "efficientnet_b6", "efficientnet_b7"};

INSTANTIATE_TEST_SUITE_P(Torchvision, ZooModelTest, ::testing::ValuesIn(kTorchvisionModels),
                         [](const auto& info) { return info.param; });

TEST(Zoo, ListsTheTorchvisionModelsThenYoloAndSamThenTheTransformers) {
  std::vector<std::string> expected = kTorchvisionModels;
  expected.insert(expected.end(), {"yolov8n", "sam-vit-b", "bert-tiny", "bert-base", "distilbert", "roberta", "vit-base", "deit-small", "gpt2",
                                   "whisper-tiny", "whisper-base", "tinyllama"});
  EXPECT_EQ(htp::zoo::model_names(), expected);
}

TEST(Zoo, WeightsAreDeterministicPerSeed) {
  torch::manual_seed(7);
  const auto first = htp::zoo::make_model("mobilenet_v3_small");
  torch::manual_seed(7);
  const auto second = htp::zoo::make_model("mobilenet_v3_small");
  const auto a = first.module->named_parameters();
  const auto b = second.module->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].value(), b[i].value())) << a[i].key();
}

TEST(Zoo, InputShapeOverride) {
  const auto model = htp::zoo::make_model("resnet18", {{2, 3, 64, 96}});
  EXPECT_EQ(model.inputs[0].shape, (std::vector<int64_t>{2, 3, 64, 96}));
  EXPECT_EQ(model.forward({torch::randn({2, 3, 64, 96})})[0].sizes().vec(), (std::vector<int64_t>{2, 1000}));
  EXPECT_THROW(htp::zoo::make_model("resnet18", {{3, 224, 224}}), std::invalid_argument);
  // Models with a larger default size take the override too.
  const auto efficientnet = htp::zoo::make_model("efficientnet_b1", {{1, 3, 64, 80}});
  EXPECT_EQ(efficientnet.inputs[0].shape, (std::vector<int64_t>{1, 3, 64, 80}));
  EXPECT_EQ(efficientnet.forward({torch::randn({1, 3, 64, 80})})[0].sizes().vec(), (std::vector<int64_t>{1, 1000}));
}

TEST(Zoo, UnknownModelListsKnownOnes) {
  try {
    htp::zoo::make_model("nope");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()),
              "unknown model 'nope'; known models: resnet18, resnet50, mobilenet_v2, mobilenet_v3_small, "
              "efficientnet_b0, efficientnet_b1, efficientnet_b2, efficientnet_b3, efficientnet_b4, efficientnet_b5, "
              "efficientnet_b6, efficientnet_b7, yolov8n, sam-vit-b, bert-tiny, bert-base, distilbert, roberta, vit-base, deit-small, "
              "gpt2, whisper-tiny, whisper-base, tinyllama");
  }
}

}  // namespace
