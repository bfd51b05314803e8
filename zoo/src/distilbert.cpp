// Hugging Face transformers' DistilBertModel (eager attention, eval mode) in the published
// distilbert-base-uncased configuration: the module tree, class names and state_dict keys of
// `transformers.DistilBertModel`, so that checkpoint's state dict loads by name.
#include "distilbert.h"

#include "dynamic_shape.h"
#include "families.h"
#include "init.h"
#include "leaf_modules.h"
#include "transformer_parts.h"
#include "htp/zoo/scoped.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

namespace htp::zoo {
namespace {

constexpr DistilBertSize kDistilBertBase = {6, 768, 12, 3072};  // distilbert-base-uncased

// The rest of distilbert-base-uncased's DistilBertConfig.
constexpr int64_t kVocabSize = 30522;
constexpr int64_t kMaxPositions = 512;  // sinusoidal_pos_embds false: a learned table
constexpr int64_t kPadTokenId = 0;
constexpr double kDropout = 0.1;  // dropout and attention_dropout
constexpr double kInitializerRange = 0.02;
// Not a config field: DistilBERT's LayerNorms are built with eps=1e-12.
constexpr double kLayerNormEps = 1e-12;

class EmbeddingsImpl : public torch::nn::Module {
 public:
  explicit EmbeddingsImpl(int64_t dim)
      : word_embeddings_(register_module(
            "word_embeddings",
            torch::nn::Embedding(torch::nn::EmbeddingOptions(kVocabSize, dim).padding_idx(kPadTokenId)))),
        position_embeddings_(register_module("position_embeddings", embedding(kMaxPositions, dim))),
        layer_norm_(register_module("LayerNorm", layer_norm(dim, kLayerNormEps))),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))) {}

  torch::Tensor forward(const torch::Tensor& input_ids) {
    const auto input_embeds = call(*this, word_embeddings_, input_ids);
    // Hugging Face slices its non-persistent `position_ids` buffer, arange(max_position)[None], to the
    // input length: the same tensor as this arange, without a buffer that is not in its state dict.
    const auto position_ids = arange(Size::of(input_embeds, 1)).unsqueeze(0);
    const auto embeddings = input_embeds + call(*this, position_embeddings_, position_ids);
    return call(*this, dropout_, call(*this, layer_norm_, embeddings));
  }

 private:
  torch::nn::Embedding word_embeddings_;
  torch::nn::Embedding position_embeddings_;
  torch::nn::LayerNorm layer_norm_;
  torch::nn::Dropout dropout_;
};
TORCH_MODULE(Embeddings);

class MultiHeadSelfAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadSelfAttentionImpl(int64_t dim, int64_t n_heads)
      : n_heads_(n_heads),
        dim_per_head_(dim / n_heads),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))),
        q_lin_(register_module("q_lin", Linear(dim, dim))),
        k_lin_(register_module("k_lin", Linear(dim, dim))),
        v_lin_(register_module("v_lin", Linear(dim, dim))),
        out_lin_(register_module("out_lin", Linear(dim, dim))) {}

  // TransformerBlock passes its input as query, key and value; `mask` is the [batch, length] 0/1
  // attention_mask as given to DistilBertModel.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) {
    const Size batch = Size::of(x, 0);
    const Size key_length = Size::of(x, 1);
    auto q = split_heads(call(*this, q_lin_, x), batch);
    const auto k = split_heads(call(*this, k_lin_, x), batch);
    const auto v = split_heads(call(*this, v_lin_, x), batch);
    q = q / std::sqrt(static_cast<double>(dim_per_head_));  // Hugging Face scales the queries, not the scores
    auto scores = torch::matmul(q, k.transpose(2, 3));
    const auto padding = view(mask.eq(0), {batch, 1, 1, key_length}).expand_as(scores);
    scores = scores.masked_fill(padding, kMaskValue);
    auto weights = torch::softmax(scores, -1);
    weights = call(*this, dropout_, weights);
    const auto context = merge_heads(torch::matmul(weights, v), batch);
    return call(*this, out_lin_, context);
  }

 private:
  // Hugging Face's shape(): [batch, length, dim] -> [batch, heads, length, dim_per_head].
  torch::Tensor split_heads(const torch::Tensor& x, const Size& batch) const {
    return view(x, {batch, -1, n_heads_, dim_per_head_}).transpose(1, 2);
  }

  // Its unshape(): the inverse.
  torch::Tensor merge_heads(const torch::Tensor& x, const Size& batch) const {
    return view(x.transpose(1, 2).contiguous(), {batch, -1, n_heads_ * dim_per_head_});
  }

  int64_t n_heads_;
  int64_t dim_per_head_;
  torch::nn::Dropout dropout_;
  Linear q_lin_;
  Linear k_lin_;
  Linear v_lin_;
  Linear out_lin_;
};
TORCH_MODULE(MultiHeadSelfAttention);

class FFNImpl : public torch::nn::Module {
 public:
  FFNImpl(int64_t dim, int64_t hidden_dim)
      : dropout_(register_module("dropout", torch::nn::Dropout(kDropout))),
        lin1_(register_module("lin1", Linear(dim, hidden_dim))),
        lin2_(register_module("lin2", Linear(hidden_dim, dim))),
        activation_(register_module("activation", GELUActivation())) {}

  // Hugging Face's ff_chunk (chunk_size_feed_forward is 0: one chunk).
  torch::Tensor forward(const torch::Tensor& x) {
    auto hidden = call(*this, lin1_, x);
    hidden = call(*this, activation_, hidden);
    hidden = call(*this, lin2_, hidden);
    return call(*this, dropout_, hidden);
  }

 private:
  torch::nn::Dropout dropout_;
  Linear lin1_;
  Linear lin2_;
  GELUActivation activation_;
};
TORCH_MODULE(FFN);

class TransformerBlockImpl : public torch::nn::Module {
 public:
  explicit TransformerBlockImpl(const DistilBertSize& size)
      : attention_(register_module("attention", MultiHeadSelfAttention(size.dim, size.n_heads))),
        sa_layer_norm_(register_module("sa_layer_norm", layer_norm(size.dim, kLayerNormEps))),
        ffn_(register_module("ffn", FFN(size.dim, size.hidden_dim))),
        output_layer_norm_(register_module("output_layer_norm", layer_norm(size.dim, kLayerNormEps))) {}

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& attention_mask) {
    auto sa_output = call(*this, attention_, x, attention_mask);
    sa_output = call(*this, sa_layer_norm_, sa_output + x);
    const auto ffn_output = call(*this, ffn_, sa_output);
    return call(*this, output_layer_norm_, ffn_output + sa_output);
  }

 private:
  MultiHeadSelfAttention attention_;
  torch::nn::LayerNorm sa_layer_norm_;
  FFN ffn_;
  torch::nn::LayerNorm output_layer_norm_;
};
TORCH_MODULE(TransformerBlock);

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const DistilBertSize& size) : layer_(register_module("layer", torch::nn::ModuleList())) {
    for (int64_t i = 0; i < size.n_layers; ++i) layer_->push_back(TransformerBlock(size));
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& attention_mask) {
    return run_layers<TransformerBlockImpl>(*this, layer_, x, attention_mask);
  }

 private:
  torch::nn::ModuleList layer_;
};
TORCH_MODULE(Transformer);

class DistilBertModelImpl : public torch::nn::Module {
 public:
  explicit DistilBertModelImpl(const DistilBertSize& size)
      : embeddings_(register_module("embeddings", Embeddings(size.dim))),
        transformer_(register_module("transformer", Transformer(size))) {}

  // With eager attention Hugging Face hands the 2-d attention_mask to every layer unchanged.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
    const auto embedding_output = call(*this, embeddings_, input_ids);
    return call(*this, transformer_, embedding_output, attention_mask);
  }

 private:
  Embeddings embeddings_;
  Transformer transformer_;
};
TORCH_MODULE(DistilBertModel);

}  // namespace

ZooModel build_distilbert(const DistilBertSize& size, const ZooOptions& options) {
  // Validate the options before drawing weights, so a bad size fails fast.
  const auto shape = sequence_shape("distilbert", options, kDefaultBatch, kDefaultSequence, kMaxPositions);
  if (size.n_heads <= 0 || size.dim % size.n_heads != 0) {
    throw std::invalid_argument("DistilBERT needs dim divisible by n_heads");
  }
  auto root = std::make_shared<DistilBertModelImpl>(size);
  init_transformer_weights(*root, kInitializerRange);
  freeze(*root);
  auto model = ids_and_mask_model(root, shape, kVocabSize);
  model.ignored_checkpoint_keys = {"embeddings.position_ids"};  // saved by transformers before 4.31
  return model;
}

ZooModel build_distilbert(const ZooOptions& options) { return build_distilbert(kDistilBertBase, options); }

}  // namespace htp::zoo
