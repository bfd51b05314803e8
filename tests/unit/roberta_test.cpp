// The zoo's roberta must be a drop-in for Hugging Face's RobertaModel (roberta-base, eager attention,
// transformers >= 4.31): same module tree, class names and state_dict, RoBERTa's position ids (counted over
// non-pad tokens from pad_token_id + 1), and a trace that is not tied to the example's batch size and
// sequence length. The published size takes about a second per forward, so most numeric checks run a small
// RoBERTa: two layers of width 32, with roberta-base's vocabulary, position table and token types.
#include "bert_family.h"
#include "convert/convert.h"
#include "trace_zoo.h"
#include "zoo_model_checks.h"

#include "htp/tagging/metadata.h"
#include "htp/tagging/tagger.h"
#include "htp/zoo/scoped.h"
#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using Shape = std::vector<int64_t>;

constexpr htp::zoo::BertConfig kSmall = {htp::zoo::kRoberta, 2, 32, 4, 64};
constexpr int64_t kVocab = 50265;
constexpr int64_t kPad = 1;

// RobertaModel(RobertaConfig.from_pretrained("roberta-base")).named_modules(), before the layers.
const std::vector<std::pair<std::string, std::string>> kReferenceModulesHead = {
    {"", "RobertaModel"},
    {"embeddings", "RobertaEmbeddings"},
    {"embeddings.word_embeddings", "Embedding"},
    {"embeddings.position_embeddings", "Embedding"},
    {"embeddings.token_type_embeddings", "Embedding"},
    {"embeddings.LayerNorm", "LayerNorm"},
    {"embeddings.dropout", "Dropout"},
    {"encoder", "RobertaEncoder"},
    {"encoder.layer", "ModuleList"},
};

// Then, for each layer N, these paths under encoder.layer.N.
const std::vector<std::pair<std::string, std::string>> kReferenceLayerModules = {
    {"", "RobertaLayer"},
    {".attention", "RobertaAttention"},
    {".attention.self", "RobertaSelfAttention"},
    {".attention.self.query", "Linear"},
    {".attention.self.key", "Linear"},
    {".attention.self.value", "Linear"},
    {".attention.self.dropout", "Dropout"},
    {".attention.output", "RobertaSelfOutput"},
    {".attention.output.dense", "Linear"},
    {".attention.output.LayerNorm", "LayerNorm"},
    {".attention.output.dropout", "Dropout"},
    {".intermediate", "RobertaIntermediate"},
    {".intermediate.dense", "Linear"},
    {".intermediate.intermediate_act_fn", "GELUActivation"},
    {".output", "RobertaOutput"},
    {".output.dense", "Linear"},
    {".output.LayerNorm", "LayerNorm"},
    {".output.dropout", "Dropout"},
};

// And after the layers.
const std::vector<std::pair<std::string, std::string>> kReferenceModulesTail = {
    {"pooler", "RobertaPooler"},
    {"pooler.dense", "Linear"},
    {"pooler.activation", "Tanh"},
};

// Its state_dict for hidden size H and intermediate size I: 5 embedding tensors, 16 per layer, 2 in the
// pooler. No `embeddings.position_ids` and `embeddings.token_type_ids`: Hugging Face registers those buffers
// with persistent=False.
std::vector<std::pair<std::string, Shape>> reference_state_dict(int64_t layers, int64_t h, int64_t i) {
  std::vector<std::pair<std::string, Shape>> keys = {
      {"embeddings.word_embeddings.weight", {kVocab, h}},
      {"embeddings.position_embeddings.weight", {514, h}},
      {"embeddings.token_type_embeddings.weight", {1, h}},
      {"embeddings.LayerNorm.weight", {h}},
      {"embeddings.LayerNorm.bias", {h}},
  };
  const std::vector<std::pair<std::string, Shape>> layer = {
      {"attention.self.query.weight", {h, h}},
      {"attention.self.query.bias", {h}},
      {"attention.self.key.weight", {h, h}},
      {"attention.self.key.bias", {h}},
      {"attention.self.value.weight", {h, h}},
      {"attention.self.value.bias", {h}},
      {"attention.output.dense.weight", {h, h}},
      {"attention.output.dense.bias", {h}},
      {"attention.output.LayerNorm.weight", {h}},
      {"attention.output.LayerNorm.bias", {h}},
      {"intermediate.dense.weight", {i, h}},
      {"intermediate.dense.bias", {i}},
      {"output.dense.weight", {h, i}},
      {"output.dense.bias", {h}},
      {"output.LayerNorm.weight", {h}},
      {"output.LayerNorm.bias", {h}},
  };
  for (int64_t n = 0; n < layers; ++n) {
    for (const auto& [key, shape] : layer) keys.emplace_back("encoder.layer." + std::to_string(n) + "." + key, shape);
  }
  keys.push_back({"pooler.dense.weight", {h, h}});
  keys.push_back({"pooler.dense.bias", {h}});
  return keys;
}

std::vector<std::pair<std::string, std::string>> reference_modules(int64_t layers) {
  auto modules = kReferenceModulesHead;
  for (int64_t n = 0; n < layers; ++n) {
    for (const auto& [suffix, cls] : kReferenceLayerModules) {
      modules.emplace_back("encoder.layer." + std::to_string(n) + suffix, cls);
    }
  }
  modules.insert(modules.end(), kReferenceModulesTail.begin(), kReferenceModulesTail.end());
  return modules;
}

htp::zoo::ZooModel small_roberta(const htp::zoo::ZooOptions& options = {}, uint64_t seed = 0) {
  torch::manual_seed(seed);
  return htp::zoo::bert_family_model("roberta-small", kSmall, options);
}

// The published model is built once: 125M parameters take a while to draw.
const htp::zoo::ZooModel& roberta_base() {
  static const htp::zoo::ZooModel model = [] {
    torch::manual_seed(0);
    return htp::zoo::make_model("roberta");
  }();
  return model;
}

TEST(Roberta, PublishedModuleTreeMatchesHuggingFace) {
  EXPECT_EQ(module_rows(*roberta_base().module), reference_modules(12));
}

TEST(Roberta, PublishedStateDictMatchesHuggingFace) {
  const auto& model = roberta_base();
  EXPECT_EQ(parameter_rows(*model.module), reference_state_dict(12, 768, 3072));
  EXPECT_TRUE(model.module->named_buffers().is_empty());
  EXPECT_EQ(parameter_count(*model.module), 124645632);  // what Hugging Face reports for roberta-base
}

TEST(Roberta, PublishedLayerNormsUseRobertasEpsilon) {
  int64_t norms = 0;
  for (const auto& module : roberta_base().module->modules()) {
    if (const auto* norm = module->as<torch::nn::LayerNorm>()) {
      EXPECT_DOUBLE_EQ(norm->options.eps(), 1e-5);
      ++norms;
    }
  }
  EXPECT_EQ(norms, 1 + 2 * 12);
}

TEST(Roberta, SmallConfigurationHasTheSameTreeAndKeys) {
  const auto model = small_roberta();
  EXPECT_EQ(module_rows(*model.module), reference_modules(2));
  EXPECT_EQ(parameter_rows(*model.module), reference_state_dict(2, 32, 64));
}

TEST(Roberta, IsFrozenWithZeroPaddingRowsInWordAndPositionTables) {
  const auto model = small_roberta();
  EXPECT_FALSE(model.module->is_training());
  for (const auto& tensor : model.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
  const auto parameters = model.module->named_parameters();
  for (const char* table : {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight"}) {
    EXPECT_TRUE(torch::equal(parameters[table][kPad], torch::zeros({32}))) << table;
    EXPECT_GT(parameters[table][0].abs().max().item<double>(), 0.0) << table;
    EXPECT_GT(parameters[table][2].abs().max().item<double>(), 0.0) << table;
  }
}

TEST(Roberta, DescribesItsSequenceInputsAndOutputs) {
  const auto& model = roberta_base();
  expect_sequence_interface(model, {"input_ids", "attention_mask", "token_type_ids"},
                            {"last_hidden_state", "pooler_output"}, {{"batch", "sequence", ""}, {"batch", ""}});
}

// Token ids are padded as a tokenizer pads them: the pad id exactly where the mask is 0, and one token type.
TEST(Roberta, ExampleInputsPadWhereMaskedWithOneTokenType) {
  const auto model = small_roberta();
  const auto inputs = example_inputs(model, {4, 8});
  const auto full_row = torch::ones({8}, torch::kInt64);
  const auto padded_row = torch::tensor({1, 1, 1, 1, 1, 1, 0, 0}, torch::kInt64);
  EXPECT_TRUE(torch::equal(inputs[1], torch::stack({full_row, padded_row, full_row, padded_row})));
  EXPECT_TRUE(torch::equal(inputs[0].eq(kPad), inputs[1].eq(0)));
  EXPECT_TRUE(inputs[0].ge(0).all().item<bool>() && inputs[0].lt(kVocab).all().item<bool>());
  EXPECT_TRUE(torch::equal(inputs[2], torch::zeros({4, 8}, torch::kInt64)));
}

TEST(Roberta, BatchAndSequenceLengthComeFromTheOptions) {
  htp::zoo::ZooOptions options;
  options.batch = 3;
  options.seq_len = 512;  // 514 positions, the first two reserved
  const auto model = small_roberta(options);
  for (const auto& spec : model.inputs) EXPECT_EQ(spec.shape, (Shape{3, 512}));
  EXPECT_EQ(htp::zoo::max_sequence_length(htp::zoo::kRoberta), 512);
  EXPECT_EQ(htp::zoo::max_sequence_length(htp::zoo::kBert), 512);
}

TEST(Roberta, RejectsSizesItCannotRun) {
  expect_sequence_size_limits("roberta", 512);
}

TEST(Roberta, ForwardGivesHiddenStatesAndPooledOutput) {
  const auto model = small_roberta();
  const auto outputs = model.forward(example_inputs(model, {3, 10}));
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{3, 10, 32}));
  EXPECT_EQ(outputs[1].sizes().vec(), (Shape{3, 32}));
  for (const auto& output : outputs) EXPECT_TRUE(torch::isfinite(output).all().item<bool>());
  EXPECT_LE(outputs[1].abs().max().item<double>(), 1.0);  // tanh
}

// RoBERTa numbers positions over the non-pad tokens: left padding (masked pad tokens in front) leaves the
// real tokens' hidden states as they are without it. BERT's 0, 1, 2, ... positions would shift them.
TEST(Roberta, LeftPaddingDoesNotMoveTheTokensPositions) {
  const auto model = small_roberta();
  const auto ones = [](int64_t n) { return torch::ones({1, n}, torch::kInt64); };
  const auto zeros = [](int64_t n) { return torch::zeros({1, n}, torch::kInt64); };
  const auto tokens = torch::tensor({{0, 713, 16, 10, 1296, 2}}, torch::kInt64);  // <s> This is a test </s>
  const auto unpadded = model.forward({tokens, ones(6), zeros(6)});
  const auto padded_ids = torch::cat({torch::full({1, 3}, kPad, torch::kInt64), tokens}, 1);
  const auto mask = torch::cat({zeros(3), ones(6)}, 1);
  const auto padded = model.forward({padded_ids, mask, zeros(9)});
  EXPECT_TRUE(torch::allclose(padded[0].slice(1, 3, 9), unpadded[0], 1e-5, 1e-5));
  // A masked token that is not the pad id still counts: every later position moves by one.
  auto shifted_ids = padded_ids.clone();
  shifted_ids[0][2] = 4;
  const auto shifted = model.forward({shifted_ids, mask, zeros(9)});
  EXPECT_FALSE(torch::allclose(shifted[0].slice(1, 3, 9), unpadded[0], 1e-3, 1e-3));
}

TEST(Roberta, MaskedPositionsDoNotReachTheOthers) {
  const auto model = small_roberta();
  auto inputs = example_inputs(model, {2, 16});
  const auto before = model.forward(inputs);
  // Row 1 masks positions 12..15: new tokens there leave every other position of that row unchanged.
  inputs[0].select(0, 1).slice(0, 12, 16).fill_(7);
  const auto after = model.forward(inputs);
  EXPECT_TRUE(torch::allclose(after[0][1].slice(0, 0, 12), before[0][1].slice(0, 0, 12)));
  EXPECT_TRUE(torch::allclose(after[1], before[1]));
  EXPECT_FALSE(torch::allclose(after[0][1].slice(0, 12, 16), before[0][1].slice(0, 12, 16)));
}

TEST(Roberta, IsDeterministicPerSeed) {
  expect_deterministic_per_seed([](uint64_t seed) {
    const auto model = small_roberta({}, seed);
    return model.forward(example_inputs(model, {2, 16}));
  });
}

// The trace of the default example must compute the same as the eager model at another batch size and
// length: neither the example's sizes nor its pad pattern may be baked into the graph.
TEST(Roberta, TraceRunsAtOtherBatchAndLength) {
  const auto model = small_roberta();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  auto inputs = example_inputs(model, {3, 9});
  inputs[0][0][4] = kPad;  // a pad the example never had, in an attended row
  expect_trace_matches_eager(model, traced, inputs);
}

// The position ids' cumulative sum converts, in the embeddings' scope.
TEST(Roberta, PositionIdsConvertToCumSumInTheEmbeddings) {
  const auto model = small_roberta();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  const auto onnx_model = htp::exporter::convert_to_onnx(traced);
  std::vector<std::string> cumsum_scopes;
  for (const auto& node : onnx_model.graph().node()) {
    if (node.op_type() == "CumSum") {
      cumsum_scopes.push_back(htp::tagging::node_metadata(node, htp::tagging::kScopeKey).value_or("<none>"));
    }
  }
  EXPECT_EQ(cumsum_scopes, std::vector<std::string>{"embeddings"});
}

}  // namespace
