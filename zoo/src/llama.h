// Hugging Face transformers' LlamaModel (eager attention, eval mode) at a chosen configuration: the
// registered `tinyllama` is TinyLlama-1.1B (Chat v1.0), whose 4.1 GB of weights are too many to draw in a
// unit test; a small configuration runs the same code.
#pragma once

#include "htp/zoo/zoo.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>

namespace htp::zoo {

// The LlamaConfig fields that shape LlamaModel (hidden_act is "silu"; attention_bias and mlp_bias are
// false; rope_scaling is None, the default rotary embedding; pad_token_id is None).
struct LlamaConfig {
  int64_t hidden_size;
  int64_t intermediate_size;
  int64_t num_hidden_layers;
  int64_t num_attention_heads;
  int64_t num_key_value_heads;
  int64_t vocab_size;
  int64_t max_position_embeddings;
  double rms_norm_eps;
  double rope_theta;
};

// TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json.
inline constexpr LlamaConfig kTinyLlama = {2048, 5632, 22, 32, 4, 32000, 2048, 1e-5, 10000.0};

// The LlamaModel module tree with every parameter allocated on `device` but not drawn. On the meta
// device it lists the names and shapes of a configuration without holding its weights; build_llama
// builds its model with the same code on the CPU.
std::shared_ptr<torch::nn::Module> llama_module(const LlamaConfig& config, torch::Device device);

// A LlamaModel with deterministic random weights (ZooModel::draw_weight: per weight, from the current torch seed
// and its name), taking input_ids and
// attention_mask [batch, sequence] (sized by the options, default 2×16) and returning last_hidden_state.
ZooModel build_llama(const LlamaConfig& config, const ZooOptions& options);

// LlamaForCausalLM: the LlamaModel under `model` and `lm_head` (its own weight, or the token embeddings' with
// tie_word_embeddings), returning `logits` [batch, sequence, vocab_size].
ZooModel build_llama_for_causal_lm(const LlamaConfig& config, bool tie_word_embeddings, const ZooOptions& options);

}  // namespace htp::zoo
