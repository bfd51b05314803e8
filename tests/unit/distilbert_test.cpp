// The zoo's distilbert must be a drop-in for Hugging Face's DistilBertModel (distilbert-base-uncased,
// eager attention, transformers >= 4.31): same module tree, class names and state_dict, same forward
// semantics, and a trace that is not tied to the example's batch size and sequence length. The published
// size takes about a second per forward here, so most numeric checks run a small DistilBERT.
#include "distilbert.h"
#include "trace_zoo.h"
#include "zoo_model_checks.h"

#include "htp/zoo/scoped.h"
#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using Shape = std::vector<int64_t>;

using htp::zoo::DistilBertSize;

constexpr DistilBertSize kPublished = {6, 768, 12, 3072};
constexpr DistilBertSize kSmall = {2, 32, 4, 64};

// DistilBertModel(DistilBertConfig.from_pretrained("distilbert-base-uncased")).named_modules(), before the
// transformer blocks.
const std::vector<std::pair<std::string, std::string>> kReferenceModulesHead = {
    {"", "DistilBertModel"},
    {"embeddings", "Embeddings"},
    {"embeddings.word_embeddings", "Embedding"},
    {"embeddings.position_embeddings", "Embedding"},
    {"embeddings.LayerNorm", "LayerNorm"},
    {"embeddings.dropout", "Dropout"},
    {"transformer", "Transformer"},
    {"transformer.layer", "ModuleList"},
};

// Then, for each block N, these paths under transformer.layer.N (MultiHeadSelfAttention and FFN create
// their dropout first).
const std::vector<std::pair<std::string, std::string>> kReferenceBlockModules = {
    {"", "TransformerBlock"},
    {".attention", "MultiHeadSelfAttention"},
    {".attention.dropout", "Dropout"},
    {".attention.q_lin", "Linear"},
    {".attention.k_lin", "Linear"},
    {".attention.v_lin", "Linear"},
    {".attention.out_lin", "Linear"},
    {".sa_layer_norm", "LayerNorm"},
    {".ffn", "FFN"},
    {".ffn.dropout", "Dropout"},
    {".ffn.lin1", "Linear"},
    {".ffn.lin2", "Linear"},
    {".ffn.activation", "GELUActivation"},
    {".output_layer_norm", "LayerNorm"},
};

// Its state_dict: 4 embedding tensors, then 16 per block. No `embeddings.position_ids`: Hugging Face
// registers that buffer with persistent=False.
const std::vector<std::pair<std::string, Shape>> kReferenceEmbeddingStateDict = {
    {"embeddings.word_embeddings.weight", {30522, 768}},
    {"embeddings.position_embeddings.weight", {512, 768}},
    {"embeddings.LayerNorm.weight", {768}},
    {"embeddings.LayerNorm.bias", {768}},
};

const std::vector<std::pair<std::string, Shape>> kReferenceBlockStateDict = {
    {"attention.q_lin.weight", {768, 768}},
    {"attention.q_lin.bias", {768}},
    {"attention.k_lin.weight", {768, 768}},
    {"attention.k_lin.bias", {768}},
    {"attention.v_lin.weight", {768, 768}},
    {"attention.v_lin.bias", {768}},
    {"attention.out_lin.weight", {768, 768}},
    {"attention.out_lin.bias", {768}},
    {"sa_layer_norm.weight", {768}},
    {"sa_layer_norm.bias", {768}},
    {"ffn.lin1.weight", {3072, 768}},
    {"ffn.lin1.bias", {3072}},
    {"ffn.lin2.weight", {768, 3072}},
    {"ffn.lin2.bias", {768}},
    {"output_layer_norm.weight", {768}},
    {"output_layer_norm.bias", {768}},
};

std::string block_path(int index) { return "transformer.layer." + std::to_string(index); }

std::vector<std::pair<std::string, std::string>> reference_modules() {
  auto modules = kReferenceModulesHead;
  for (int i = 0; i < kPublished.n_layers; ++i) {
    for (const auto& [suffix, class_name] : kReferenceBlockModules) modules.emplace_back(block_path(i) + suffix, class_name);
  }
  return modules;
}

std::vector<std::pair<std::string, Shape>> reference_state_dict() {
  auto state_dict = kReferenceEmbeddingStateDict;
  for (int i = 0; i < kPublished.n_layers; ++i) {
    for (const auto& [key, shape] : kReferenceBlockStateDict) state_dict.emplace_back(block_path(i) + "." + key, shape);
  }
  return state_dict;
}

htp::zoo::ZooModel distilbert(uint64_t seed = 0, const htp::zoo::ZooOptions& options = {}) {
  torch::manual_seed(seed);
  return htp::zoo::make_model("distilbert", options);
}

// Drawing 66M weights takes a while: the tests of the registered model share one.
const htp::zoo::ZooModel& published_model() {
  static const htp::zoo::ZooModel model = distilbert();
  return model;
}

htp::zoo::ZooModel small_model(uint64_t seed = 0) {
  torch::manual_seed(seed);
  return htp::zoo::build_distilbert(kSmall, {});
}

// DistilBertModel.forward written out from Hugging Face's modeling_distilbert.py with plain tensor ops on
// the state dict, independently of the zoo's module classes.
torch::Tensor reference_forward(const htp::zoo::ZooModel& model, const DistilBertSize& size,
                                const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  const auto weights = model.module->named_parameters();
  auto param = [&](const std::string& key) { return weights[key]; };
  auto linear = [&](const torch::Tensor& x, const std::string& prefix) {
    return torch::nn::functional::linear(x, param(prefix + ".weight"), param(prefix + ".bias"));
  };
  auto norm = [&](const torch::Tensor& x, const std::string& prefix) {
    return torch::layer_norm(x, {size.dim}, param(prefix + ".weight"), param(prefix + ".bias"), 1e-12);
  };
  const int64_t batch = input_ids.size(0);
  const int64_t length = input_ids.size(1);
  auto x = torch::embedding(param("embeddings.word_embeddings.weight"), input_ids) +
           torch::embedding(param("embeddings.position_embeddings.weight"), torch::arange(length).unsqueeze(0));
  x = norm(x, "embeddings.LayerNorm");
  const int64_t dim_per_head = size.dim / size.n_heads;
  auto heads = [&](const torch::Tensor& t) { return t.view({batch, length, size.n_heads, dim_per_head}).transpose(1, 2); };
  const auto masked = (attention_mask == 0).view({batch, 1, 1, length});
  for (int i = 0; i < size.n_layers; ++i) {
    const std::string block = block_path(i);
    const auto q = heads(linear(x, block + ".attention.q_lin")) / std::sqrt(static_cast<double>(dim_per_head));
    const auto k = heads(linear(x, block + ".attention.k_lin"));
    const auto v = heads(linear(x, block + ".attention.v_lin"));
    const auto scores = torch::matmul(q, k.transpose(2, 3)).masked_fill(masked, -3.4028234663852886e38);
    const auto context = torch::matmul(scores.softmax(-1), v).transpose(1, 2).reshape({batch, length, size.dim});
    const auto sa_output = norm(linear(context, block + ".attention.out_lin") + x, block + ".sa_layer_norm");
    const auto ffn_output = linear(torch::gelu(linear(sa_output, block + ".ffn.lin1")), block + ".ffn.lin2");
    x = norm(ffn_output + sa_output, block + ".output_layer_norm");
  }
  return x;
}

TEST(DistilBert, ModuleTreeMatchesHuggingFace) {
  const auto modules = module_rows(*published_model().module);
  EXPECT_EQ(modules.size(), 92u);
  EXPECT_EQ(modules, reference_modules());
}

TEST(DistilBert, StateDictMatchesHuggingFace) {
  const auto& model = published_model();
  const auto state_dict = parameter_rows(*model.module);
  EXPECT_EQ(state_dict.size(), 100u);
  EXPECT_EQ(state_dict, reference_state_dict());
  EXPECT_TRUE(model.module->named_buffers().is_empty());
  EXPECT_EQ(parameter_count(*model.module), 66362880);  // what Hugging Face reports for distilbert-base-uncased
}

TEST(DistilBert, IsFrozenWithAZeroPaddingEmbedding) {
  const auto& model = published_model();
  EXPECT_FALSE(model.module->is_training());
  for (const auto& tensor : model.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
  const auto words = model.module->named_parameters()["embeddings.word_embeddings.weight"];
  EXPECT_TRUE(torch::equal(words[0], torch::zeros({768})));
  EXPECT_GT(words[1].abs().max().item<double>(), 0.0);
}

TEST(DistilBert, DescribesItsInputsOutputAndExampleInputs) {
  expect_ids_and_mask_interface(published_model(), 30522);
}

TEST(DistilBert, BatchAndSequenceLengthComeFromTheOptions) {
  htp::zoo::ZooOptions options;
  options.batch = 3;
  options.seq_len = 512;
  for (const auto& spec : htp::zoo::build_distilbert(kSmall, options).inputs) EXPECT_EQ(spec.shape, (Shape{3, 512}));
}

TEST(DistilBert, RejectsSizesItCannotRun) {
  expect_sequence_size_limits("distilbert", 512);
  EXPECT_THROW(published_model().forward({torch::zeros({2, 16}, torch::kInt64)}), std::invalid_argument);
}

void expect_hugging_face_forward(const htp::zoo::ZooModel& model, const DistilBertSize& size, const Shape& shape) {
  const auto inputs = example_inputs(model, shape);
  const auto outputs = model.forward(inputs);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{shape[0], shape[1], size.dim}));
  EXPECT_TRUE(torch::isfinite(outputs[0]).all().item<bool>());
  const auto expected = reference_forward(model, size, inputs[0], inputs[1]);
  EXPECT_TRUE(torch::allclose(outputs[0], expected, 1e-4, 1e-5))
      << (outputs[0] - expected).abs().max().item<double>();
}

TEST(DistilBert, ForwardMatchesHuggingFacesComputation) {
  expect_hugging_face_forward(small_model(), kSmall, {3, 10});
}

// Its 12 heads of 64 are not visible in the state dict.
TEST(DistilBert, PublishedSizeMatchesHuggingFacesComputation) {
  expect_hugging_face_forward(published_model(), kPublished, {2, 4});
}

TEST(DistilBert, MaskedPositionsDoNotReachTheOthers) {
  const auto model = small_model();
  auto inputs = example_inputs(model, {2, 16});
  const auto before = model.forward(inputs)[0];
  // Row 1 masks positions 12..15: new tokens there leave every other position of that row unchanged.
  inputs[0].select(0, 1).slice(0, 12, 16).fill_(7);
  const auto after = model.forward(inputs)[0];
  EXPECT_TRUE(torch::allclose(after[0], before[0]));
  EXPECT_TRUE(torch::allclose(after[1].slice(0, 0, 12), before[1].slice(0, 0, 12)));
  EXPECT_FALSE(torch::allclose(after[1].slice(0, 12, 16), before[1].slice(0, 12, 16)));
  // Unmasking them does change the rest of the row.
  inputs[1].fill_(1);
  const auto unmasked = model.forward(inputs)[0];
  EXPECT_FALSE(torch::allclose(unmasked[1].slice(0, 0, 12), before[1].slice(0, 0, 12)));
}

TEST(DistilBert, IsDeterministicPerSeed) {
  expect_deterministic_per_seed([](uint64_t seed) {
    const auto model = small_model(seed);
    return model.forward(example_inputs(model, {2, 16}));
  });
  // The registered model draws the same way: one seed, one set of weights.
  const auto a = published_model().module->named_parameters();
  const auto b = distilbert(0).module->named_parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].value(), b[i].value())) << a[i].key();
}

// The trace of the default example must compute the same as the eager model at another batch size and
// length: no size of the example may be baked into the graph.
TEST(DistilBert, TraceRunsAtOtherBatchAndLength) {
  const auto model = small_model();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  EXPECT_EQ(expect_trace_matches_eager(model, traced, example_inputs(model, {3, 9})).size(), 1u);
}

// Each block builds its padding mask inside its own attention module, as Hugging Face's does.
TEST(DistilBert, MaskingRunsInsideEachAttentionModule) {
  const auto model = small_model();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  std::set<std::string> scopes;
  for (const auto* node : traced.graph->nodes()) {
    if (node->kind() == c10::Symbol::fromQualString("aten::masked_fill")) scopes.insert(traced.scope_of(node));
  }
  std::set<std::string> expected;
  for (int i = 0; i < kSmall.n_layers; ++i) expected.insert(block_path(i) + ".attention");
  EXPECT_EQ(scopes, expected);
}

}  // namespace
