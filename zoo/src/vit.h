// Hugging Face's ViTModel (vit.cpp) in any configuration, so that tests can build a small one; the registry
// builds the published checkpoints through families.h.
#pragma once

#include "htp/zoo/zoo.h"

#include <cstdint>
#include <string>

namespace htp::zoo {

// The ViTConfig fields that differ between checkpoints; the rest (224x224 RGB images cut into 16x16 patches,
// layer_norm_eps 1e-12, exact GELU, query/key/value biases) are fixed.
struct ViTConfig {
  int64_t layers;
  int64_t hidden;
  int64_t heads;
  int64_t intermediate;
  bool add_pooling_layer = true;  // false in ViTForImageClassification, which classifies the [CLS] state itself
};

// A ViTModel with pooler and deterministic random weights from the current torch seed, taking
// `pixel_values` [batch, 3, 224, 224] (batch from options.batch, default 2; options.seq_len and
// options.input_shape are rejected with std::invalid_argument naming `model_name`).
ZooModel vit_model(const std::string& model_name, const ViTConfig& config, const ZooOptions& options);

}  // namespace htp::zoo
