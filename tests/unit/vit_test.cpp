// The zoo's vit-base and deit-small must be drop-ins for Hugging Face's ViTModel (add_pooling_layer=True,
// eager attention) as published in google/vit-base-patch16-224-in21k and facebook/deit-small-patch16-224:
// same module tree, class names and state_dict, same forward semantics, and a trace that is not tied to the
// example's batch size. Forward checks run a small configuration (the published ones take seconds each).
#include "trace_zoo.h"
#include "zoo_model_checks.h"
#include "vit.h"

#include "htp/zoo/scoped.h"
#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using Shape = std::vector<int64_t>;

// 2 layers, hidden 32 in 4 heads: the published layout at a fraction of the cost.
constexpr htp::zoo::ViTConfig kSmall = {2, 32, 4, 64};

// ViTModel(config).named_modules(): the rows before, per and after the encoder layers.
const ModuleRows kModulesBeforeLayers = {
    {"", "ViTModel"},
    {"embeddings", "ViTEmbeddings"},
    {"embeddings.patch_embeddings", "ViTPatchEmbeddings"},
    {"embeddings.patch_embeddings.projection", "Conv2d"},
    {"embeddings.dropout", "Dropout"},
    {"encoder", "ViTEncoder"},
    {"encoder.layer", "ModuleList"},
};
const ModuleRows kModulesPerLayer = {
    {"", "ViTLayer"},
    {".attention", "ViTAttention"},
    {".attention.attention", "ViTSelfAttention"},
    {".attention.attention.query", "Linear"},
    {".attention.attention.key", "Linear"},
    {".attention.attention.value", "Linear"},
    {".attention.attention.dropout", "Dropout"},
    {".attention.output", "ViTSelfOutput"},
    {".attention.output.dense", "Linear"},
    {".attention.output.dropout", "Dropout"},
    {".intermediate", "ViTIntermediate"},
    {".intermediate.dense", "Linear"},
    {".intermediate.intermediate_act_fn", "GELUActivation"},
    {".output", "ViTOutput"},
    {".output.dense", "Linear"},
    {".output.dropout", "Dropout"},
    {".layernorm_before", "LayerNorm"},
    {".layernorm_after", "LayerNorm"},
};
const ModuleRows kModulesAfterLayers = {
    {"layernorm", "LayerNorm"},
    {"pooler", "ViTPooler"},
    {"pooler.dense", "Linear"},
    {"pooler.activation", "Tanh"},
};

ModuleRows reference_modules(int64_t layers) {
  ModuleRows rows = kModulesBeforeLayers;
  for (int64_t i = 0; i < layers; ++i) {
    for (const auto& [suffix, type] : kModulesPerLayer) rows.emplace_back("encoder.layer." + std::to_string(i) + suffix, type);
  }
  rows.insert(rows.end(), kModulesAfterLayers.begin(), kModulesAfterLayers.end());
  return rows;
}

// Its state_dict: each module's own parameters before its children's, so cls_token and position_embeddings
// come before the patch projection; 16 tensors per layer, no buffers (mask_token only with use_mask_token).
TensorRows reference_state_dict(const htp::zoo::ViTConfig& config) {
  const int64_t h = config.hidden;
  const int64_t ffn = config.intermediate;
  TensorRows rows = {
      {"embeddings.cls_token", {1, 1, h}},
      {"embeddings.position_embeddings", {1, 197, h}},
      {"embeddings.patch_embeddings.projection.weight", {h, 3, 16, 16}},
      {"embeddings.patch_embeddings.projection.bias", {h}},
  };
  const TensorRows per_layer = {
      {"attention.attention.query.weight", {h, h}},
      {"attention.attention.query.bias", {h}},
      {"attention.attention.key.weight", {h, h}},
      {"attention.attention.key.bias", {h}},
      {"attention.attention.value.weight", {h, h}},
      {"attention.attention.value.bias", {h}},
      {"attention.output.dense.weight", {h, h}},
      {"attention.output.dense.bias", {h}},
      {"intermediate.dense.weight", {ffn, h}},
      {"intermediate.dense.bias", {ffn}},
      {"output.dense.weight", {h, ffn}},
      {"output.dense.bias", {h}},
      {"layernorm_before.weight", {h}},
      {"layernorm_before.bias", {h}},
      {"layernorm_after.weight", {h}},
      {"layernorm_after.bias", {h}},
  };
  for (int64_t i = 0; i < config.layers; ++i) {
    for (const auto& [suffix, shape] : per_layer) rows.emplace_back("encoder.layer." + std::to_string(i) + "." + suffix, shape);
  }
  rows.insert(rows.end(), {{"layernorm.weight", {h}}, {"layernorm.bias", {h}}, {"pooler.dense.weight", {h, h}}, {"pooler.dense.bias", {h}}});
  return rows;
}

htp::zoo::ZooModel small_vit(uint64_t seed = 0) {
  torch::manual_seed(seed);
  return htp::zoo::vit_model("small-vit", kSmall, {});
}

torch::Tensor images(int64_t batch) { return torch::randn({batch, 3, 224, 224}); }

htp::zoo::ZooOptions with_batch(int64_t batch) {
  htp::zoo::ZooOptions options;
  options.batch = batch;
  return options;
}

TEST(ViT, PublishedModelsMatchHuggingFaceTreesAndStateDicts) {
  const std::vector<std::tuple<std::string, htp::zoo::ViTConfig, int64_t>> published = {
      // name, the config it must have, and the parameter count Hugging Face reports for its ViTModel
      {"vit-base", {12, 768, 12, 3072}, 86389248},
      {"deit-small", {12, 384, 6, 1536}, 21813504},
  };
  for (const auto& [name, config, count] : published) {
    torch::manual_seed(0);
    const auto model = htp::zoo::make_model(name);
    EXPECT_EQ(module_rows(*model.module), reference_modules(12)) << name;
    EXPECT_EQ(parameter_rows(*model.module), reference_state_dict(config)) << name;
    EXPECT_TRUE(model.module->named_buffers().is_empty()) << name;
    EXPECT_EQ(parameter_count(*model.module), count) << name;
  }
}

TEST(ViT, NamedParametersFollowPythonsStateDictOrder) {
  const auto model = small_vit();
  EXPECT_EQ(parameter_rows(*model.module), reference_state_dict(kSmall));
  EXPECT_EQ(module_rows(*model.module), reference_modules(2));
}

TEST(ViT, IsFrozenWithDrawnEmbeddingsAndNearIdentityLayerNorms) {
  const auto model = small_vit();
  EXPECT_FALSE(model.module->is_training());
  for (const auto& tensor : model.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
  auto parameters = model.module->named_parameters();
  for (const char* name : {"embeddings.cls_token", "embeddings.position_embeddings",
                           "embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.bias",
                           "encoder.layer.0.attention.attention.query.weight", "pooler.dense.bias"}) {
    const double std = parameters[name].std().item<double>();
    EXPECT_GT(std, 0.01) << name;
    EXPECT_LT(std, 0.03) << name;
  }
  const auto norm = parameters["encoder.layer.1.layernorm_after.weight"];
  EXPECT_TRUE(norm.ge(0.8).all().item<bool>() && norm.le(1.2).all().item<bool>());
}

TEST(ViT, DescribesItsPixelInputAndOutputs) {
  torch::manual_seed(0);
  const auto model = htp::zoo::make_model("deit-small");
  ASSERT_EQ(model.inputs.size(), 1u);
  EXPECT_EQ(model.inputs[0].name, "pixel_values");
  EXPECT_EQ(model.inputs[0].shape, (Shape{2, 3, 224, 224}));
  EXPECT_EQ(model.inputs[0].dtype, torch::kFloat32);
  EXPECT_EQ(model.inputs[0].dim_names, (std::vector<std::string>{"batch", "", "", ""}));
  EXPECT_FALSE(model.inputs[0].example);  // standard normal pixels
  EXPECT_EQ(model.output_names, (std::vector<std::string>{"last_hidden_state", "pooler_output"}));
  EXPECT_EQ(model.output_dim_names, (std::vector<std::vector<std::string>>{{"batch", "", ""}, {"batch", ""}}));
}

TEST(ViT, BatchComesFromTheOptionsAndOtherSizesAreRejected) {
  EXPECT_EQ(htp::zoo::vit_model("small-vit", kSmall, with_batch(3)).inputs[0].shape, (Shape{3, 3, 224, 224}));
  EXPECT_THROW(htp::zoo::make_model("vit-base", with_batch(-1)), std::invalid_argument);
  htp::zoo::ZooOptions sequence;
  sequence.seq_len = 16;
  EXPECT_THROW(htp::zoo::make_model("deit-small", sequence), std::invalid_argument);
  htp::zoo::ZooOptions image;
  image.input_shape = {1, 3, 224, 224};
  try {
    htp::zoo::make_model("deit-small", image);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("deit-small"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("--input-shape"), std::string::npos) << error.what();
  }
}

TEST(ViT, ForwardGivesTokenStatesAndPooledOutput) {
  const auto model = small_vit();
  const auto outputs = model.forward({images(3)});
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{3, 197, 32}));
  EXPECT_EQ(outputs[1].sizes().vec(), (Shape{3, 32}));
  for (const auto& output : outputs) EXPECT_TRUE(torch::isfinite(output).all().item<bool>());
  EXPECT_LE(outputs[1].abs().max().item<double>(), 1.0);  // tanh
  EXPECT_THROW(model.forward({torch::randn({1, 3, 192, 192})}), std::invalid_argument);
  EXPECT_THROW(model.forward({torch::randn({1, 1, 224, 224})}), std::invalid_argument);
}

// Hugging Face's ViTModel.forward written out with plain tensor functions on the state dict: pre-norm
// layers whose residuals bypass ViTSelfOutput, a final layernorm, and the pooler on the [CLS] token.
std::vector<torch::Tensor> reference_forward(const torch::nn::Module& root, const htp::zoo::ViTConfig& config,
                                             const torch::Tensor& pixels) {
  auto p = root.named_parameters();
  auto linear = [&](const torch::Tensor& x, const std::string& name) { return torch::linear(x, p[name + ".weight"], p[name + ".bias"]); };
  auto norm = [&](const torch::Tensor& x, const std::string& name) {
    return torch::layer_norm(x, {config.hidden}, p[name + ".weight"], p[name + ".bias"], 1e-12);
  };
  const int64_t batch = pixels.size(0);
  const int64_t head_size = config.hidden / config.heads;
  auto heads = [&](const torch::Tensor& x) { return x.reshape({batch, -1, config.heads, head_size}).transpose(1, 2); };

  auto patches = torch::conv2d(pixels, p["embeddings.patch_embeddings.projection.weight"],
                               p["embeddings.patch_embeddings.projection.bias"], 16);
  auto x = torch::cat({p["embeddings.cls_token"].expand({batch, 1, config.hidden}), patches.flatten(2).transpose(1, 2)}, 1);
  x = x + p["embeddings.position_embeddings"];
  for (int64_t i = 0; i < config.layers; ++i) {
    const std::string layer = "encoder.layer." + std::to_string(i) + ".";
    const auto h = norm(x, layer + "layernorm_before");
    const auto q = heads(linear(h, layer + "attention.attention.query"));
    const auto k = heads(linear(h, layer + "attention.attention.key"));
    const auto v = heads(linear(h, layer + "attention.attention.value"));
    const auto probs = torch::softmax(torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(head_size)), -1);
    const auto context = torch::matmul(probs, v).transpose(1, 2).reshape({batch, -1, config.hidden});
    x = x + linear(context, layer + "attention.output.dense");
    const auto ffn = torch::gelu(linear(norm(x, layer + "layernorm_after"), layer + "intermediate.dense"));
    x = x + linear(ffn, layer + "output.dense");
  }
  x = norm(x, "layernorm");
  return {x, torch::tanh(linear(x.select(1, 0), "pooler.dense"))};
}

TEST(ViT, ComputesHuggingFacesForward) {
  const auto model = small_vit();
  const auto pixels = images(2);
  const auto actual = model.forward({pixels});
  const auto expected = reference_forward(*model.module, kSmall, pixels);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(torch::allclose(actual[i], expected[i], 1e-5, 1e-6)) << i;
}

TEST(ViT, ImagesOfABatchDoNotMixButEveryPatchReachesEveryToken) {
  const auto model = small_vit();
  auto pixels = images(2);
  const auto before = model.forward({pixels});
  // No attention mask: one changed patch of image 1 (the top-left 16x16) changes all of image 1's tokens...
  pixels[1].slice(1, 0, 16).slice(2, 0, 16).fill_(3.0);
  const auto after = model.forward({pixels});
  const auto changed = (after[0][1] - before[0][1]).abs().amax(-1);
  EXPECT_TRUE(changed.gt(0).all().item<bool>());
  // ...and none of image 0's.
  EXPECT_TRUE(torch::equal(after[0][0], before[0][0]));
  EXPECT_TRUE(torch::equal(after[1][0], before[1][0]));
}

TEST(ViT, IsDeterministicPerSeed) {
  const auto pixels = images(2);
  expect_deterministic_per_seed([&](uint64_t seed) { return small_vit(seed).forward({pixels}); });
}

// The trace of a batch of 2 must compute the same as the eager model at batches 1 and 3: the batch (and the
// cls_token's expand) must not be baked into the graph.
TEST(ViT, TraceRunsAtOtherBatchSizes) {
  const auto model = small_vit();
  const auto traced = htp::exporter::trace_zoo_model(model, {images(2)});
  for (int64_t batch : {1, 3}) expect_trace_matches_eager(model, traced, {images(batch)}, "batch " + std::to_string(batch));
}

TEST(ViT, IsRegisteredUnderItsNames) {
  const auto& names = htp::zoo::model_names();
  for (const char* name : {"vit-base", "deit-small"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

}  // namespace
