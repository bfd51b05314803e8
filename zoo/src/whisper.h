// WhisperModel at a chosen size: the registered `whisper-tiny` and `whisper-base` are the published
// openai/whisper-tiny and openai/whisper-base, whose encoders attend over 1500 frames; a small size has the
// same structure and semantics for the unit tests.
#pragma once

#include "htp/zoo/zoo.h"

#include <cstdint>
#include <string>

namespace htp::zoo {

// The WhisperConfig fields that set the model's size; the rest (80 mel bins, 1500 source and 448 target
// positions, the 51865-token vocabulary, exact GELU, no embedding scale) are those of whisper-tiny and -base.
struct WhisperSize {
  int64_t encoder_layers;
  int64_t decoder_layers;
  int64_t d_model;
  int64_t attention_heads;  // encoder_attention_heads and decoder_attention_heads
  int64_t ffn_dim;          // encoder_ffn_dim and decoder_ffn_dim
};

// A WhisperModel with deterministic random weights from the current torch seed, taking `input_features`
// [batch, 80, 3000] and `decoder_input_ids` [batch, sequence] (sized by the options, default 2×16) and returning
// the decoder's `last_hidden_state` and the `encoder_last_hidden_state` [batch, 1500, d_model]. `name` is what
// errors about the options call the model.
ZooModel build_whisper(const WhisperSize& size, const ZooOptions& options, const std::string& name = "whisper");

}  // namespace htp::zoo
