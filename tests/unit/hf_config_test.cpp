// make_hf_model: config.json fields reach the zoo builders, causal LMs get their LM head (tied or not),
// a task checkpoint's prefix nests the base model, and unsupported values are refused by name.
#include "htp/zoo/hf.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <set>
#include <stdexcept>
#include <string>

namespace {

using nlohmann::json;

const json kLlama = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", 32},
                     {"intermediate_size", 48}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                     {"num_key_value_heads", 2}, {"vocab_size", 101}, {"max_position_embeddings", 64}};

std::set<std::string> parameter_names(const htp::zoo::ZooModel& model) {
  std::set<std::string> names;
  for (const auto& item : model.module->named_parameters()) names.insert(item.key());
  return names;
}

std::string error_of(const json& config) {
  try {
    htp::zoo::make_hf_model(config.dump(), {});
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(HfConfig, LlamaForCausalLMHasItsHeadAndSizes) {
  torch::manual_seed(0);
  const auto model = htp::zoo::make_hf_model(kLlama.dump(), {});
  const auto names = parameter_names(model);
  EXPECT_TRUE(names.count("lm_head.weight"));
  EXPECT_TRUE(names.count("model.layers.1.self_attn.k_proj.weight"));
  EXPECT_EQ(model.module->named_parameters()["model.layers.1.self_attn.k_proj.weight"].sizes(), (torch::IntArrayRef{16, 32}));
  EXPECT_EQ(model.output_names, std::vector<std::string>{"logits"});
  EXPECT_EQ(model.base_model_prefix, "model.");
  const auto logits = model.forward({torch::randint(0, 101, {2, 5}), torch::ones({2, 5}, torch::kInt64)})[0];
  EXPECT_EQ(logits.sizes(), (torch::IntArrayRef{2, 5, 101}));
}

TEST(HfConfig, TiedHeadIsTheEmbeddingTable) {
  json config = kLlama;
  config["tie_word_embeddings"] = true;
  torch::manual_seed(0);
  const auto model = htp::zoo::make_hf_model(config.dump(), {});
  EXPECT_FALSE(parameter_names(model).count("lm_head.weight"));
  const auto table = model.module->named_parameters()["model.embed_tokens.weight"];
  const auto ids = torch::randint(0, 101, {1, 4});
  const auto logits = model.forward({ids, torch::ones({1, 4}, torch::kInt64)})[0];
  // The logits are the final hidden states against the table: changing the table changes them.
  torch::NoGradGuard no_grad;
  table.mul_(2.0);
  const auto doubled = model.forward({ids, torch::ones({1, 4}, torch::kInt64)})[0];
  EXPECT_FALSE(torch::allclose(logits, doubled));
}

TEST(HfConfig, GPT2LMHeadModelTiesItsHeadToWte) {
  const json config = {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"n_layer", 1}, {"n_embd", 16},
                       {"n_head", 2}, {"vocab_size", 23}, {"n_positions", 32}, {"n_inner", 20}};
  torch::manual_seed(0);
  const auto model = htp::zoo::make_hf_model(config.dump(), {});
  const auto names = parameter_names(model);
  EXPECT_FALSE(names.count("lm_head.weight"));
  EXPECT_EQ(model.module->named_parameters()["transformer.h.0.mlp.c_fc.weight"].sizes(), (torch::IntArrayRef{16, 20}));
  EXPECT_EQ(model.module->named_parameters()["transformer.wpe.weight"].sizes(), (torch::IntArrayRef{32, 16}));
  const auto logits = model.forward({torch::randint(0, 23, {2, 8}), torch::ones({2, 8}, torch::kInt64)})[0];
  EXPECT_EQ(logits.sizes(), (torch::IntArrayRef{2, 8, 23}));
}

TEST(HfConfig, NestedBaseModelNamesItsTensorsUnderThePrefix) {
  const json config = {{"architectures", {"BertForSequenceClassification"}}, {"model_type", "bert"}, {"vocab_size", 50},
                       {"hidden_size", 16}, {"num_hidden_layers", 1}, {"num_attention_heads", 2}, {"intermediate_size", 20}};
  torch::manual_seed(0);
  auto base = htp::zoo::make_hf_model(config.dump(), {});
  const auto ids = torch::randint(0, 50, {2, 6});
  const std::vector<torch::Tensor> inputs = {ids, torch::ones({2, 6}, torch::kInt64), torch::zeros({2, 6}, torch::kInt64)};
  const auto expected = base.forward(inputs);
  const auto nested = htp::zoo::nest_base_model(base, "bert", "BertForSequenceClassification");
  EXPECT_TRUE(parameter_names(nested).count("bert.embeddings.word_embeddings.weight"));
  EXPECT_EQ(nested.module->name(), "BertForSequenceClassification");
  EXPECT_EQ(nested.base_model_prefix, "bert.");
  EXPECT_EQ(nested.ignored_checkpoint_keys.front(), "bert.embeddings.position_ids");
  EXPECT_TRUE(torch::equal(nested.forward(inputs)[0], expected[0]));
}

// transformers' add_pooling_layer: task models that classify the [CLS] state with their own head, or read
// every position, build their base model without the pooler, and their checkpoints hold none.
TEST(HfConfig, ThePoolerComesWithTheArchitecturesThatReadIt) {
  auto pooled = [](const std::string& type, const std::string& architecture) {
    json config = {{"model_type", type}, {"hidden_size", 16}, {"num_hidden_layers", 1}, {"num_attention_heads", 2},
                   {"intermediate_size", 20}};
    if (type != "vit") config["vocab_size"] = 50;
    if (!architecture.empty()) config["architectures"] = {architecture};
    torch::manual_seed(0);
    const auto model = htp::zoo::make_hf_model(config.dump(), {});
    const bool has_pooler = parameter_names(model).count("pooler.dense.weight") > 0;
    EXPECT_EQ(has_pooler, model.output_names.size() == 2) << architecture;
    return has_pooler;
  };
  EXPECT_TRUE(pooled("bert", ""));
  EXPECT_TRUE(pooled("bert", "BertModel"));
  EXPECT_TRUE(pooled("bert", "BertForSequenceClassification"));
  EXPECT_TRUE(pooled("bert", "BertForPreTraining"));
  EXPECT_FALSE(pooled("bert", "BertForMaskedLM"));
  EXPECT_FALSE(pooled("bert", "BertForTokenClassification"));
  EXPECT_FALSE(pooled("roberta", "RobertaForSequenceClassification"));
  EXPECT_TRUE(pooled("roberta", "RobertaForMultipleChoice"));
  EXPECT_TRUE(pooled("vit", "ViTModel"));
  EXPECT_FALSE(pooled("vit", "ViTForImageClassification"));
}

TEST(HfConfig, RefusesWhatItDoesNotBuildByName) {
  json rope = kLlama;
  rope["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  EXPECT_NE(error_of(rope).find("llama with rope_scaling = "), std::string::npos) << error_of(rope);
  json act = kLlama;
  act["hidden_act"] = "gelu";
  EXPECT_NE(error_of(act).find("hidden_act = \"gelu\" is not supported"), std::string::npos) << error_of(act);
  json size = kLlama;
  size["num_key_value_heads"] = -2;
  EXPECT_NE(error_of(size).find("num_key_value_heads must be a positive integer"), std::string::npos) << error_of(size);
  json rope5 = kLlama;  // transformers 5's spelling of a llama3 rope
  rope5["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 32.0}};
  EXPECT_NE(error_of(rope5).find("llama with rope_parameters = "), std::string::npos) << error_of(rope5);
  const json untied_gpt2 = {{"model_type", "gpt2"}, {"n_layer", 1}, {"n_embd", 16}, {"n_head", 2}, {"tie_word_embeddings", false}};
  EXPECT_NE(error_of(untied_gpt2).find("gpt2 with tie_word_embeddings = false is not supported"), std::string::npos)
      << error_of(untied_gpt2);
  json vit = {{"model_type", "vit"}, {"image_size", 384}};
  EXPECT_NE(error_of(vit).find("image_size = 384 is not supported"), std::string::npos) << error_of(vit);
  EXPECT_NE(error_of({{"model_type", "t5"}}).find("unknown model_type 't5'; known: bert, distilbert"), std::string::npos);
  EXPECT_EQ(error_of(json::array()), "not a JSON object");
}

// transformers 5 moves rope_theta into rope_parameters: it reaches the rotary frequencies as the top-level
// field does.
TEST(HfConfig, RopeThetaComesFromRopeParametersToo) {
  json top = kLlama;
  top["rope_theta"] = 500000.0;
  json nested = kLlama;
  nested["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
  const auto ids = torch::randint(0, 101, {1, 6});
  const auto mask = torch::ones({1, 6}, torch::kInt64);
  torch::manual_seed(0);
  const auto expected = htp::zoo::make_hf_model(top.dump(), {}).forward({ids, mask})[0];
  torch::manual_seed(0);
  EXPECT_TRUE(torch::equal(htp::zoo::make_hf_model(nested.dump(), {}).forward({ids, mask})[0], expected));
  torch::manual_seed(0);
  EXPECT_FALSE(torch::equal(htp::zoo::make_hf_model(kLlama.dump(), {}).forward({ids, mask})[0], expected));
}

TEST(HfConfig, NullMeansAbsent) {
  json config = kLlama;
  config["rope_scaling"] = nullptr;
  config["num_key_value_heads"] = nullptr;  // transformers: None means as many as the attention heads
  torch::manual_seed(0);
  const auto model = htp::zoo::make_hf_model(config.dump(), {});
  EXPECT_EQ(model.module->named_parameters()["model.layers.0.self_attn.k_proj.weight"].sizes(), (torch::IntArrayRef{32, 32}));
}

}  // namespace
