// The zoo's tinyllama must be a drop-in for Hugging Face's LlamaModel with TinyLlama-1.1B's configuration
// (transformers >= 4.45 layout, eager attention): same module tree, class names and state_dict, same forward
// semantics (RMSNorm, rotary embeddings, grouped-query attention, SwiGLU, causal plus padding mask), and a trace
// not tied to the example's batch size and sequence length. Its 4.1 GB of weights are not drawn here: the
// published configuration is listed on the meta device by the code that builds the model, and the numeric
// checks run a small configuration.
#include "llama.h"
#include "trace_zoo.h"
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

using htp::zoo::LlamaConfig;

// Two layers, 4 query heads of 8 sharing 2 key/value heads.
constexpr LlamaConfig kSmall = {32, 48, 2, 4, 2, 101, 64, 1e-5, 10000.0};
// The same with one key/value head per query head (no grouping).
constexpr LlamaConfig kSmallWithoutGroups = {32, 48, 2, 4, 4, 101, 64, 1e-5, 10000.0};

// LlamaModel(LlamaConfig.from_pretrained("TinyLlama/TinyLlama-1.1B-Chat-v1.0")).named_modules(): these before
// the layers, then per layer kReferenceLayerModules, then kReferenceModulesTail.
const ModuleRows kReferenceModulesHead = {{"", "LlamaModel"}, {"embed_tokens", "Embedding"}, {"layers", "ModuleList"}};

// Paths under layers.N.
const ModuleRows kReferenceLayerModules = {
    {"", "LlamaDecoderLayer"},
    {".self_attn", "LlamaAttention"},
    {".self_attn.q_proj", "Linear"},
    {".self_attn.k_proj", "Linear"},
    {".self_attn.v_proj", "Linear"},
    {".self_attn.o_proj", "Linear"},
    {".mlp", "LlamaMLP"},
    {".mlp.gate_proj", "Linear"},
    {".mlp.up_proj", "Linear"},
    {".mlp.down_proj", "Linear"},
    {".mlp.act_fn", "SiLUActivation"},
    {".input_layernorm", "LlamaRMSNorm"},
    {".post_attention_layernorm", "LlamaRMSNorm"},
};

const ModuleRows kReferenceModulesTail = {{"norm", "LlamaRMSNorm"}, {"rotary_emb", "LlamaRotaryEmbedding"}};

// Its state_dict: the embedding table, 9 tensors per layer (no biases; k_proj and v_proj are 4 heads of 64 wide),
// the final norm. No rotary_emb.inv_freq: transformers registers it with persistent=False.
const TensorRows kReferenceLayerStateDict = {
    {"self_attn.q_proj.weight", {2048, 2048}},
    {"self_attn.k_proj.weight", {256, 2048}},
    {"self_attn.v_proj.weight", {256, 2048}},
    {"self_attn.o_proj.weight", {2048, 2048}},
    {"mlp.gate_proj.weight", {5632, 2048}},
    {"mlp.up_proj.weight", {5632, 2048}},
    {"mlp.down_proj.weight", {2048, 5632}},
    {"input_layernorm.weight", {2048}},
    {"post_attention_layernorm.weight", {2048}},
};

constexpr int64_t kTinyLlamaLayers = 22;

std::string layer_path(int64_t index) { return "layers." + std::to_string(index); }

ModuleRows reference_modules() {
  auto modules = kReferenceModulesHead;
  for (int64_t i = 0; i < kTinyLlamaLayers; ++i) {
    for (const auto& [suffix, class_name] : kReferenceLayerModules) modules.emplace_back(layer_path(i) + suffix, class_name);
  }
  modules.insert(modules.end(), kReferenceModulesTail.begin(), kReferenceModulesTail.end());
  return modules;
}

TensorRows reference_state_dict() {
  TensorRows state_dict = {{"embed_tokens.weight", {32000, 2048}}};
  for (int64_t i = 0; i < kTinyLlamaLayers; ++i) {
    for (const auto& [key, shape] : kReferenceLayerStateDict) state_dict.emplace_back(layer_path(i) + "." + key, shape);
  }
  state_dict.push_back({"norm.weight", {2048}});
  return state_dict;
}

// TinyLlama's module tree with its parameters on the meta device: shapes without storage.
std::shared_ptr<torch::nn::Module> published_on_meta() { return htp::zoo::llama_module(htp::zoo::kTinyLlama, torch::kMeta); }

htp::zoo::ZooModel small_model(uint64_t seed = 0, const LlamaConfig& config = kSmall) {
  torch::manual_seed(seed);
  return htp::zoo::build_llama(config, {});
}

// LlamaModel.forward written out from Hugging Face's modeling_llama.py with plain tensor ops on the state dict,
// independently of the zoo's module classes: rotary angles in double precision, repeat_interleave for the
// key/value groups, masked_fill for the mask.
torch::Tensor reference_forward(const htp::zoo::ZooModel& model, const LlamaConfig& config, const torch::Tensor& input_ids,
                                const torch::Tensor& attention_mask) {
  const auto weights = model.module->named_parameters();
  auto param = [&](const std::string& key) { return weights[key]; };
  auto linear = [&](const torch::Tensor& x, const std::string& name) { return torch::matmul(x, param(name + ".weight").t()); };
  auto rms_norm = [&](const torch::Tensor& x, const std::string& name) {
    return param(name + ".weight") * x / torch::sqrt((x * x).mean(-1, true) + config.rms_norm_eps);
  };
  const int64_t batch = input_ids.size(0);
  const int64_t length = input_ids.size(1);
  const int64_t heads = config.num_attention_heads;
  const int64_t kv_heads = config.num_key_value_heads;
  const int64_t head_dim = config.hidden_size / heads;

  const auto frequencies = torch::pow(config.rope_theta, -torch::arange(0, head_dim, 2, torch::kDouble) / head_dim);
  const auto angles = torch::outer(torch::arange(length, torch::kDouble), frequencies);
  const auto cos = torch::cat({angles, angles}, -1).cos().to(torch::kFloat32);
  const auto sin = torch::cat({angles, angles}, -1).sin().to(torch::kFloat32);
  auto rotate = [&](const torch::Tensor& t) {
    const auto halves = t.chunk(2, -1);
    return t * cos + torch::cat({-halves[1], halves[0]}, -1) * sin;
  };
  const auto causal = torch::tril(torch::ones({length, length}, torch::kBool));
  const auto allowed = causal & attention_mask.view({batch, 1, 1, length}).to(torch::kBool);

  auto x = torch::embedding(param("embed_tokens.weight"), input_ids);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string layer = layer_path(i);
    const auto h = rms_norm(x, layer + ".input_layernorm");
    auto heads_of = [&](const std::string& proj, int64_t count) {
      return linear(h, layer + ".self_attn." + proj).view({batch, length, count, head_dim}).transpose(1, 2);
    };
    const auto query = rotate(heads_of("q_proj", heads));
    const auto key = rotate(heads_of("k_proj", kv_heads)).repeat_interleave(heads / kv_heads, 1);
    const auto value = heads_of("v_proj", kv_heads).repeat_interleave(heads / kv_heads, 1);
    auto scores = torch::matmul(query, key.transpose(-1, -2)) / std::sqrt(static_cast<double>(head_dim));
    scores = scores.masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());
    const auto context = torch::matmul(scores.softmax(-1), value).transpose(1, 2).reshape({batch, length, heads * head_dim});
    x = x + linear(context, layer + ".self_attn.o_proj");
    const auto g = rms_norm(x, layer + ".post_attention_layernorm");
    x = x + linear(torch::silu(linear(g, layer + ".mlp.gate_proj")) * linear(g, layer + ".mlp.up_proj"), layer + ".mlp.down_proj");
  }
  return rms_norm(x, "norm");
}

TEST(Llama, PublishedModuleTreeMatchesHuggingFace) {
  const auto modules = module_rows(*published_on_meta());
  EXPECT_EQ(modules.size(), 291u);
  EXPECT_EQ(modules, reference_modules());
}

TEST(Llama, PublishedStateDictMatchesHuggingFace) {
  const auto root = published_on_meta();
  const auto state_dict = parameter_rows(*root);
  EXPECT_EQ(state_dict.size(), 200u);
  EXPECT_EQ(state_dict, reference_state_dict());
  EXPECT_TRUE(root->named_buffers().is_empty());
  // 65,536,000 embedding + 22 × 44,044,288 per layer + 2,048 final norm; with LlamaForCausalLM's lm_head
  // (another 65,536,000) the 1.1B the name gives.
  EXPECT_EQ(parameter_count(*root), 1034512384);
  for (const auto& tensor : root->parameters()) EXPECT_TRUE(tensor.is_meta());
}

// The meta listing is the built model's tree: one constructor, only the device differs.
TEST(Llama, MetaListingIsTheBuiltModelsTree) {
  const auto built = small_model();
  const auto listed = htp::zoo::llama_module(kSmall, torch::kMeta);
  EXPECT_EQ(module_rows(*listed), module_rows(*built.module));
  EXPECT_EQ(parameter_rows(*listed), parameter_rows(*built.module));
  for (const auto& tensor : built.module->parameters()) EXPECT_TRUE(tensor.device().is_cpu());
}

TEST(Llama, PublishedConfigurationIsTinyLlamas) {
  const LlamaConfig& config = htp::zoo::kTinyLlama;
  EXPECT_EQ(config.hidden_size, 2048);
  EXPECT_EQ(config.intermediate_size, 5632);
  EXPECT_EQ(config.num_hidden_layers, 22);
  EXPECT_EQ(config.num_attention_heads, 32);
  EXPECT_EQ(config.num_key_value_heads, 4);
  EXPECT_EQ(config.vocab_size, 32000);
  EXPECT_EQ(config.max_position_embeddings, 2048);
  EXPECT_EQ(config.rms_norm_eps, 1e-5);
  EXPECT_EQ(config.rope_theta, 10000.0);
}

TEST(Llama, IsFrozenWithRandomNorms) {
  const auto model = small_model();
  EXPECT_FALSE(model.module->is_training());
  for (const auto& tensor : model.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
  const auto params = model.module->named_parameters();
  EXPECT_NEAR(params["embed_tokens.weight"].std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(params["layers.0.mlp.down_proj.weight"].std().item<double>(), 0.02, 0.002);
  for (const char* key : {"layers.0.input_layernorm.weight", "norm.weight"}) {
    const auto norm = params[key];
    EXPECT_TRUE(norm.ge(0.8).all().item<bool>() && norm.le(1.2).all().item<bool>()) << key;
    EXPECT_FALSE(torch::equal(norm, torch::ones_like(norm))) << key;
  }
}

TEST(Llama, DescribesItsInputsOutputAndExampleInputs) { expect_ids_and_mask_interface(small_model(), kSmall.vocab_size); }

TEST(Llama, BatchAndSequenceLengthComeFromTheOptions) {
  htp::zoo::ZooOptions options;
  options.batch = 3;
  options.seq_len = 64;
  for (const auto& spec : htp::zoo::build_llama(kSmall, options).inputs) EXPECT_EQ(spec.shape, (Shape{3, 64}));
}

TEST(Llama, RejectsSizesItCannotRun) {
  expect_sequence_size_limits("tinyllama", 2048);
  auto with = [](auto change) {
    LlamaConfig config = kSmall;
    change(config);
    return config;
  };
  EXPECT_THROW(htp::zoo::build_llama(with([](LlamaConfig& c) { c.num_attention_heads = 5; }), {}), std::invalid_argument);
  EXPECT_THROW(htp::zoo::build_llama(with([](LlamaConfig& c) { c.num_key_value_heads = 3; }), {}), std::invalid_argument);
  EXPECT_THROW(htp::zoo::build_llama(with([](LlamaConfig& c) { c.hidden_size = 36; }), {}), std::invalid_argument);  // odd head dim
  EXPECT_THROW(htp::zoo::llama_module(with([](LlamaConfig& c) { c.num_key_value_heads = 0; }), torch::kMeta),
               std::invalid_argument);
  EXPECT_THROW(small_model().forward({torch::zeros({2, 16}, torch::kInt64)}), std::invalid_argument);
}

void expect_hugging_face_forward(const LlamaConfig& config, const Shape& shape) {
  const auto model = small_model(0, config);
  const auto inputs = example_inputs(model, shape);
  const auto outputs = model.forward(inputs);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{shape[0], shape[1], config.hidden_size}));
  EXPECT_TRUE(torch::isfinite(outputs[0]).all().item<bool>());
  const auto expected = reference_forward(model, config, inputs[0], inputs[1]);
  EXPECT_TRUE(torch::allclose(outputs[0], expected, 1e-4, 1e-5)) << (outputs[0] - expected).abs().max().item<double>();
}

TEST(Llama, ForwardMatchesHuggingFacesComputation) { expect_hugging_face_forward(kSmall, {3, 10}); }

TEST(Llama, ForwardWithoutKeyValueGroupsMatchesHuggingFacesComputation) {
  expect_hugging_face_forward(kSmallWithoutGroups, {2, 7});
}

TEST(Llama, LaterTokensDoNotReachEarlierPositions) {
  expect_later_tokens_do_not_reach_earlier_positions(small_model());
}

TEST(Llama, MaskedPositionsDoNotReachTheOthers) { expect_masked_positions_do_not_reach_the_others(small_model()); }

// Rotary embeddings are the only position information: without them the last token, which sees the same three
// tokens either way, would not tell the order of the first two apart.
TEST(Llama, AttentionDependsOnTokenPositions) {
  const auto model = small_model();
  const auto mask = torch::ones({1, 3}, torch::kInt64);
  const auto abc = model.forward({torch::tensor({{5, 7, 9}}), mask})[0];
  const auto bac = model.forward({torch::tensor({{7, 5, 9}}), mask})[0];
  EXPECT_FALSE(torch::allclose(abc[0][2], bac[0][2], 1e-4, 1e-5));
}

TEST(Llama, IsDeterministicPerSeed) {
  expect_deterministic_per_seed([](uint64_t seed) {
    const auto model = small_model(seed);
    return model.forward(example_inputs(model, {2, 16}));
  });
}

// The trace of the default example must compute the same as the eager model at another batch size and length:
// no size of the example (nor the mask's or the rotary embeddings' length) may be baked into the graph.
TEST(Llama, TraceRunsAtOtherBatchAndLength) {
  const auto model = small_model();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  EXPECT_EQ(expect_trace_matches_eager(model, traced, example_inputs(model, {3, 9})).size(), 1u);
}

// As in Hugging Face: LlamaModel's own forward builds the mask every layer shares, its rotary_emb the cos and
// sin every attention uses, each RMSNorm its own normalisation and each MLP's act_fn the SiLU.
TEST(Llama, EachComputationRunsInItsModule) {
  const auto model = small_model();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  std::set<std::string> norms = {"norm"}, activations, attentions;
  for (int64_t i = 0; i < kSmall.num_hidden_layers; ++i) {
    norms.insert({layer_path(i) + ".input_layernorm", layer_path(i) + ".post_attention_layernorm"});
    activations.insert(layer_path(i) + ".mlp.act_fn");
    attentions.insert(layer_path(i) + ".self_attn");
  }
  EXPECT_EQ(scopes_running(traced, "aten::where"), std::set<std::string>{""});
  EXPECT_EQ(scopes_running(traced, "aten::cos"), std::set<std::string>{"rotary_emb"});
  EXPECT_EQ(scopes_running(traced, "aten::sin"), std::set<std::string>{"rotary_emb"});
  EXPECT_EQ(scopes_running(traced, "aten::rsqrt"), norms);
  EXPECT_EQ(scopes_running(traced, "aten::silu"), activations);
  EXPECT_EQ(scopes_running(traced, "aten::softmax"), attentions);
}

}  // namespace
