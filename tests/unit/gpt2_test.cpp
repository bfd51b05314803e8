// The zoo's gpt2 must be a drop-in for Hugging Face's GPT2Model (gpt2, 124M, eager attention,
// transformers >= 4.31): same module tree, class names and state_dict, same forward semantics (causal
// self-attention plus the padding mask), and a trace that is not tied to the example's batch size and
// sequence length. The published size is slow to draw and run, so most numeric checks run a small GPT-2.
#include "gpt2.h"
#include "trace_zoo.h"
#include "zoo_model_checks.h"
#include "transformer_parts.h"

#include "htp/zoo/scoped.h"
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

using htp::zoo::GPT2Config;

constexpr GPT2Config kPublished = {12, 768, 12};
constexpr GPT2Config kSmall = {2, 32, 4};

// GPT2Model(GPT2Config.from_pretrained("gpt2")).named_modules(): these before the blocks, then per block
// kReferenceBlockModules, then ln_f.
const std::vector<std::pair<std::string, std::string>> kReferenceModulesHead = {
    {"", "GPT2Model"}, {"wte", "Embedding"}, {"wpe", "Embedding"}, {"drop", "Dropout"}, {"h", "ModuleList"},
};

// Paths under h.N.
const std::vector<std::pair<std::string, std::string>> kReferenceBlockModules = {
    {"", "GPT2Block"},
    {".ln_1", "LayerNorm"},
    {".attn", "GPT2Attention"},
    {".attn.c_attn", "Conv1D"},
    {".attn.c_proj", "Conv1D"},
    {".attn.attn_dropout", "Dropout"},
    {".attn.resid_dropout", "Dropout"},
    {".ln_2", "LayerNorm"},
    {".mlp", "GPT2MLP"},
    {".mlp.c_fc", "Conv1D"},
    {".mlp.c_proj", "Conv1D"},
    {".mlp.act", "NewGELUActivation"},
    {".mlp.dropout", "Dropout"},
};

// Its state_dict: 2 embedding tables, 12 tensors per block, 2 of ln_f. Conv1D weights are [in, out]. No
// `h.N.attn.bias` / `masked_bias`: transformers (>= 4.31) registers those buffers with persistent=False.
const std::vector<std::pair<std::string, Shape>> kReferenceBlockStateDict = {
    {"ln_1.weight", {768}},
    {"ln_1.bias", {768}},
    {"attn.c_attn.weight", {768, 2304}},
    {"attn.c_attn.bias", {2304}},
    {"attn.c_proj.weight", {768, 768}},
    {"attn.c_proj.bias", {768}},
    {"ln_2.weight", {768}},
    {"ln_2.bias", {768}},
    {"mlp.c_fc.weight", {768, 3072}},
    {"mlp.c_fc.bias", {3072}},
    {"mlp.c_proj.weight", {3072, 768}},
    {"mlp.c_proj.bias", {768}},
};

std::string block_path(int index) { return "h." + std::to_string(index); }

std::vector<std::pair<std::string, std::string>> reference_modules() {
  auto modules = kReferenceModulesHead;
  for (int i = 0; i < kPublished.n_layer; ++i) {
    for (const auto& [suffix, class_name] : kReferenceBlockModules) {
      modules.emplace_back(block_path(i) + suffix, class_name);
    }
  }
  modules.emplace_back("ln_f", "LayerNorm");
  return modules;
}

std::vector<std::pair<std::string, Shape>> reference_state_dict() {
  std::vector<std::pair<std::string, Shape>> state_dict = {{"wte.weight", {50257, 768}}, {"wpe.weight", {1024, 768}}};
  for (int i = 0; i < kPublished.n_layer; ++i) {
    for (const auto& [key, shape] : kReferenceBlockStateDict) state_dict.emplace_back(block_path(i) + "." + key, shape);
  }
  state_dict.push_back({"ln_f.weight", {768}});
  state_dict.push_back({"ln_f.bias", {768}});
  return state_dict;
}

htp::zoo::ZooModel gpt2(uint64_t seed = 0, const htp::zoo::ZooOptions& options = {}) {
  torch::manual_seed(seed);
  return htp::zoo::make_model("gpt2", options);
}

// Drawing 124M weights takes a while: the tests of the registered model share one.
const htp::zoo::ZooModel& published_model() {
  static const htp::zoo::ZooModel model = gpt2();
  return model;
}

htp::zoo::ZooModel small_model(uint64_t seed = 0) {
  torch::manual_seed(seed);
  return htp::zoo::build_gpt2(kSmall, {});
}

// GPT2Model.forward written out from Hugging Face's modeling_gpt2.py with plain tensor ops on the state
// dict, independently of the zoo's module classes.
torch::Tensor reference_forward(const htp::zoo::ZooModel& model, const GPT2Config& size, const torch::Tensor& input_ids,
                                const torch::Tensor& attention_mask) {
  const auto weights = model.module->named_parameters();
  auto param = [&](const std::string& key) { return weights[key]; };
  auto conv1d = [&](const torch::Tensor& x, const std::string& prefix) {  // x·W + b, W stored [in, out]
    return torch::matmul(x, param(prefix + ".weight")) + param(prefix + ".bias");
  };
  auto norm = [&](const torch::Tensor& x, const std::string& prefix) {
    return torch::layer_norm(x, {size.n_embd}, param(prefix + ".weight"), param(prefix + ".bias"), 1e-5);
  };
  const int64_t batch = input_ids.size(0);
  const int64_t length = input_ids.size(1);
  const int64_t head_dim = size.n_embd / size.n_head;
  const float lowest = std::numeric_limits<float>::lowest();
  auto x = torch::embedding(param("wte.weight"), input_ids) +
           torch::embedding(param("wpe.weight"), torch::arange(length).unsqueeze(0));
  auto heads = [&](const torch::Tensor& t) {
    return t.view({batch, length, size.n_head, head_dim}).permute({0, 2, 1, 3});
  };
  const auto causal = torch::tril(torch::ones({length, length}, torch::kBool));
  const auto padding = (1.0 - attention_mask.view({batch, 1, 1, length}).to(torch::kFloat32)) * lowest;
  for (int i = 0; i < size.n_layer; ++i) {
    const std::string block = block_path(i);
    const auto qkv = conv1d(norm(x, block + ".ln_1"), block + ".attn.c_attn").split(size.n_embd, 2);
    auto scores = torch::matmul(heads(qkv[0]), heads(qkv[1]).transpose(-1, -2));
    scores = scores / std::sqrt(static_cast<double>(head_dim));
    scores = torch::where(causal, scores, torch::tensor(lowest)) + padding;
    const auto context = torch::matmul(scores.softmax(-1), heads(qkv[2])).permute({0, 2, 1, 3});
    x = conv1d(context.reshape({batch, length, size.n_embd}), block + ".attn.c_proj") + x;
    const auto inner = torch::gelu(conv1d(norm(x, block + ".ln_2"), block + ".mlp.c_fc"), "tanh");
    x = x + conv1d(inner, block + ".mlp.c_proj");
  }
  return norm(x, "ln_f");
}

TEST(GPT2, ModuleTreeMatchesHuggingFace) {
  const auto modules = module_rows(*published_model().module);
  EXPECT_EQ(modules.size(), 162u);
  EXPECT_EQ(modules, reference_modules());
}

TEST(GPT2, StateDictMatchesHuggingFace) {
  const auto& model = published_model();
  const auto state_dict = parameter_rows(*model.module);
  EXPECT_EQ(state_dict.size(), 148u);
  EXPECT_EQ(state_dict, reference_state_dict());
  EXPECT_TRUE(model.module->named_buffers().is_empty());
  EXPECT_EQ(parameter_count(*model.module), 124439808);  // what Hugging Face reports for gpt2
}

TEST(GPT2, IsFrozenWithRandomBiasesAndLayerNorms) {
  const auto& model = published_model();
  EXPECT_FALSE(model.module->is_training());
  for (const auto& tensor : model.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
  const auto params = model.module->named_parameters();
  const auto c_attn = params["h.0.attn.c_attn.weight"];
  EXPECT_NEAR(c_attn.std().item<double>(), 0.02, 0.001);
  EXPECT_GT(params["h.0.attn.c_attn.bias"].abs().max().item<double>(), 0.0);
  const auto ln = params["h.0.ln_1.weight"];
  EXPECT_TRUE(ln.ge(0.8).all().item<bool>() && ln.le(1.2).all().item<bool>());
  EXPECT_FALSE(torch::equal(ln, torch::ones_like(ln)));
}

TEST(GPT2, DescribesItsInputsOutputAndExampleInputs) {
  expect_ids_and_mask_interface(published_model(), 50257);
}

TEST(GPT2, BatchAndSequenceLengthComeFromTheOptions) {
  htp::zoo::ZooOptions options;
  options.batch = 3;
  options.seq_len = 1024;
  for (const auto& spec : htp::zoo::build_gpt2(kSmall, options).inputs) EXPECT_EQ(spec.shape, (Shape{3, 1024}));
}

TEST(GPT2, RejectsSizesItCannotRun) {
  expect_sequence_size_limits("gpt2", 1024);
  EXPECT_THROW(htp::zoo::build_gpt2({1, 30, 4}, {}), std::invalid_argument);  // 30 is not a multiple of 4 heads
  EXPECT_THROW(published_model().forward({torch::zeros({2, 16}, torch::kInt64)}), std::invalid_argument);
}

// transformers.activations.NewGELUActivation is the tanh approximation of GELU.
TEST(GPT2, NewGELUIsTheTanhApproximation) {
  htp::zoo::NewGELUActivation act;
  const auto x = torch::linspace(-6.0, 6.0, 241);
  EXPECT_TRUE(torch::allclose(act(x), torch::gelu(x, "tanh"), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(act(x), torch::gelu(x), 1e-6, 1e-6));
}

// Conv1D keeps its weight as [in, out] and flattens every leading dim.
TEST(GPT2, Conv1DIsALinearWithATransposedWeight) {
  torch::manual_seed(0);
  htp::zoo::Conv1D conv(5, 3);
  EXPECT_EQ(conv->weight.sizes().vec(), (Shape{5, 3}));
  EXPECT_EQ(conv->bias.sizes().vec(), (Shape{3}));
  conv->weight.data().normal_();
  conv->bias.data().normal_();
  const auto x = torch::randn({2, 4, 6, 5});
  const auto expected = torch::nn::functional::linear(x, conv->weight.t(), conv->bias);
  const auto y = conv(x);
  EXPECT_EQ(y.sizes().vec(), (Shape{2, 4, 6, 3}));
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-6));
}

void expect_hugging_face_forward(const htp::zoo::ZooModel& model, const GPT2Config& size, const Shape& shape) {
  const auto inputs = example_inputs(model, shape);
  const auto outputs = model.forward(inputs);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{shape[0], shape[1], size.n_embd}));
  EXPECT_TRUE(torch::isfinite(outputs[0]).all().item<bool>());
  const auto expected = reference_forward(model, size, inputs[0], inputs[1]);
  EXPECT_TRUE(torch::allclose(outputs[0], expected, 1e-4, 1e-5)) << (outputs[0] - expected).abs().max().item<double>();
}

TEST(GPT2, ForwardMatchesHuggingFacesComputation) { expect_hugging_face_forward(small_model(), kSmall, {3, 10}); }

// Its 12 heads of 64 are not visible in the state dict.
TEST(GPT2, PublishedSizeMatchesHuggingFacesComputation) {
  expect_hugging_face_forward(published_model(), kPublished, {2, 8});
}

TEST(GPT2, LaterTokensDoNotReachEarlierPositions) {
  expect_later_tokens_do_not_reach_earlier_positions(small_model());
}

TEST(GPT2, MaskedPositionsDoNotReachTheOthers) { expect_masked_positions_do_not_reach_the_others(small_model()); }

TEST(GPT2, IsDeterministicPerSeed) {
  expect_deterministic_per_seed([](uint64_t seed) {
    const auto model = small_model(seed);
    return model.forward(example_inputs(model, {2, 16}));
  });
  // The registered model draws the same way: one seed, one set of weights.
  const auto a = published_model().module->named_parameters();
  const auto b = gpt2(0).module->named_parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].value(), b[i].value())) << a[i].key();
}

// The trace of the default example must compute the same as the eager model at another batch size and
// length: no size of the example (nor the causal mask's length) may be baked into the graph.
TEST(GPT2, TraceRunsAtOtherBatchAndLength) {
  const auto model = small_model();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  EXPECT_EQ(expect_trace_matches_eager(model, traced, example_inputs(model, {3, 9})).size(), 1u);
}

// As in Hugging Face: each attention module applies the causal mask itself, while GPT2Model's own forward
// turns attention_mask into the additive mask every block shares.
TEST(GPT2, CausalMaskRunsInsideEachAttentionAndThePaddingMaskInTheRoot) {
  const auto model = small_model();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  std::set<std::string> attention;
  for (int i = 0; i < kSmall.n_layer; ++i) attention.insert(block_path(i) + ".attn");
  EXPECT_EQ(scopes_running(traced, "aten::where"), attention);
  EXPECT_EQ(scopes_running(traced, "aten::rsub"), std::set<std::string>{""});
}

}  // namespace
