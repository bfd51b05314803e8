// Hugging Face transformers' GPT2Model (eager attention, eval mode) in the published gpt2 configuration:
// the module tree, class names and state_dict keys of `transformers.GPT2Model`, so that checkpoint's state
// dict loads by name.
#include "gpt2.h"

#include "dynamic_shape.h"
#include "families.h"
#include "init.h"
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

constexpr GPT2Config kGPT2 = {12, 768, 12};  // gpt2 (124M)

constexpr double kDropout = 0.1;  // embd_pdrop, attn_pdrop and resid_pdrop
constexpr double kInitializerRange = 0.02;

class GPT2AttentionImpl : public torch::nn::Module {
 public:
  GPT2AttentionImpl(int64_t embed_dim, int64_t heads)
      : embed_dim_(embed_dim),
        heads_(heads),
        head_dim_(embed_dim / heads),
        c_attn_(register_module("c_attn", Conv1D(embed_dim, 3 * embed_dim))),
        c_proj_(register_module("c_proj", Conv1D(embed_dim, embed_dim))),
        attn_dropout_(register_module("attn_dropout", torch::nn::Dropout(kDropout))),
        resid_dropout_(register_module("resid_dropout", torch::nn::Dropout(kDropout))) {}

  // `attention_mask` is GPT2Model's extended mask, added to the scores; the causal mask is this module's.
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
    const auto qkv = call(*this, c_attn_, hidden_states).split(embed_dim_, 2);
    const auto query = split_heads(qkv[0], heads_, head_dim_);
    const auto key = split_heads(qkv[1], heads_, head_dim_);
    const auto value = split_heads(qkv[2], heads_, head_dim_);
    auto weights = torch::matmul(query, key.transpose(-1, -2));
    weights = weights / std::sqrt(static_cast<double>(head_dim_));
    // Hugging Face slices its non-persistent `bias` buffer, tril(ones(n_positions, n_positions)), to the runtime
    // length; the mask computed from that length is the same without a buffer that is not in the state dict.
    const auto causal = causal_mask(Size::of(query, -2));
    weights = torch::where(causal, weights, torch::full({}, kMaskValue, weights.options()));
    weights = weights + attention_mask;
    weights = torch::softmax(weights, -1);
    weights = call(*this, attn_dropout_, weights);
    const auto output = merge_heads(torch::matmul(weights, value), heads_ * head_dim_);
    return call(*this, resid_dropout_, call(*this, c_proj_, output));
  }

 private:
  int64_t embed_dim_;
  int64_t heads_;
  int64_t head_dim_;
  Conv1D c_attn_;
  Conv1D c_proj_;
  torch::nn::Dropout attn_dropout_;
  torch::nn::Dropout resid_dropout_;
};
TORCH_MODULE(GPT2Attention);

class GPT2MLPImpl : public torch::nn::Module {
 public:
  GPT2MLPImpl(int64_t embed_dim, int64_t inner_dim)
      : c_fc_(register_module("c_fc", Conv1D(embed_dim, inner_dim))),
        c_proj_(register_module("c_proj", Conv1D(inner_dim, embed_dim))),
        act_(register_module("act", NewGELUActivation())),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states) {
    const auto hidden = call(*this, act_, call(*this, c_fc_, hidden_states));
    return call(*this, dropout_, call(*this, c_proj_, hidden));
  }

 private:
  Conv1D c_fc_;
  Conv1D c_proj_;
  NewGELUActivation act_;
  torch::nn::Dropout dropout_;
};
TORCH_MODULE(GPT2MLP);

// Pre-LayerNorm residual block: x + attn(ln_1(x)), then + mlp(ln_2(.)).
class GPT2BlockImpl : public torch::nn::Module {
 public:
  explicit GPT2BlockImpl(const GPT2Config& config)
      : ln_1_(register_module("ln_1", layer_norm(config.n_embd, config.layer_norm_epsilon))),
        attn_(register_module("attn", GPT2Attention(config.n_embd, config.n_head))),
        ln_2_(register_module("ln_2", layer_norm(config.n_embd, config.layer_norm_epsilon))),
        mlp_(register_module("mlp", GPT2MLP(config.n_embd, config.n_inner > 0 ? config.n_inner : 4 * config.n_embd))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask) {
    const auto attended = call(*this, attn_, call(*this, ln_1_, hidden_states), attention_mask) + hidden_states;
    return attended + call(*this, mlp_, call(*this, ln_2_, attended));
  }

 private:
  torch::nn::LayerNorm ln_1_;
  GPT2Attention attn_;
  torch::nn::LayerNorm ln_2_;
  GPT2MLP mlp_;
};
TORCH_MODULE(GPT2Block);

class GPT2ModelImpl : public torch::nn::Module {
 public:
  explicit GPT2ModelImpl(const GPT2Config& config)
      : wte_(register_module("wte", embedding(config.vocab_size, config.n_embd))),
        wpe_(register_module("wpe", embedding(config.n_positions, config.n_embd))),
        drop_(register_module("drop", torch::nn::Dropout(kDropout))),
        h_(register_module("h", torch::nn::ModuleList())),
        ln_f_(register_module("ln_f", layer_norm(config.n_embd, config.layer_norm_epsilon))) {
    for (int64_t i = 0; i < config.n_layer; ++i) h_->push_back(GPT2Block(config));
  }

  // Hugging Face first flattens input_ids to [-1, length] and finally views the output back to the input's
  // leading dims: identities for the 2-d inputs taken here, so left out.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
    const auto position_ids = arange(Size::of(input_ids, -1)).unsqueeze(0);
    const auto mask = extended_attention_mask(attention_mask);
    auto hidden_states = call(*this, wte_, input_ids) + call(*this, wpe_, position_ids);
    hidden_states = call(*this, drop_, hidden_states);
    hidden_states = run_layers<GPT2BlockImpl>(*this, h_, hidden_states, mask);
    return call(*this, ln_f_, hidden_states);
  }

  const torch::Tensor& token_embeddings() const { return wte_->weight; }

 private:
  // 0 where attended, the lowest float where padded, broadcast over heads and query positions.
  static torch::Tensor extended_attention_mask(const torch::Tensor& attention_mask) {
    const auto mask = attention_mask.unsqueeze(1).unsqueeze(2).to(torch::kFloat32);
    return torch::rsub(mask, 1.0) * kMaskValue;
  }

  torch::nn::Embedding wte_;
  torch::nn::Embedding wpe_;
  torch::nn::Dropout drop_;
  torch::nn::ModuleList h_;
  torch::nn::LayerNorm ln_f_;
};
TORCH_MODULE(GPT2Model);

class GPT2LMHeadModelImpl : public torch::nn::Module {
 public:
  explicit GPT2LMHeadModelImpl(const GPT2Config& config)
      : transformer_(register_module("transformer", GPT2Model(config))),
        lm_head_(register_module("lm_head", TiedLinear(transformer_->token_embeddings()))) {}

  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
    return call(*this, lm_head_, call(*this, transformer_, input_ids, attention_mask));
  }

 private:
  GPT2Model transformer_;
  TiedLinear lm_head_;
};
TORCH_MODULE(GPT2LMHeadModel);

std::vector<int64_t> validated_shape(const GPT2Config& config, const ZooOptions& options) {
  // Validate the options before drawing weights, so a bad size fails fast.
  const auto shape = sequence_shape("gpt2", options, kDefaultBatch, kDefaultSequence, config.n_positions);
  if (config.n_head <= 0 || config.n_embd % config.n_head != 0) {
    throw std::invalid_argument("GPT-2 needs n_embd divisible by n_head");
  }
  return shape;
}

// The ZooModel of a GPT-2 root with its weights drawn: GPT2Model, or a model keeping it under `prefix`. The
// causal-mask buffers published checkpoints still hold are skipped; the model computes the mask instead.
template <typename RootImpl>
ZooModel drawn_model(std::shared_ptr<RootImpl> root, const GPT2Config& config, const std::vector<int64_t>& shape,
                     const std::string& prefix) {
  init_transformer_weights(*root, kInitializerRange);
  freeze(*root);
  auto model = ids_and_mask_model(root, shape, config.vocab_size);
  model.ignored_checkpoint_keys = {prefix + "h.*.attn.bias", prefix + "h.*.attn.masked_bias"};
  return model;
}

}  // namespace

ZooModel build_gpt2(const GPT2Config& config, const ZooOptions& options) {
  const auto shape = validated_shape(config, options);
  return drawn_model(GPT2Model(config).ptr(), config, shape, "");
}

ZooModel build_gpt2_lm_head(const GPT2Config& config, const ZooOptions& options) {
  const auto shape = validated_shape(config, options);
  auto model = drawn_model(GPT2LMHeadModel(config).ptr(), config, shape, "transformer.");
  as_causal_lm(model, "transformer.", /*tied_head=*/true);
  return model;
}

ZooModel build_gpt2(const ZooOptions& options) { return build_gpt2(kGPT2, options); }

}  // namespace htp::zoo
