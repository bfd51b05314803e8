// The zoo's bert-tiny must be a drop-in for Hugging Face's BertModel (google/bert_uncased_L-2_H-128_A-2,
// transformers >= 4.31): same module tree, class names and state_dict, same forward semantics, and a trace
// that is not tied to the example's batch size and sequence length.
#include "trace_zoo.h"
#include "zoo_model_checks.h"

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

// BertModel(BertConfig.from_pretrained("google/bert_uncased_L-2_H-128_A-2")).named_modules().
const std::vector<std::pair<std::string, std::string>> kReferenceModules = {
    {"", "BertModel"},
    {"embeddings", "BertEmbeddings"},
    {"embeddings.word_embeddings", "Embedding"},
    {"embeddings.position_embeddings", "Embedding"},
    {"embeddings.token_type_embeddings", "Embedding"},
    {"embeddings.LayerNorm", "LayerNorm"},
    {"embeddings.dropout", "Dropout"},
    {"encoder", "BertEncoder"},
    {"encoder.layer", "ModuleList"},
    {"encoder.layer.0", "BertLayer"},
    {"encoder.layer.0.attention", "BertAttention"},
    {"encoder.layer.0.attention.self", "BertSelfAttention"},
    {"encoder.layer.0.attention.self.query", "Linear"},
    {"encoder.layer.0.attention.self.key", "Linear"},
    {"encoder.layer.0.attention.self.value", "Linear"},
    {"encoder.layer.0.attention.self.dropout", "Dropout"},
    {"encoder.layer.0.attention.output", "BertSelfOutput"},
    {"encoder.layer.0.attention.output.dense", "Linear"},
    {"encoder.layer.0.attention.output.LayerNorm", "LayerNorm"},
    {"encoder.layer.0.attention.output.dropout", "Dropout"},
    {"encoder.layer.0.intermediate", "BertIntermediate"},
    {"encoder.layer.0.intermediate.dense", "Linear"},
    {"encoder.layer.0.intermediate.intermediate_act_fn", "GELUActivation"},
    {"encoder.layer.0.output", "BertOutput"},
    {"encoder.layer.0.output.dense", "Linear"},
    {"encoder.layer.0.output.LayerNorm", "LayerNorm"},
    {"encoder.layer.0.output.dropout", "Dropout"},
    {"encoder.layer.1", "BertLayer"},
    {"encoder.layer.1.attention", "BertAttention"},
    {"encoder.layer.1.attention.self", "BertSelfAttention"},
    {"encoder.layer.1.attention.self.query", "Linear"},
    {"encoder.layer.1.attention.self.key", "Linear"},
    {"encoder.layer.1.attention.self.value", "Linear"},
    {"encoder.layer.1.attention.self.dropout", "Dropout"},
    {"encoder.layer.1.attention.output", "BertSelfOutput"},
    {"encoder.layer.1.attention.output.dense", "Linear"},
    {"encoder.layer.1.attention.output.LayerNorm", "LayerNorm"},
    {"encoder.layer.1.attention.output.dropout", "Dropout"},
    {"encoder.layer.1.intermediate", "BertIntermediate"},
    {"encoder.layer.1.intermediate.dense", "Linear"},
    {"encoder.layer.1.intermediate.intermediate_act_fn", "GELUActivation"},
    {"encoder.layer.1.output", "BertOutput"},
    {"encoder.layer.1.output.dense", "Linear"},
    {"encoder.layer.1.output.LayerNorm", "LayerNorm"},
    {"encoder.layer.1.output.dropout", "Dropout"},
    {"pooler", "BertPooler"},
    {"pooler.dense", "Linear"},
    {"pooler.activation", "Tanh"},
};

// Its state_dict: 5 embedding tensors, 16 per layer, 2 in the pooler. No `embeddings.position_ids` and
// `embeddings.token_type_ids`: Hugging Face registers those buffers with persistent=False.
const std::vector<std::pair<std::string, Shape>> kReferenceStateDict = {
    {"embeddings.word_embeddings.weight", {30522, 128}},
    {"embeddings.position_embeddings.weight", {512, 128}},
    {"embeddings.token_type_embeddings.weight", {2, 128}},
    {"embeddings.LayerNorm.weight", {128}},
    {"embeddings.LayerNorm.bias", {128}},
    {"encoder.layer.0.attention.self.query.weight", {128, 128}},
    {"encoder.layer.0.attention.self.query.bias", {128}},
    {"encoder.layer.0.attention.self.key.weight", {128, 128}},
    {"encoder.layer.0.attention.self.key.bias", {128}},
    {"encoder.layer.0.attention.self.value.weight", {128, 128}},
    {"encoder.layer.0.attention.self.value.bias", {128}},
    {"encoder.layer.0.attention.output.dense.weight", {128, 128}},
    {"encoder.layer.0.attention.output.dense.bias", {128}},
    {"encoder.layer.0.attention.output.LayerNorm.weight", {128}},
    {"encoder.layer.0.attention.output.LayerNorm.bias", {128}},
    {"encoder.layer.0.intermediate.dense.weight", {512, 128}},
    {"encoder.layer.0.intermediate.dense.bias", {512}},
    {"encoder.layer.0.output.dense.weight", {128, 512}},
    {"encoder.layer.0.output.dense.bias", {128}},
    {"encoder.layer.0.output.LayerNorm.weight", {128}},
    {"encoder.layer.0.output.LayerNorm.bias", {128}},
    {"encoder.layer.1.attention.self.query.weight", {128, 128}},
    {"encoder.layer.1.attention.self.query.bias", {128}},
    {"encoder.layer.1.attention.self.key.weight", {128, 128}},
    {"encoder.layer.1.attention.self.key.bias", {128}},
    {"encoder.layer.1.attention.self.value.weight", {128, 128}},
    {"encoder.layer.1.attention.self.value.bias", {128}},
    {"encoder.layer.1.attention.output.dense.weight", {128, 128}},
    {"encoder.layer.1.attention.output.dense.bias", {128}},
    {"encoder.layer.1.attention.output.LayerNorm.weight", {128}},
    {"encoder.layer.1.attention.output.LayerNorm.bias", {128}},
    {"encoder.layer.1.intermediate.dense.weight", {512, 128}},
    {"encoder.layer.1.intermediate.dense.bias", {512}},
    {"encoder.layer.1.output.dense.weight", {128, 512}},
    {"encoder.layer.1.output.dense.bias", {128}},
    {"encoder.layer.1.output.LayerNorm.weight", {128}},
    {"encoder.layer.1.output.LayerNorm.bias", {128}},
    {"pooler.dense.weight", {128, 128}},
    {"pooler.dense.bias", {128}},
};

htp::zoo::ZooModel bert_tiny(const htp::zoo::ZooOptions& options = {}) {
  torch::manual_seed(0);
  return htp::zoo::make_model("bert-tiny", options);
}

TEST(BertTiny, ModuleTreeMatchesHuggingFace) {
  EXPECT_EQ(module_rows(*bert_tiny().module), kReferenceModules);
}

TEST(BertTiny, StateDictMatchesHuggingFace) {
  const auto model = bert_tiny();
  EXPECT_EQ(kReferenceStateDict.size(), 39u);
  EXPECT_EQ(parameter_rows(*model.module), kReferenceStateDict);
  EXPECT_TRUE(model.module->named_buffers().is_empty());
  EXPECT_EQ(parameter_count(*model.module), 4385920);  // what Hugging Face reports for bert_uncased_L-2_H-128_A-2
}

TEST(BertTiny, IsFrozenWithAZeroPaddingEmbedding) {
  const auto model = bert_tiny();
  EXPECT_FALSE(model.module->is_training());
  for (const auto& tensor : model.module->parameters()) EXPECT_FALSE(tensor.requires_grad());
  const auto words = model.module->named_parameters()["embeddings.word_embeddings.weight"];
  EXPECT_TRUE(torch::equal(words[0], torch::zeros({128})));
  EXPECT_GT(words[1].abs().max().item<double>(), 0.0);
}

TEST(BertTiny, DescribesItsSequenceInputsAndOutputs) {
  const auto model = bert_tiny();
  expect_sequence_interface(model, {"input_ids", "attention_mask", "token_type_ids"},
                            {"last_hidden_state", "pooler_output"}, {{"batch", "sequence", ""}, {"batch", ""}});
}

TEST(BertTiny, ExampleInputsMaskEverySecondRowAndHaveTwoSegments) {
  const auto model = bert_tiny();
  const auto inputs = example_inputs(model, {4, 8});
  EXPECT_TRUE(inputs[0].ge(0).all().item<bool>() && inputs[0].lt(30522).all().item<bool>());
  const auto full_row = torch::ones({8}, torch::kInt64);
  const auto padded_row = torch::tensor({1, 1, 1, 1, 1, 1, 0, 0}, torch::kInt64);
  const auto expected_mask = torch::stack({full_row, padded_row, full_row, padded_row});
  EXPECT_TRUE(torch::equal(inputs[1], expected_mask));
  const auto segments = torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}, torch::kInt64).expand({4, 8});
  EXPECT_TRUE(torch::equal(inputs[2], segments));
}

TEST(BertTiny, BatchAndSequenceLengthComeFromTheOptions) {
  htp::zoo::ZooOptions options;
  options.batch = 3;
  options.seq_len = 512;
  const auto model = bert_tiny(options);
  for (const auto& spec : model.inputs) EXPECT_EQ(spec.shape, (Shape{3, 512}));
}

TEST(BertTiny, RejectsSizesItCannotRun) {
  htp::zoo::ZooOptions too_long;
  too_long.seq_len = 513;
  EXPECT_THROW(bert_tiny(too_long), std::invalid_argument);
  htp::zoo::ZooOptions negative_batch;
  negative_batch.batch = -1;
  EXPECT_THROW(bert_tiny(negative_batch), std::invalid_argument);
  htp::zoo::ZooOptions negative_length;
  negative_length.seq_len = -4;
  EXPECT_THROW(bert_tiny(negative_length), std::invalid_argument);
}

TEST(BertTiny, ForwardGivesHiddenStatesAndPooledOutput) {
  const auto model = bert_tiny();
  const auto outputs = model.forward(example_inputs(model, {3, 10}));
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{3, 10, 128}));
  EXPECT_EQ(outputs[1].sizes().vec(), (Shape{3, 128}));
  for (const auto& output : outputs) EXPECT_TRUE(torch::isfinite(output).all().item<bool>());
  EXPECT_LE(outputs[1].abs().max().item<double>(), 1.0);  // tanh
}

TEST(BertTiny, MaskedPositionsDoNotReachTheOthers) {
  const auto model = bert_tiny();
  auto inputs = example_inputs(model, {2, 16});
  const auto before = model.forward(inputs);
  // Row 1 masks positions 12..15: new tokens there leave every other position of that row unchanged.
  inputs[0].select(0, 1).slice(0, 12, 16).fill_(7);
  const auto after = model.forward(inputs);
  EXPECT_TRUE(torch::allclose(after[0][1].slice(0, 0, 12), before[0][1].slice(0, 0, 12)));
  EXPECT_TRUE(torch::allclose(after[1], before[1]));
  EXPECT_FALSE(torch::allclose(after[0][1].slice(0, 12, 16), before[0][1].slice(0, 12, 16)));
}

TEST(BertTiny, IsDeterministicPerSeed) {
  expect_deterministic_per_seed([](uint64_t seed) {
    torch::manual_seed(seed);
    const auto model = htp::zoo::make_model("bert-tiny");
    return model.forward(example_inputs(model, {2, 16}));
  });
}

// The trace of the default example must compute the same as the eager model at another batch size and
// length: no size of the example may be baked into the graph.
TEST(BertTiny, TraceRunsAtOtherBatchAndLength) {
  const auto model = bert_tiny();
  const auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model, {2, 16}));
  expect_trace_matches_eager(model, traced, example_inputs(model, {3, 9}));
}

}  // namespace
