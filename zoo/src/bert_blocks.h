// BERT's building blocks that other Hugging Face families copy unchanged under their own class names
// (transformers' "Copied from transformers.models.bert..." classes): each is named `family + suffix`,
// e.g. BertSelfAttention, RobertaSelfAttention, ViTSelfAttention.
#pragma once

#include "leaf_modules.h"
#include "transformer_parts.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace htp::zoo {

// BertSelfAttention (eager): softmax(q·kᵀ / sqrt(head_size) + mask)·v over `heads` heads.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(const std::string& family, int64_t hidden, int64_t heads, double dropout);

  // `attention_mask` is added to the scores (broadcast to [batch, heads, query, key]); ViT has none and
  // leaves it undefined.
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask = {});

 private:
  int64_t heads_;
  int64_t head_size_;
  Linear query_;
  Linear key_;
  Linear value_;
  torch::nn::Dropout dropout_;
};
TORCH_MODULE(SelfAttention);

// BertIntermediate: GELU(dense(x)).
class IntermediateImpl : public torch::nn::Module {
 public:
  IntermediateImpl(const std::string& family, int64_t hidden, int64_t intermediate);
  torch::Tensor forward(const torch::Tensor& hidden_states);

 private:
  Linear dense_;
  GELUActivation intermediate_act_fn_;
};
TORCH_MODULE(Intermediate);

// BertPooler: tanh(dense(x)) of the first ([CLS]) token's hidden state.
class PoolerImpl : public torch::nn::Module {
 public:
  PoolerImpl(const std::string& family, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& hidden_states);

 private:
  Linear dense_;
  torch::nn::Tanh activation_;
};
TORCH_MODULE(Pooler);

}  // namespace htp::zoo
