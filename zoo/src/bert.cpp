// Hugging Face transformers' BertModel and RobertaModel (eager attention, eval mode): the module tree,
// class names and state_dict keys of `transformers.BertModel` / `RobertaModel`, so a Hugging Face state
// dict loads by name. The C++ classes are named after BERT; each module reports its family's class name
// (BertLayer or RobertaLayer), since transformers defines RoBERTa's modules as copies of BERT's.
#include "bert_blocks.h"
#include "bert_family.h"
#include "dynamic_shape.h"
#include "families.h"
#include "init.h"
#include "leaf_modules.h"
#include "transformer_parts.h"
#include "htp/zoo/scoped.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace htp::zoo {
namespace {

// google/bert_uncased_L-2_H-128_A-2, bert-base-uncased and roberta-base.
constexpr BertConfig kBertTiny = {kBert, 2, 128, 2, 512};
constexpr BertConfig kBertBase = {kBert, 12, 768, 12, 3072};
constexpr BertConfig kRobertaBase = {kRoberta, 12, 768, 12, 3072};

// Config fields the families share.
constexpr double kDropout = 0.1;  // hidden_dropout_prob and attention_probs_dropout_prob
constexpr double kInitializerRange = 0.02;

// `family` + `suffix`: the Hugging Face class name of a module, e.g. RobertaEmbeddings.
std::string class_of(const BertFamily& family, const char* suffix) { return std::string(family.name) + suffix; }

torch::nn::Embedding padded_embedding(int64_t count, int64_t hidden, int64_t padding_idx) {
  return torch::nn::Embedding(torch::nn::EmbeddingOptions(count, hidden).padding_idx(padding_idx));
}

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  BertEmbeddingsImpl(const BertFamily& family, int64_t hidden)
      : torch::nn::Module(class_of(family, "Embeddings")),
        family_(family),
        word_embeddings_(register_module("word_embeddings",
                                         padded_embedding(family.vocab_size, hidden, family.pad_token_id))),
        // RoBERTa's position table has a padding row too: the position of every pad token.
        position_embeddings_(register_module(
            "position_embeddings", family.position_ids == PositionIds::kFromInputIds
                                       ? padded_embedding(family.max_position_embeddings, hidden, family.pad_token_id)
                                       : embedding(family.max_position_embeddings, hidden))),
        token_type_embeddings_(register_module("token_type_embeddings", embedding(family.type_vocab_size, hidden))),
        layer_norm_(register_module("LayerNorm", layer_norm(hidden, family.layer_norm_eps))),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))) {}

  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids) {
    auto embeddings = call(*this, word_embeddings_, input_ids);
    embeddings = embeddings + call(*this, token_type_embeddings_, token_type_ids);
    embeddings = embeddings + call(*this, position_embeddings_, position_ids(input_ids));
    embeddings = call(*this, layer_norm_, embeddings);
    return call(*this, dropout_, embeddings);
  }

 private:
  torch::Tensor position_ids(const torch::Tensor& input_ids) const {
    if (family_.position_ids == PositionIds::kArange) {
      // Hugging Face slices its `position_ids` buffer, arange(max_position)[None], to the input length; an
      // arange of that length is the same tensor without the buffer, which Hugging Face (>= 4.31) leaves out
      // of its state dict and which therefore must not be one of ours.
      return arange(Size::of(input_ids, 1)).unsqueeze(0);
    }
    // create_position_ids_from_input_ids, op for op: int32 mask, int64 running count cast back to int32.
    const auto mask = input_ids.ne(family_.pad_token_id).to(torch::kInt32);
    const auto incremental = torch::cumsum(mask, 1).type_as(mask) * mask;
    return incremental.to(torch::kLong) + family_.pad_token_id;
  }

  BertFamily family_;
  torch::nn::Embedding word_embeddings_;
  torch::nn::Embedding position_embeddings_;
  torch::nn::Embedding token_type_embeddings_;
  torch::nn::LayerNorm layer_norm_;
  torch::nn::Dropout dropout_;
};
TORCH_MODULE(BertEmbeddings);

// BertSelfOutput and BertOutput differ only in the input width of `dense`:
// LayerNorm(dropout(dense(x)) + residual).
class ResidualProjectionImpl : public torch::nn::Module {
 public:
  ResidualProjectionImpl(const std::string& class_name, int64_t in, int64_t hidden, double layer_norm_eps)
      : torch::nn::Module(class_name),
        dense_(register_module("dense", Linear(in, hidden))),
        layer_norm_(register_module("LayerNorm", layer_norm(hidden, layer_norm_eps))),
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
TORCH_MODULE(ResidualProjection);

class BertAttentionImpl : public torch::nn::Module {
 public:
  explicit BertAttentionImpl(const BertConfig& config)
      : torch::nn::Module(class_of(config.family, "Attention")),
        self_(register_module("self", SelfAttention(config.family.name, config.hidden, config.heads, kDropout))),
        output_(register_module("output", ResidualProjection(class_of(config.family, "SelfOutput"), config.hidden,
                                                             config.hidden, config.family.layer_norm_eps))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
    const auto attended = call(*this, self_, hidden_states, attention_mask);
    return call(*this, output_, attended, hidden_states);
  }

 private:
  SelfAttention self_;
  ResidualProjection output_;
};
TORCH_MODULE(BertAttention);

class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& config)
      : torch::nn::Module(class_of(config.family, "Layer")),
        attention_(register_module("attention", BertAttention(config))),
        intermediate_(
            register_module("intermediate", Intermediate(config.family.name, config.hidden, config.intermediate))),
        output_(register_module("output", ResidualProjection(class_of(config.family, "Output"), config.intermediate,
                                                             config.hidden, config.family.layer_norm_eps))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
    const auto attention_output = call(*this, attention_, hidden_states, attention_mask);
    const auto intermediate_output = call(*this, intermediate_, attention_output);
    return call(*this, output_, intermediate_output, attention_output);
  }

 private:
  BertAttention attention_;
  Intermediate intermediate_;
  ResidualProjection output_;
};
TORCH_MODULE(BertLayer);

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertConfig& config)
      : torch::nn::Module(class_of(config.family, "Encoder")),
        layer_(register_module("layer", torch::nn::ModuleList())) {
    for (int64_t i = 0; i < config.layers; ++i) layer_->push_back(BertLayer(config));
  }

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
    return run_layers<BertLayerImpl>(*this, layer_, hidden_states, attention_mask);
  }

 private:
  torch::nn::ModuleList layer_;
};
TORCH_MODULE(BertEncoder);

struct BertOutputs {
  torch::Tensor last_hidden_state;
  torch::Tensor pooler_output;
};

class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const BertConfig& config)
      : torch::nn::Module(class_of(config.family, "Model")),
        embeddings_(register_module("embeddings", BertEmbeddings(config.family, config.hidden))),
        encoder_(register_module("encoder", BertEncoder(config))) {
    if (config.add_pooling_layer) pooler_ = register_module("pooler", Pooler(config.family.name, config.hidden));
  }

  // pooler_output is undefined without a pooler.
  BertOutputs forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                      const torch::Tensor& token_type_ids) {
    const auto mask = extended_attention_mask(attention_mask);
    const auto embedding_output = call(*this, embeddings_, input_ids, token_type_ids);
    const auto sequence_output = call(*this, encoder_, embedding_output, mask);
    return {sequence_output, pooler_ ? call(*this, pooler_, sequence_output) : torch::Tensor()};
  }

 private:
  // ModuleUtilsMixin.get_extended_attention_mask: 0 where attended, the lowest float where masked,
  // broadcast over heads and query positions.
  static torch::Tensor extended_attention_mask(const torch::Tensor& attention_mask) {
    const auto mask = attention_mask.unsqueeze(1).unsqueeze(2).to(torch::kFloat32);
    return torch::rsub(mask, 1.0) * kMaskValue;
  }

  BertEmbeddings embeddings_;
  BertEncoder encoder_;
  Pooler pooler_{nullptr};
};
TORCH_MODULE(BertModel);

// Token ids as a tokenizer pads a batch: random ids other than the pad id, and the pad id exactly where
// padded_attention_mask is 0 (RoBERTa's position ids depend on it).
std::function<torch::Tensor(const std::vector<int64_t>&)> padded_token_ids(const BertFamily& family) {
  return [vocab_size = family.vocab_size, pad = family.pad_token_id](const std::vector<int64_t>& shape) {
    auto ids = torch::randint(vocab_size - 1, shape, torch::kInt64);
    ids += ids.ge(pad).to(torch::kInt64);  // uniform over the ids other than pad
    return ids.masked_fill_(padded_attention_mask(shape).eq(0), pad);
  };
}

// Segment A for the first half of the positions, segment B for the rest.
torch::Tensor two_segments(const std::vector<int64_t>& shape) {
  auto token_types = torch::zeros(shape, torch::kInt64);
  const int64_t length = shape.at(1);
  token_types.slice(1, length / 2, length).fill_(1);
  return token_types;
}

// A family with a single token type (RoBERTa) has segment A only.
torch::Tensor one_segment(const std::vector<int64_t>& shape) { return torch::zeros(shape, torch::kInt64); }

std::vector<InputSpec> sequence_inputs(const std::string& model_name, const BertFamily& family,
                                       const ZooOptions& options) {
  const auto shape =
      sequence_shape(model_name, options, kDefaultBatch, kDefaultSequence, max_sequence_length(family));
  return {sequence_input("input_ids", shape, padded_token_ids(family)),
          sequence_input("attention_mask", shape, padded_attention_mask),
          sequence_input("token_type_ids", shape, family.type_vocab_size > 1 ? two_segments : one_segment)};
}

}  // namespace

int64_t max_sequence_length(const BertFamily& family) {
  const int64_t first_position = family.position_ids == PositionIds::kFromInputIds ? family.pad_token_id + 1 : 0;
  return family.max_position_embeddings - first_position;
}

ZooModel bert_family_model(const std::string& model_name, const BertConfig& config, const ZooOptions& options) {
  // Validate the options before drawing weights, so a bad size fails fast.
  auto inputs = sequence_inputs(model_name, config.family, options);
  auto root = BertModel(config).ptr();
  init_transformer_weights(*root, kInitializerRange);
  freeze(*root);
  ZooModel model;
  model.module = root;
  model.forward = [root, model_name](const std::vector<torch::Tensor>& args) {
    if (args.size() != 3) {
      throw std::invalid_argument(model_name + " takes input_ids, attention_mask and token_type_ids");
    }
    const auto outputs = root->forward(args[0], args[1], args[2]);
    if (!outputs.pooler_output.defined()) return std::vector<torch::Tensor>{outputs.last_hidden_state};
    return std::vector<torch::Tensor>{outputs.last_hidden_state, outputs.pooler_output};
  };
  model.inputs = std::move(inputs);
  model.output_names = {"last_hidden_state"};
  model.output_dim_names = {{"batch", "sequence", ""}};
  if (config.add_pooling_layer) {
    model.output_names.push_back("pooler_output");
    model.output_dim_names.push_back({"batch", ""});
  }
  // Checkpoints saved before transformers made these buffers non-persistent carry them. A pooler-less
  // task model ignores the pooler its checkpoint may still hold (bert-base-uncased is a BertForMaskedLM).
  model.ignored_checkpoint_keys = {"embeddings.position_ids", "embeddings.token_type_ids"};
  if (!config.add_pooling_layer) model.ignored_checkpoint_keys.insert(model.ignored_checkpoint_keys.end(), {"pooler.dense.weight", "pooler.dense.bias"});
  return model;
}

ZooModel build_bert_tiny(const ZooOptions& options) { return bert_family_model("bert-tiny", kBertTiny, options); }

ZooModel build_bert_base(const ZooOptions& options) { return bert_family_model("bert-base", kBertBase, options); }

ZooModel build_roberta(const ZooOptions& options) { return bert_family_model("roberta", kRobertaBase, options); }

}  // namespace htp::zoo
