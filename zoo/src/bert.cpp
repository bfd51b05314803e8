// Hugging Face transformers' BertModel (eager attention, eval mode): the module tree, class names and
// state_dict keys of `transformers.BertModel`, so a Hugging Face BERT state dict loads by name.
#include "dynamic_shape.h"
#include "families.h"
#include "init.h"
#include "leaf_modules.h"
#include "htp/zoo/scoped.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace htp::zoo {
namespace {

// The BertConfig fields that differ between the zoo's checkpoints.
struct BertConfig {
  int64_t layers;
  int64_t hidden;
  int64_t heads;
  int64_t intermediate;
};

// google/bert_uncased_L-2_H-128_A-2 and bert-base-uncased.
constexpr BertConfig kBertTiny = {2, 128, 2, 512};
constexpr BertConfig kBertBase = {12, 768, 12, 3072};

// BertConfig fields shared by both checkpoints.
constexpr int64_t kVocabSize = 30522;
constexpr int64_t kMaxPositions = 512;
constexpr int64_t kTypeVocabSize = 2;
constexpr int64_t kPadTokenId = 0;
constexpr double kLayerNormEps = 1e-12;
constexpr double kDropout = 0.1;  // hidden_dropout_prob and attention_probs_dropout_prob
constexpr double kInitializerRange = 0.02;

constexpr int64_t kDefaultBatch = 2;
constexpr int64_t kDefaultSequence = 16;

torch::nn::LayerNorm layer_norm(int64_t hidden) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden}).eps(kLayerNormEps));
}

torch::nn::Embedding embedding(int64_t count, int64_t hidden) {
  return torch::nn::Embedding(torch::nn::EmbeddingOptions(count, hidden));
}

// transformers.activations.GELUActivation: the exact (erf) GELU, a module of its own in Hugging Face's tree.
class GELUActivationImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) { return torch::gelu(x); }
};
TORCH_MODULE(GELUActivation);

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BertEmbeddingsImpl(int64_t hidden)
      : word_embeddings_(register_module(
            "word_embeddings",
            torch::nn::Embedding(torch::nn::EmbeddingOptions(kVocabSize, hidden).padding_idx(kPadTokenId)))),
        position_embeddings_(register_module("position_embeddings", embedding(kMaxPositions, hidden))),
        token_type_embeddings_(register_module("token_type_embeddings", embedding(kTypeVocabSize, hidden))),
        layer_norm_(register_module("LayerNorm", layer_norm(hidden))),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))) {}

  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids) {
    // Hugging Face slices its `position_ids` buffer, arange(max_position)[None], to the input length; an
    // arange of that length is the same tensor without the buffer, which Hugging Face (>= 4.31) leaves out
    // of its state dict and which therefore must not be one of ours.
    const auto position_ids = arange(Size::of(input_ids, 1)).unsqueeze(0);
    auto embeddings = call(*this, word_embeddings_, input_ids);
    embeddings = embeddings + call(*this, token_type_embeddings_, token_type_ids);
    embeddings = embeddings + call(*this, position_embeddings_, position_ids);
    embeddings = call(*this, layer_norm_, embeddings);
    return call(*this, dropout_, embeddings);
  }

 private:
  torch::nn::Embedding word_embeddings_;
  torch::nn::Embedding position_embeddings_;
  torch::nn::Embedding token_type_embeddings_;
  torch::nn::LayerNorm layer_norm_;
  torch::nn::Dropout dropout_;
};
TORCH_MODULE(BertEmbeddings);

class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  BertSelfAttentionImpl(int64_t hidden, int64_t heads)
      : heads_(heads),
        head_size_(hidden / heads),
        query_(register_module("query", Linear(hidden, heads_ * head_size_))),
        key_(register_module("key", Linear(hidden, heads_ * head_size_))),
        value_(register_module("value", Linear(hidden, heads_ * head_size_))),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
    const auto mixed_query = call(*this, query_, hidden_states);
    const auto key = split_heads(call(*this, key_, hidden_states));
    const auto value = split_heads(call(*this, value_, hidden_states));
    const auto query = split_heads(mixed_query);
    auto scores = torch::matmul(query, key.transpose(-1, -2));
    scores = scores / std::sqrt(static_cast<double>(head_size_));
    scores = scores + attention_mask;
    auto probs = torch::softmax(scores, -1);
    probs = call(*this, dropout_, probs);
    const auto context = torch::matmul(probs, value).permute({0, 2, 1, 3}).contiguous();
    return view(context, {Size::of(context, 0), Size::of(context, 1), heads_ * head_size_});
  }

 private:
  // Hugging Face's transpose_for_scores: [batch, seq, all_heads] -> [batch, heads, seq, head_size].
  torch::Tensor split_heads(const torch::Tensor& x) const {
    return view(x, {Size::of(x, 0), Size::of(x, 1), heads_, head_size_}).permute({0, 2, 1, 3});
  }

  int64_t heads_;
  int64_t head_size_;
  Linear query_;
  Linear key_;
  Linear value_;
  torch::nn::Dropout dropout_;
};
TORCH_MODULE(BertSelfAttention);

// BertSelfOutput and BertOutput differ only in the input width of `dense`: LayerNorm(dropout(dense(x)) + residual).
// Each subclass is named after its Hugging Face class; class_name() reads the dynamic type.
class ResidualProjection : public torch::nn::Module {
 public:
  ResidualProjection(int64_t in, int64_t hidden)
      : dense_(register_module("dense", Linear(in, hidden))),
        layer_norm_(register_module("LayerNorm", layer_norm(hidden))),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& input_tensor) {
    auto projected = call(*this, dense_, hidden_states);
    projected = call(*this, dropout_, projected);
    return call(*this, layer_norm_, projected + input_tensor);
  }

 private:
  Linear dense_;
  torch::nn::LayerNorm layer_norm_;
  torch::nn::Dropout dropout_;
};

class BertSelfOutputImpl : public ResidualProjection {
 public:
  explicit BertSelfOutputImpl(int64_t hidden) : ResidualProjection(hidden, hidden) {}
};
TORCH_MODULE(BertSelfOutput);

class BertOutputImpl : public ResidualProjection {
 public:
  BertOutputImpl(int64_t intermediate, int64_t hidden) : ResidualProjection(intermediate, hidden) {}
};
TORCH_MODULE(BertOutput);

class BertAttentionImpl : public torch::nn::Module {
 public:
  BertAttentionImpl(int64_t hidden, int64_t heads)
      : self_(register_module("self", BertSelfAttention(hidden, heads))),
        output_(register_module("output", BertSelfOutput(hidden))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
    const auto attended = call(*this, self_, hidden_states, attention_mask);
    return call(*this, output_, attended, hidden_states);
  }

 private:
  BertSelfAttention self_;
  BertSelfOutput output_;
};
TORCH_MODULE(BertAttention);

class BertIntermediateImpl : public torch::nn::Module {
 public:
  BertIntermediateImpl(int64_t hidden, int64_t intermediate)
      : dense_(register_module("dense", Linear(hidden, intermediate))),
        intermediate_act_fn_(register_module("intermediate_act_fn", GELUActivation())) {}

  torch::Tensor forward(const torch::Tensor& hidden_states) {
    return call(*this, intermediate_act_fn_, call(*this, dense_, hidden_states));
  }

 private:
  Linear dense_;
  GELUActivation intermediate_act_fn_;
};
TORCH_MODULE(BertIntermediate);

class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& config)
      : attention_(register_module("attention", BertAttention(config.hidden, config.heads))),
        intermediate_(register_module("intermediate", BertIntermediate(config.hidden, config.intermediate))),
        output_(register_module("output", BertOutput(config.intermediate, config.hidden))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
    const auto attention_output = call(*this, attention_, hidden_states, attention_mask);
    const auto intermediate_output = call(*this, intermediate_, attention_output);
    return call(*this, output_, intermediate_output, attention_output);
  }

 private:
  BertAttention attention_;
  BertIntermediate intermediate_;
  BertOutput output_;
};
TORCH_MODULE(BertLayer);

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertConfig& config) : layer_(register_module("layer", torch::nn::ModuleList())) {
    for (int64_t i = 0; i < config.layers; ++i) layer_->push_back(BertLayer(config));
  }

  torch::Tensor forward(torch::Tensor hidden_states, const torch::Tensor& attention_mask) {
    // A ModuleList runs no forward of its own; its scope only prefixes the indexed layers' paths.
    TraceScope list_scope(child_name(*this, *layer_));
    for (size_t i = 0; i < layer_->size(); ++i) {
      auto bert_layer = layer_->ptr<BertLayerImpl>(i);
      hidden_states = call(*layer_, bert_layer, hidden_states, attention_mask);
    }
    return hidden_states;
  }

 private:
  torch::nn::ModuleList layer_;
};
TORCH_MODULE(BertEncoder);

class BertPoolerImpl : public torch::nn::Module {
 public:
  explicit BertPoolerImpl(int64_t hidden)
      : dense_(register_module("dense", Linear(hidden, hidden))),
        activation_(register_module("activation", torch::nn::Tanh())) {}

  // The hidden state of the first ([CLS]) token.
  torch::Tensor forward(const torch::Tensor& hidden_states) {
    return call(*this, activation_, call(*this, dense_, hidden_states.select(1, 0)));
  }

 private:
  Linear dense_;
  torch::nn::Tanh activation_;
};
TORCH_MODULE(BertPooler);

struct BertOutputs {
  torch::Tensor last_hidden_state;
  torch::Tensor pooler_output;
};

class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const BertConfig& config)
      : embeddings_(register_module("embeddings", BertEmbeddings(config.hidden))),
        encoder_(register_module("encoder", BertEncoder(config))),
        pooler_(register_module("pooler", BertPooler(config.hidden))) {}

  BertOutputs forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                      const torch::Tensor& token_type_ids) {
    const auto mask = extended_attention_mask(attention_mask);
    const auto embedding_output = call(*this, embeddings_, input_ids, token_type_ids);
    const auto sequence_output = call(*this, encoder_, embedding_output, mask);
    return {sequence_output, call(*this, pooler_, sequence_output)};
  }

 private:
  // ModuleUtilsMixin.get_extended_attention_mask: 0 where attended, the lowest float where masked,
  // broadcast over heads and query positions.
  static torch::Tensor extended_attention_mask(const torch::Tensor& attention_mask) {
    const auto mask = attention_mask.unsqueeze(1).unsqueeze(2).to(torch::kFloat32);
    return torch::rsub(mask, 1.0) * std::numeric_limits<float>::lowest();
  }

  BertEmbeddings embeddings_;
  BertEncoder encoder_;
  BertPooler pooler_;
};
TORCH_MODULE(BertModel);

// BertPreTrainedModel._init_weights draws N(0, initializer_range) weights with zero biases and identity
// LayerNorms; biases and LayerNorm parameters are drawn too, so that a converter dropping or mixing up one
// of them changes the numerics.
void init_bert_weights(torch::nn::Module& root) {
  torch::NoGradGuard no_grad;
  for (const auto& module : root.modules()) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, kInitializerRange);
      linear->bias.normal_(0.0, kInitializerRange);
    }
    if (auto* table = module->as<torch::nn::Embedding>()) {
      table->weight.normal_(0.0, kInitializerRange);
      if (const auto padding = table->options.padding_idx()) table->weight[*padding].zero_();
    }
    if (auto* norm = module->as<torch::nn::LayerNorm>()) {
      norm->weight.uniform_(0.8, 1.2);
      norm->bias.uniform_(-0.1, 0.1);
    }
  }
}

// An option of 0 keeps the default; negative sizes are rejected.
int64_t size_option(int64_t value, int64_t default_value, const std::string& what) {
  if (value < 0) throw std::invalid_argument(what + " must not be negative, got " + std::to_string(value));
  return value == 0 ? default_value : value;
}

// Every second row has its last quarter of positions padded out, so the mask changes the outputs.
torch::Tensor padded_attention_mask(const std::vector<int64_t>& shape) {
  auto mask = torch::ones(shape, torch::kInt64);
  const int64_t length = shape.at(1);
  mask.slice(0, 1, shape.at(0), 2).slice(1, length - length / 4, length).zero_();
  return mask;
}

// Segment A for the first half of the positions, segment B for the rest.
torch::Tensor two_segments(const std::vector<int64_t>& shape) {
  auto token_types = torch::zeros(shape, torch::kInt64);
  const int64_t length = shape.at(1);
  token_types.slice(1, length / 2, length).fill_(1);
  return token_types;
}

std::vector<InputSpec> sequence_inputs(const std::string& model_name, const ZooOptions& options) {
  const int64_t batch = size_option(options.batch, kDefaultBatch, model_name + ": the batch size");
  const int64_t length = size_option(options.seq_len, kDefaultSequence, model_name + ": the sequence length");
  if (length > kMaxPositions) {
    throw std::invalid_argument(model_name + ": the sequence length " + std::to_string(length) +
                                " exceeds the model's " + std::to_string(kMaxPositions) + " positions");
  }
  const std::vector<int64_t> shape = {batch, length};
  const std::vector<std::string> dims = {"batch", "sequence"};
  auto token_ids = [](const std::vector<int64_t>& s) { return torch::randint(kVocabSize, s, torch::kInt64); };
  return {{"input_ids", shape, torch::kInt64, dims, token_ids},
          {"attention_mask", shape, torch::kInt64, dims, padded_attention_mask},
          {"token_type_ids", shape, torch::kInt64, dims, two_segments}};
}

ZooModel bert(const std::string& model_name, const BertConfig& config, const ZooOptions& options) {
  // Validate the options before drawing weights, so a bad size fails fast.
  auto inputs = sequence_inputs(model_name, options);
  auto root = BertModel(config).ptr();
  init_bert_weights(*root);
  freeze(*root);
  ZooModel model;
  model.module = root;
  model.forward = [root](const std::vector<torch::Tensor>& args) {
    if (args.size() != 3) {
      throw std::invalid_argument("BERT takes input_ids, attention_mask and token_type_ids");
    }
    const auto outputs = root->forward(args[0], args[1], args[2]);
    return std::vector<torch::Tensor>{outputs.last_hidden_state, outputs.pooler_output};
  };
  model.inputs = std::move(inputs);
  model.output_names = {"last_hidden_state", "pooler_output"};
  model.output_dim_names = {{"batch", "sequence", ""}, {"batch", ""}};
  return model;
}

}  // namespace

ZooModel build_bert_tiny(const ZooOptions& options) { return bert("bert-tiny", kBertTiny, options); }

ZooModel build_bert_base(const ZooOptions& options) { return bert("bert-base", kBertBase, options); }

}  // namespace htp::zoo
