// GPT2Model at a chosen size: the registered `gpt2` is the published gpt2 (124M weights), too slow for the
// many forwards of a unit test; a small size has the same structure and semantics.
#pragma once

#include "htp/zoo/zoo.h"

#include <cstdint>

namespace htp::zoo {

// The GPT2Config fields that shape GPT2Model, defaulting to gpt2's; activation_function is gelu_new.
struct GPT2Config {
  int64_t n_layer;
  int64_t n_embd;
  int64_t n_head;
  int64_t vocab_size = 50257;
  int64_t n_positions = 1024;
  double layer_norm_epsilon = 1e-5;
  int64_t n_inner = 0;  // the MLP's width; 0 for None, 4·n_embd
};

// A GPT2Model with deterministic random weights from the current torch seed, taking input_ids and
// attention_mask [batch, sequence] (sized by the options, default 2×16) and returning last_hidden_state.
ZooModel build_gpt2(const GPT2Config& config, const ZooOptions& options);

// GPT2LMHeadModel: the GPT2Model under `transformer` and `lm_head`, a bias-free projection onto the vocabulary
// tied to `transformer.wte` (its weight is wte's, not a parameter of its own), returning `logits`
// [batch, sequence, vocab_size].
ZooModel build_gpt2_lm_head(const GPT2Config& config, const ZooOptions& options);

}  // namespace htp::zoo
