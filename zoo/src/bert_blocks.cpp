#include "bert_blocks.h"

#include "dynamic_shape.h"
#include "htp/zoo/scoped.h"

#include <cmath>

namespace htp::zoo {

SelfAttentionImpl::SelfAttentionImpl(const std::string& family, int64_t hidden, int64_t heads, double dropout)
    : torch::nn::Module(family + "SelfAttention"),
      heads_(heads),
      head_size_(hidden / heads),
      query_(register_module("query", Linear(hidden, heads_ * head_size_))),
      key_(register_module("key", Linear(hidden, heads_ * head_size_))),
      value_(register_module("value", Linear(hidden, heads_ * head_size_))),
      dropout_(register_module("dropout", torch::nn::Dropout(dropout))) {}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
  const auto mixed_query = call(*this, query_, hidden_states);
  const auto key = split_heads(call(*this, key_, hidden_states), heads_, head_size_);
  const auto value = split_heads(call(*this, value_, hidden_states), heads_, head_size_);
  const auto query = split_heads(mixed_query, heads_, head_size_);
  auto scores = torch::matmul(query, key.transpose(-1, -2));
  scores = scores / std::sqrt(static_cast<double>(head_size_));
  if (attention_mask.defined()) scores = scores + attention_mask;
  auto probs = torch::softmax(scores, -1);
  probs = call(*this, dropout_, probs);
  return merge_heads(torch::matmul(probs, value), heads_ * head_size_);
}

IntermediateImpl::IntermediateImpl(const std::string& family, int64_t hidden, int64_t intermediate)
    : torch::nn::Module(family + "Intermediate"),
      dense_(register_module("dense", Linear(hidden, intermediate))),
      intermediate_act_fn_(register_module("intermediate_act_fn", GELUActivation())) {}

torch::Tensor IntermediateImpl::forward(const torch::Tensor& hidden_states) {
  return call(*this, intermediate_act_fn_, call(*this, dense_, hidden_states));
}

PoolerImpl::PoolerImpl(const std::string& family, int64_t hidden)
    : torch::nn::Module(family + "Pooler"),
      dense_(register_module("dense", Linear(hidden, hidden))),
      activation_(register_module("activation", torch::nn::Tanh())) {}

torch::Tensor PoolerImpl::forward(const torch::Tensor& hidden_states) {
  return call(*this, activation_, call(*this, dense_, hidden_states.select(1, 0)));
}

}  // namespace htp::zoo
