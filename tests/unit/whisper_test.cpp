// The zoo's whisper-tiny must be a drop-in for Hugging Face's WhisperModel (openai/whisper-tiny, WhisperAttention):
// same module tree, class names and state_dict, same forward semantics (convolutional stem, bidirectional encoder,
// causal decoder with cross-attention), and a trace that is not tied to the example's batch size and decoder
// length. Most numeric checks run a small Whisper: the encoder always attends over 1500 frames.
#include "trace_zoo.h"
#include "whisper.h"
#include "zoo_model_checks.h"

#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using Shape = std::vector<int64_t>;

using htp::zoo::WhisperSize;

constexpr WhisperSize kPublished = {4, 4, 384, 6, 1536};
constexpr WhisperSize kSmall = {2, 2, 32, 4, 64};

constexpr int64_t kVocabSize = 51865;
constexpr int64_t kFrames = 3000;

// WhisperModel(WhisperConfig.from_pretrained("openai/whisper-tiny")).named_modules(), per part.
const ModuleRows kEncoderModules = {
    {"encoder", "WhisperEncoder"},
    {"encoder.conv1", "Conv1d"},
    {"encoder.conv2", "Conv1d"},
    {"encoder.embed_positions", "Embedding"},
    {"encoder.layers", "ModuleList"},
};
const ModuleRows kAttentionModules = {
    {"", "WhisperAttention"}, {".k_proj", "Linear"}, {".v_proj", "Linear"}, {".q_proj", "Linear"}, {".out_proj", "Linear"},
};
const ModuleRows kDecoderModules = {
    {"decoder", "WhisperDecoder"},
    {"decoder.embed_tokens", "Embedding"},
    {"decoder.embed_positions", "WhisperPositionalEmbedding"},
    {"decoder.layers", "ModuleList"},
};

std::string layer_path(const std::string& part, int index) { return part + ".layers." + std::to_string(index); }

void add_attention_modules(ModuleRows& rows, const std::string& path) {
  for (const auto& [suffix, type] : kAttentionModules) rows.emplace_back(path + suffix, type);
}

ModuleRows reference_modules(const WhisperSize& size) {
  ModuleRows rows = {{"", "WhisperModel"}};
  rows.insert(rows.end(), kEncoderModules.begin(), kEncoderModules.end());
  for (int i = 0; i < size.encoder_layers; ++i) {
    const std::string layer = layer_path("encoder", i);
    rows.emplace_back(layer, "WhisperEncoderLayer");
    add_attention_modules(rows, layer + ".self_attn");
    rows.insert(rows.end(), {{layer + ".self_attn_layer_norm", "LayerNorm"},
                             {layer + ".activation_fn", "GELUActivation"},
                             {layer + ".fc1", "Linear"},
                             {layer + ".fc2", "Linear"},
                             {layer + ".final_layer_norm", "LayerNorm"}});
  }
  rows.emplace_back("encoder.layer_norm", "LayerNorm");
  rows.insert(rows.end(), kDecoderModules.begin(), kDecoderModules.end());
  for (int i = 0; i < size.decoder_layers; ++i) {
    const std::string layer = layer_path("decoder", i);
    rows.emplace_back(layer, "WhisperDecoderLayer");
    add_attention_modules(rows, layer + ".self_attn");
    rows.insert(rows.end(), {{layer + ".activation_fn", "GELUActivation"}, {layer + ".self_attn_layer_norm", "LayerNorm"}});
    add_attention_modules(rows, layer + ".encoder_attn");
    rows.insert(rows.end(), {{layer + ".encoder_attn_layer_norm", "LayerNorm"},
                             {layer + ".fc1", "Linear"},
                             {layer + ".fc2", "Linear"},
                             {layer + ".final_layer_norm", "LayerNorm"}});
  }
  rows.emplace_back("decoder.layer_norm", "LayerNorm");
  return rows;
}

// Its state_dict. k_proj has no bias; encoder.embed_positions.weight is a parameter (frozen in Hugging Face,
// sinusoids in the checkpoint); no buffers.
const TensorRows kAttentionStateDict = {
    {".k_proj.weight", {384, 384}}, {".v_proj.weight", {384, 384}}, {".v_proj.bias", {384}},
    {".q_proj.weight", {384, 384}}, {".q_proj.bias", {384}},        {".out_proj.weight", {384, 384}},
    {".out_proj.bias", {384}},
};
const TensorRows kFeedForwardStateDict = {
    {".fc1.weight", {1536, 384}}, {".fc1.bias", {1536}},         {".fc2.weight", {384, 1536}},
    {".fc2.bias", {384}},         {".final_layer_norm.weight", {384}}, {".final_layer_norm.bias", {384}},
};

void add_rows(TensorRows& rows, const std::string& prefix, const TensorRows& suffixes) {
  for (const auto& [suffix, shape] : suffixes) rows.emplace_back(prefix + suffix, shape);
}

void add_layer_norm(TensorRows& rows, const std::string& path) {
  rows.push_back({path + ".weight", {384}});
  rows.push_back({path + ".bias", {384}});
}

TensorRows reference_state_dict() {
  TensorRows rows = {{"encoder.conv1.weight", {384, 80, 3}},
                     {"encoder.conv1.bias", {384}},
                     {"encoder.conv2.weight", {384, 384, 3}},
                     {"encoder.conv2.bias", {384}},
                     {"encoder.embed_positions.weight", {1500, 384}}};
  for (int i = 0; i < kPublished.encoder_layers; ++i) {
    const std::string layer = layer_path("encoder", i);
    add_rows(rows, layer + ".self_attn", kAttentionStateDict);
    add_layer_norm(rows, layer + ".self_attn_layer_norm");
    add_rows(rows, layer, kFeedForwardStateDict);
  }
  add_layer_norm(rows, "encoder.layer_norm");
  rows.push_back({"decoder.embed_tokens.weight", {51865, 384}});
  rows.push_back({"decoder.embed_positions.weight", {448, 384}});
  for (int i = 0; i < kPublished.decoder_layers; ++i) {
    const std::string layer = layer_path("decoder", i);
    add_rows(rows, layer + ".self_attn", kAttentionStateDict);
    add_layer_norm(rows, layer + ".self_attn_layer_norm");
    add_rows(rows, layer + ".encoder_attn", kAttentionStateDict);
    add_layer_norm(rows, layer + ".encoder_attn_layer_norm");
    add_rows(rows, layer, kFeedForwardStateDict);
  }
  add_layer_norm(rows, "decoder.layer_norm");
  return rows;
}

htp::zoo::ZooModel whisper(uint64_t seed = 0, const htp::zoo::ZooOptions& options = {}) {
  torch::manual_seed(seed);
  return htp::zoo::make_model("whisper-tiny", options);
}

// Drawing 38M weights takes a while: the tests of the registered model share one.
const htp::zoo::ZooModel& published_model() {
  static const htp::zoo::ZooModel model = whisper();
  return model;
}

htp::zoo::ZooModel small_model(uint64_t seed = 0) {
  torch::manual_seed(seed);
  return htp::zoo::build_whisper(kSmall, {});
}

// input_features [batch, 80, 3000] and decoder_input_ids [batch, length] from the current torch seed.
std::vector<torch::Tensor> whisper_inputs(const htp::zoo::ZooModel& model, int64_t batch, int64_t length) {
  return {torch::randn({batch, 80, kFrames}), model.inputs.at(1).example({batch, length})};
}

// WhisperModel.forward written out from Hugging Face's modeling_whisper.py (the bmm form of its eager attention,
// the causal mask as _make_causal_mask builds it) with plain tensor ops on the state dict, independently of the
// zoo's module classes. Returns {last_hidden_state, encoder_last_hidden_state}.
std::vector<torch::Tensor> reference_forward(const htp::zoo::ZooModel& model, const WhisperSize& size,
                                             const torch::Tensor& input_features, const torch::Tensor& decoder_input_ids) {
  const auto weights = model.module->named_parameters();
  auto param = [&](const std::string& key) { return weights[key]; };
  auto linear = [&](const torch::Tensor& x, const std::string& prefix) {
    const auto* bias = weights.find(prefix + ".bias");
    return torch::linear(x, param(prefix + ".weight"), bias ? *bias : torch::Tensor());
  };
  auto norm = [&](const torch::Tensor& x, const std::string& prefix) {
    return torch::layer_norm(x, {size.d_model}, param(prefix + ".weight"), param(prefix + ".bias"), 1e-5);
  };
  const int64_t heads = size.attention_heads;
  const int64_t head_dim = size.d_model / heads;
  auto attention = [&](const torch::Tensor& x, const torch::Tensor& source, const torch::Tensor& mask,
                       const std::string& prefix) {
    const int64_t batch = x.size(0), target = x.size(1);
    auto shape = [&](const torch::Tensor& t) {
      return t.view({batch, -1, heads, head_dim}).transpose(1, 2).reshape({batch * heads, -1, head_dim});
    };
    const auto query = shape(linear(x, prefix + ".q_proj") * std::pow(head_dim, -0.5));
    const auto key = shape(linear(source, prefix + ".k_proj"));
    const auto value = shape(linear(source, prefix + ".v_proj"));
    auto scores = torch::bmm(query, key.transpose(1, 2));
    const int64_t source_length = key.size(1);
    if (mask.defined()) {
      scores = (scores.view({batch, heads, target, source_length}) + mask).view({batch * heads, target, source_length});
    }
    const auto context = torch::bmm(scores.softmax(-1), value).view({batch, heads, target, head_dim}).transpose(1, 2);
    return linear(context.reshape({batch, target, size.d_model}), prefix + ".out_proj");
  };
  auto feed_forward = [&](const torch::Tensor& x, const std::string& layer) {
    const auto inner = torch::gelu(linear(norm(x, layer + ".final_layer_norm"), layer + ".fc1"));
    return x + linear(inner, layer + ".fc2");
  };

  auto encoded = torch::gelu(torch::conv1d(input_features, param("encoder.conv1.weight"), param("encoder.conv1.bias"), 1, 1));
  encoded = torch::gelu(torch::conv1d(encoded, param("encoder.conv2.weight"), param("encoder.conv2.bias"), 2, 1));
  encoded = encoded.permute({0, 2, 1}) + param("encoder.embed_positions.weight");
  for (int i = 0; i < size.encoder_layers; ++i) {
    const std::string layer = layer_path("encoder", i);
    const auto normed = norm(encoded, layer + ".self_attn_layer_norm");
    encoded = feed_forward(encoded + attention(normed, normed, {}, layer + ".self_attn"), layer);
  }
  encoded = norm(encoded, "encoder.layer_norm");

  const int64_t batch = decoder_input_ids.size(0), length = decoder_input_ids.size(1);
  auto causal = torch::full({length, length}, std::numeric_limits<float>::lowest());
  const auto condition = torch::arange(length);
  causal.masked_fill_(condition < (condition + 1).view({length, 1}), 0.0);
  causal = causal.unsqueeze(0).unsqueeze(0).expand({batch, 1, length, length});
  auto decoded = torch::embedding(param("decoder.embed_tokens.weight"), decoder_input_ids) +
                 param("decoder.embed_positions.weight").slice(0, 0, length);
  for (int i = 0; i < size.decoder_layers; ++i) {
    const std::string layer = layer_path("decoder", i);
    const auto self_normed = norm(decoded, layer + ".self_attn_layer_norm");
    decoded = decoded + attention(self_normed, self_normed, causal, layer + ".self_attn");
    const auto cross_normed = norm(decoded, layer + ".encoder_attn_layer_norm");
    decoded = decoded + attention(cross_normed, encoded, {}, layer + ".encoder_attn");
    decoded = feed_forward(decoded, layer);
  }
  return {norm(decoded, "decoder.layer_norm"), encoded};
}

TEST(Whisper, ModuleTreeMatchesHuggingFace) {
  const auto modules = module_rows(*published_model().module);
  EXPECT_EQ(modules.size(), 124u);
  EXPECT_EQ(modules, reference_modules(kPublished));
}

TEST(Whisper, StateDictMatchesHuggingFace) {
  const auto& model = published_model();
  const auto state_dict = parameter_rows(*model.module);
  EXPECT_EQ(state_dict.size(), 167u);
  EXPECT_EQ(state_dict, reference_state_dict());
  EXPECT_TRUE(model.module->named_buffers().is_empty());
  // Encoder 8,208,384 (stem 535,296, positions 576,000, 4 layers of 1,774,080, final norm 768) plus decoder
  // 29,552,256 (tokens 19,916,160, positions 172,032, 4 layers of 2,365,824, final norm 768).
  EXPECT_EQ(parameter_count(*model.module), 37760640);
}

// openai/whisper-base: config.json on its model page (d_model 512, 6 + 6 layers, 8 heads, ffn 2048), and 72.6M
// parameters in the page's safetensors summary. Encoder 20,590,592 (stem 910,336, positions 768,000, 6 layers of
// 3,151,872, final norm 1,024) plus decoder 52,003,328 (tokens 26,554,880, positions 229,376, 6 layers of
// 4,203,008, final norm 1,024).
TEST(Whisper, BaseHasThePublishedModuleTreeAndParameterCount) {
  torch::manual_seed(0);
  const auto model = htp::zoo::make_model("whisper-base", {});
  EXPECT_EQ(module_rows(*model.module), reference_modules({6, 6, 512, 8, 2048}));
  EXPECT_EQ(parameter_count(*model.module), 72593920);
  const auto params = model.module->named_parameters();
  EXPECT_EQ(params["encoder.conv1.weight"].sizes(), torch::IntArrayRef({512, 80, 3}));
  EXPECT_EQ(params["decoder.layers.5.fc1.weight"].sizes(), torch::IntArrayRef({2048, 512}));
  EXPECT_EQ(params["decoder.embed_tokens.weight"].sizes(), torch::IntArrayRef({kVocabSize, 512}));
}

TEST(Whisper, IsFrozenWithRandomWeightsAndSinusoidalEncoderPositions) {
  const auto& model = published_model();
  EXPECT_FALSE(model.module->is_training());
  for (const auto& tensor : model.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
  const auto params = model.module->named_parameters();
  EXPECT_NEAR(params["encoder.conv1.weight"].std().item<double>(), 0.02, 0.001);
  EXPECT_GT(params["encoder.conv2.bias"].abs().max().item<double>(), 0.0);
  EXPECT_NEAR(params["decoder.layers.0.self_attn.k_proj.weight"].std().item<double>(), 0.02, 0.001);
  EXPECT_TRUE(params["decoder.embed_tokens.weight"][50257].eq(0).all().item<bool>());  // pad_token_id's row
  // sinusoids(1500, 384): sin of position · 10000^(-i/191) in the first 192 columns, cos in the others.
  const auto positions = params["encoder.embed_positions.weight"];
  EXPECT_TRUE(torch::equal(positions[0], torch::cat({torch::zeros({192}), torch::ones({192})})));
  EXPECT_NEAR(positions[1][0].item<double>(), std::sin(1.0), 1e-6);
  EXPECT_NEAR(positions[1][191].item<double>(), std::sin(1e-4), 1e-9);
  EXPECT_NEAR(positions[1499][192 + 1].item<double>(), std::cos(1499.0 * std::pow(10000.0, -1.0 / 191)), 1e-3);
}

TEST(Whisper, DescribesItsInputsAndOutputs) {
  const auto& model = published_model();
  ASSERT_EQ(model.inputs.size(), 2u);
  EXPECT_EQ(model.inputs[0].name, "input_features");
  EXPECT_EQ(model.inputs[0].shape, (Shape{2, 80, 3000}));
  EXPECT_EQ(model.inputs[0].dtype, torch::kFloat32);
  EXPECT_EQ(model.inputs[0].dim_names, (std::vector<std::string>{"batch", "", ""}));
  EXPECT_EQ(model.inputs[1].name, "decoder_input_ids");
  EXPECT_EQ(model.inputs[1].shape, (Shape{2, 16}));
  EXPECT_EQ(model.inputs[1].dtype, torch::kInt64);
  EXPECT_EQ(model.inputs[1].dim_names, (std::vector<std::string>{"batch", "sequence"}));
  EXPECT_EQ(model.output_names, (std::vector<std::string>{"last_hidden_state", "encoder_last_hidden_state"}));
  EXPECT_EQ(model.output_dim_names, (std::vector<std::vector<std::string>>{{"batch", "sequence", ""}, {"batch", "", ""}}));
  const auto ids = model.inputs[1].example({4, 8});
  EXPECT_TRUE(ids.ge(0).all().item<bool>() && ids.lt(kVocabSize).all().item<bool>());
}

TEST(Whisper, BatchAndDecoderLengthComeFromTheOptions) {
  htp::zoo::ZooOptions options;
  options.batch = 3;
  options.seq_len = 448;
  const auto model = htp::zoo::build_whisper(kSmall, options);
  EXPECT_EQ(model.inputs[0].shape, (Shape{3, 80, 3000}));
  EXPECT_EQ(model.inputs[1].shape, (Shape{3, 448}));
}

TEST(Whisper, RejectsSizesItCannotRun) {
  expect_sequence_size_limits("whisper-tiny", 448);
  EXPECT_THROW(htp::zoo::build_whisper({1, 1, 30, 4, 64}, {}), std::invalid_argument);  // 30 is not a multiple of 4
  const auto model = small_model();
  const auto ids = torch::zeros({1, 4}, torch::kInt64);
  // WhisperEncoder takes exactly 3000 frames of 80 mel bins.
  EXPECT_THROW(model.forward({torch::randn({1, 80, 2999}), ids}), std::invalid_argument);
  EXPECT_THROW(model.forward({torch::randn({1, 128, 3000}), ids}), std::invalid_argument);
  EXPECT_THROW(model.forward({torch::randn({1, 80, 3000})}), std::invalid_argument);
}

void expect_hugging_face_forward(const htp::zoo::ZooModel& model, const WhisperSize& size, int64_t batch, int64_t length) {
  const auto inputs = whisper_inputs(model, batch, length);
  const auto outputs = model.forward(inputs);
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{batch, length, size.d_model}));
  EXPECT_EQ(outputs[1].sizes().vec(), (Shape{batch, 1500, size.d_model}));
  const auto expected = reference_forward(model, size, inputs[0], inputs[1]);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(torch::isfinite(outputs[i]).all().item<bool>());
    EXPECT_TRUE(torch::allclose(outputs[i], expected[i], 1e-4, 1e-5))
        << "output " << i << ": " << (outputs[i] - expected[i]).abs().max().item<double>();
  }
}

TEST(Whisper, ForwardMatchesHuggingFacesComputation) { expect_hugging_face_forward(small_model(), kSmall, 3, 10); }

// Its 6 heads of 64 are not visible in the state dict.
TEST(Whisper, PublishedSizeMatchesHuggingFacesComputation) {
  expect_hugging_face_forward(published_model(), kPublished, 1, 8);
}

TEST(Whisper, LaterTokensDoNotReachEarlierPositions) {
  const auto model = small_model();
  auto inputs = whisper_inputs(model, 2, 16);
  const auto before = model.forward(inputs);
  inputs[1].select(1, 9).add_(1);  // a new token at position 9 of every row
  const auto after = model.forward(inputs);
  EXPECT_TRUE(torch::allclose(after[0].slice(1, 0, 9), before[0].slice(1, 0, 9)));
  EXPECT_FALSE(torch::allclose(after[0].slice(1, 9, 16), before[0].slice(1, 9, 16)));
  EXPECT_TRUE(torch::equal(after[1], before[1]));  // the encoder never sees the decoder's tokens
}

// Cross-attention: every decoder position reads the encoder's output.
TEST(Whisper, TheAudioReachesEveryDecoderPosition) {
  const auto model = small_model();
  auto inputs = whisper_inputs(model, 1, 6);
  const auto before = model.forward(inputs)[0];
  inputs[0].slice(2, 2000, 2100).add_(1.0);
  const auto after = model.forward(inputs)[0];
  for (int64_t position = 0; position < 6; ++position) {
    EXPECT_FALSE(torch::allclose(after[0][position], before[0][position])) << position;
  }
}

TEST(Whisper, IsDeterministicPerSeed) {
  expect_deterministic_per_seed([](uint64_t seed) {
    const auto model = small_model(seed);
    return model.forward(whisper_inputs(model, 2, 16));
  });
  const auto a = published_model().module->named_parameters();
  const auto b = whisper(0).module->named_parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].value(), b[i].value())) << a[i].key();
}

// The trace of the default example must compute the same as the eager model at another batch size and decoder
// length: neither size (nor the causal mask's or the position slice's length) may be baked into the graph.
TEST(Whisper, TraceRunsAtOtherBatchAndLength) {
  const auto model = small_model();
  const auto traced = htp::exporter::trace_zoo_model(model, whisper_inputs(model, 2, 16));
  EXPECT_EQ(expect_trace_matches_eager(model, traced, whisper_inputs(model, 3, 9)).size(), 2u);
}

// As in Hugging Face: the decoder builds the causal mask every self-attention adds, its positional embedding
// slices the table, and the encoder's own forward runs the stem's GELUs and adds the position table.
TEST(Whisper, MasksPositionsAndStemRunInTheirHuggingFaceModules) {
  const auto model = small_model();
  const auto traced = htp::exporter::trace_zoo_model(model, whisper_inputs(model, 2, 16));
  EXPECT_EQ(scopes_running(traced, "aten::where"), std::set<std::string>{"decoder"});
  EXPECT_EQ(scopes_running(traced, "aten::slice"), std::set<std::string>{"decoder.embed_positions"});
  std::set<std::string> gelus = {"encoder"};
  for (int i = 0; i < kSmall.encoder_layers; ++i) gelus.insert(layer_path("encoder", i) + ".activation_fn");
  for (int i = 0; i < kSmall.decoder_layers; ++i) gelus.insert(layer_path("decoder", i) + ".activation_fn");
  EXPECT_EQ(scopes_running(traced, "aten::gelu"), gelus);
  EXPECT_EQ(scopes_running(traced, "aten::softmax").size(), static_cast<size_t>(kSmall.encoder_layers + 2 * kSmall.decoder_layers));
}

}  // namespace
