// config.json → zoo builder. Each family reads the fields that size its model, with transformers' own
// defaults for absent ones, and refuses a present field whose value the zoo's module does not compute.
#include "htp/zoo/hf.h"

#include "bert_family.h"
#include "distilbert.h"
#include "gpt2.h"
#include "llama.h"
#include "vit.h"
#include "whisper.h"
#include "htp/zoo/scoped.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace htp::zoo {
namespace {

using nlohmann::json;

// One config.json, read field by field with its model_type named in every error.
class HfConfig {
 public:
  HfConfig(json config, std::string model_type) : config_(std::move(config)), model_type_(std::move(model_type)) {}

  int64_t positive(const char* field, int64_t absent) const {
    if (!present(field)) return absent;
    const json& value = config_.at(field);
    if (!value.is_number_integer() || value.get<int64_t>() <= 0) throw bad(field, "a positive integer");
    return value.get<int64_t>();
  }

  int64_t integer(const char* field, int64_t absent) const {
    if (!present(field)) return absent;
    if (!config_.at(field).is_number_integer()) throw bad(field, "an integer");
    return config_.at(field).get<int64_t>();
  }

  double number(const char* field, double absent) const {
    if (!present(field)) return absent;
    const json& value = config_.at(field);
    if (!value.is_number() || !(value.get<double>() > 0) || !std::isfinite(value.get<double>())) {
      throw bad(field, "a positive number");
    }
    return value.get<double>();
  }

  bool flag(const char* field, bool absent) const {
    if (!present(field)) return absent;
    if (!config_.at(field).is_boolean()) throw bad(field, "true or false");
    return config_.at(field).get<bool>();
  }

  // A field the zoo's module computes one way only: absent, null (transformers' None: the default), or equal
  // to `built`.
  void require(const char* field, const json& built) const {
    if (!present(field)) return;
    const json& value = config_.at(field);
    const bool same = value == built || (value.is_number() && built.is_number() && value.get<double>() == built.get<double>());
    if (!same) {
      throw std::invalid_argument(model_type_ + " with " + field + " = " + value.dump() +
                                  " is not supported (htp-export builds " + field + " = " + built.dump() + ")");
    }
  }

  // The field's value, null when absent.
  json value(const char* field) const { return present(field) ? config_.at(field) : json(); }

  // The first of `architectures`, "" when absent.
  std::string architecture() const {
    if (!present("architectures")) return "";
    const json& list = config_.at("architectures");
    if (!list.is_array() || list.empty() || !list[0].is_string()) throw bad("architectures", "a list of class names");
    return list[0].get<std::string>();
  }

 private:
  bool present(const char* field) const { return config_.contains(field) && !config_.at(field).is_null(); }

  std::invalid_argument bad(const char* field, const char* expected) const {
    return std::invalid_argument(model_type_ + "'s " + field + " must be " + expected + ", not " +
                                 config_.at(field).dump());
  }

  json config_;
  std::string model_type_;
};

// rope_parameters' rope_theta, transformers' default 10000 without one.
double rope_theta(const json& rope_parameters) {
  if (!rope_parameters.contains("rope_theta")) return 10000.0;
  const json& theta = rope_parameters.at("rope_theta");
  if (!theta.is_number() || !(theta.get<double>() > 0)) throw std::invalid_argument("llama's rope_parameters.rope_theta must be a positive number");
  return theta.get<double>();
}

// transformers' LlamaConfig defaults; rope_scaling (llama3, linear, dynamic, yarn) would change the rotary
// frequencies, biases and other activations the layers themselves.
ZooModel llama(const HfConfig& config, const ZooOptions& options) {
  config.require("hidden_act", "silu");
  config.require("attention_bias", false);
  config.require("mlp_bias", false);
  const json rope_scaling = config.value("rope_scaling");
  const bool default_rope = rope_scaling.is_object() && rope_scaling.value("rope_type", rope_scaling.value("type", json())) == "default";
  if (!default_rope) config.require("rope_scaling", nullptr);  // {"rope_type": "default"} is None's rope
  // transformers 5 writes the rope's type and theta into rope_parameters instead.
  const json rope_parameters = config.value("rope_parameters");
  if (!rope_parameters.is_null() &&
      (!rope_parameters.is_object() || rope_parameters.value("rope_type", json("default")) != "default")) {
    throw std::invalid_argument("llama with rope_parameters = " + rope_parameters.dump() +
                                " is not supported (htp-export builds the default rope)");
  }
  LlamaConfig llama{};
  llama.hidden_size = config.positive("hidden_size", 4096);
  llama.intermediate_size = config.positive("intermediate_size", 11008);
  llama.num_hidden_layers = config.positive("num_hidden_layers", 32);
  llama.num_attention_heads = config.positive("num_attention_heads", 32);
  llama.num_key_value_heads = config.positive("num_key_value_heads", llama.num_attention_heads);
  llama.vocab_size = config.positive("vocab_size", 32000);
  llama.max_position_embeddings = config.positive("max_position_embeddings", 2048);
  llama.rms_norm_eps = config.number("rms_norm_eps", 1e-6);
  llama.rope_theta = config.number("rope_theta", rope_theta(rope_parameters));
  config.require("head_dim", llama.hidden_size / llama.num_attention_heads);
  const bool tied = config.flag("tie_word_embeddings", false);
  if (config.architecture() == "LlamaForCausalLM") return build_llama_for_causal_lm(llama, tied, options);
  return build_llama(llama, options);
}

// transformers' GPT2Config defaults.
ZooModel gpt2(const HfConfig& config, const ZooOptions& options) {
  config.require("activation_function", "gelu_new");
  config.require("scale_attn_weights", true);
  config.require("scale_attn_by_inverse_layer_idx", false);
  config.require("add_cross_attention", false);
  config.require("tie_word_embeddings", true);  // GPT2LMHeadModel's head is wte
  GPT2Config gpt2{config.positive("n_layer", 12), config.positive("n_embd", 768), config.positive("n_head", 12)};
  gpt2.vocab_size = config.positive("vocab_size", 50257);
  gpt2.n_positions = config.positive("n_positions", 1024);
  gpt2.layer_norm_epsilon = config.number("layer_norm_epsilon", 1e-5);
  gpt2.n_inner = config.positive("n_inner", 0);
  if (config.architecture() == "GPT2LMHeadModel") return build_gpt2_lm_head(gpt2, options);
  return build_gpt2(gpt2, options);
}

// Whether `architecture` builds its base model with the pooler (add_pooling_layer): the base model itself and
// the task models that read the pooled [CLS] state do; the others leave it out, and their checkpoints hold none.
bool pooled(const std::string& architecture, const std::string& family) {
  static const std::set<std::string> kPooledHeads = {"ForSequenceClassification", "ForMultipleChoice",
                                                     "ForNextSentencePrediction", "ForPreTraining"};
  if (architecture.empty() || architecture == family + "Model") return true;
  if (architecture.compare(0, family.size(), family) != 0) return true;  // another family's class: as the base model
  const std::string head = architecture.substr(family.size());
  // RoBERTa's and ViT's sequence classifiers read the [CLS] state with a head of their own.
  if (head == "ForSequenceClassification" || head == "ForImageClassification") return family == "Bert";
  return kPooledHeads.count(head) > 0;
}

// BertConfig's and RobertaConfig's class defaults differ only in the vocabulary and padding id, which are
// those of the published family.
ZooModel bert_family(const HfConfig& config, const ZooOptions& options, const BertFamily& published) {
  config.require("hidden_act", "gelu");
  config.require("position_embedding_type", "absolute");
  config.require("is_decoder", false);
  config.require("add_cross_attention", false);
  BertFamily family = published;
  family.vocab_size = config.positive("vocab_size", published.vocab_size);
  family.max_position_embeddings = config.positive("max_position_embeddings", 512);
  family.type_vocab_size = config.positive("type_vocab_size", 2);
  family.pad_token_id = config.integer("pad_token_id", published.pad_token_id);
  family.layer_norm_eps = config.number("layer_norm_eps", 1e-12);
  if (family.pad_token_id < 0 || family.pad_token_id >= family.vocab_size) {
    throw std::invalid_argument("pad_token_id must be a token id below vocab_size");
  }
  BertConfig bert{family, config.positive("num_hidden_layers", 12), config.positive("hidden_size", 768),
                  config.positive("num_attention_heads", 12), config.positive("intermediate_size", 3072)};
  bert.add_pooling_layer = pooled(config.architecture(), published.name);
  if (bert.hidden % bert.heads != 0) throw std::invalid_argument("hidden_size must be divisible by num_attention_heads");
  return bert_family_model(published.position_ids == PositionIds::kArange ? "bert" : "roberta", bert, options);
}

// The zoo's DistilBertModel has distilbert-base-uncased's vocabulary and positions; the sizes vary.
ZooModel distilbert(const HfConfig& config, const ZooOptions& options) {
  config.require("vocab_size", 30522);
  config.require("max_position_embeddings", 512);
  config.require("activation", "gelu");
  config.require("sinusoidal_pos_embds", false);
  const DistilBertSize size{config.positive("n_layers", 6), config.positive("dim", 768), config.positive("n_heads", 12),
                            config.positive("hidden_dim", 3072)};
  return build_distilbert(size, options);
}

// The zoo's ViTModel takes 224×224 RGB images in 16×16 patches; the sizes vary.
ZooModel vit(const HfConfig& config, const ZooOptions& options) {
  config.require("image_size", 224);
  config.require("patch_size", 16);
  config.require("num_channels", 3);
  config.require("hidden_act", "gelu");
  config.require("layer_norm_eps", 1e-12);
  config.require("qkv_bias", true);
  ViTConfig vit{config.positive("num_hidden_layers", 12), config.positive("hidden_size", 768),
                config.positive("num_attention_heads", 12), config.positive("intermediate_size", 3072)};
  vit.add_pooling_layer = pooled(config.architecture(), "ViT");
  if (vit.hidden % vit.heads != 0) throw std::invalid_argument("hidden_size must be divisible by num_attention_heads");
  return vit_model("vit", vit, options);
}

// The zoo's WhisperModel has whisper-tiny's audio front end, vocabulary and positions, and the same width
// in encoder and decoder; the sizes vary.
ZooModel whisper(const HfConfig& config, const ZooOptions& options) {
  config.require("num_mel_bins", 80);
  config.require("max_source_positions", 1500);
  config.require("max_target_positions", 448);
  config.require("vocab_size", 51865);
  config.require("activation_function", "gelu");
  config.require("scale_embedding", false);
  const int64_t heads = config.positive("encoder_attention_heads", 6);
  const int64_t ffn = config.positive("encoder_ffn_dim", 1536);
  config.require("decoder_attention_heads", heads);
  config.require("decoder_ffn_dim", ffn);
  const WhisperSize size{config.positive("encoder_layers", 4), config.positive("decoder_layers", 4),
                         config.positive("d_model", 384), heads, ffn};
  return build_whisper(size, options);
}

using FamilyBuilder = std::function<ZooModel(const HfConfig&, const ZooOptions&)>;

const std::map<std::string, FamilyBuilder>& families() {
  static const std::map<std::string, FamilyBuilder> builders = {
      {"bert", [](const HfConfig& c, const ZooOptions& o) { return bert_family(c, o, kBert); }},
      {"distilbert", distilbert},
      {"gpt2", gpt2},
      {"llama", llama},
      {"roberta", [](const HfConfig& c, const ZooOptions& o) { return bert_family(c, o, kRoberta); }},
      {"vit", vit},
      {"whisper", whisper},
  };
  return builders;
}

class NestedModelImpl : public torch::nn::Module {
 public:
  NestedModelImpl(const std::string& root_class, const std::string& child, std::shared_ptr<torch::nn::Module> base)
      : torch::nn::Module(root_class) {
    register_module(child, std::move(base));
  }
};

}  // namespace

const std::vector<std::string>& hf_model_types() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> names;
    for (const auto& entry : families()) names.push_back(entry.first);
    return names;
  }();
  return types;
}

ZooModel make_hf_model(const std::string& config_text, const ZooOptions& options) {
  json config = json::parse(config_text, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) throw std::invalid_argument("not a JSON object");
  if (!config.contains("model_type") || !config.at("model_type").is_string()) {
    throw std::invalid_argument("no model_type");
  }
  const std::string type = config.at("model_type").get<std::string>();
  const auto found = families().find(type);
  if (found == families().end()) {
    throw std::invalid_argument("unknown model_type '" + type + "'; known: " + joined(hf_model_types()));
  }
  return found->second(HfConfig(std::move(config), type), options);
}

ZooModel nest_base_model(ZooModel base, const std::string& child, const std::string& root_class) {
  auto root = std::make_shared<NestedModelImpl>(root_class, child, base.module);
  base.forward = [forward = std::move(base.forward), child](const std::vector<torch::Tensor>& args) {
    TraceScope scope(child);
    return forward(args);
  };
  base.module = root;
  for (auto& key : base.ignored_checkpoint_keys) key = child + "." + key;
  base.base_model_prefix = child + ".";
  if (base.draw_weight) {
    base.draw_weight = [draw = std::move(base.draw_weight), prefix = child + "."](const std::string& name, torch::Tensor& weight) {
      if (name.compare(0, prefix.size(), prefix) != 0) throw std::invalid_argument("no weight named '" + name + "'");
      draw(name.substr(prefix.size()), weight);
    };
  }
  return base;
}

}  // namespace htp::zoo
