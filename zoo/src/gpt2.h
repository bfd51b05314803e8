// GPT2Model at a chosen size: the registered `gpt2` is the published gpt2 (124M weights), too slow for the
// many forwards of a unit test; a small size has the same structure and semantics.
#pragma once

#include "htp/zoo/zoo.h"

#include <cstdint>

namespace htp::zoo {

// The GPT2Config fields that set the model's size (n_inner is None: the MLP is 4·n_embd wide); the rest
// (vocabulary, 1024 positions, layer_norm_epsilon, gelu_new) are gpt2's.
struct GPT2Size {
  int64_t n_layer;
  int64_t n_embd;
  int64_t n_head;
};

// A GPT2Model with deterministic random weights from the current torch seed, taking input_ids and
// attention_mask [batch, sequence] (sized by the options, default 2×16) and returning last_hidden_state.
ZooModel build_gpt2(const GPT2Size& size, const ZooOptions& options);

}  // namespace htp::zoo
