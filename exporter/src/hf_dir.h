// `--hf-dir DIR`: a Hugging Face model directory (config.json, then model.safetensors, the shards of
// model.safetensors.index.json, pytorch_model.bin, or no weights at all) exported through the zoo.
#pragma once

#include "zoo_weights.h"

#include "htp/exporter/export.h"

namespace htp::exporter {

// The zoo model of DIR's config.json with DIR's weights (seeded random ones when it has none), placed
// by place_weights: streamed when `streamable` allows it. Initializer names are the checkpoint's keys: a
// base model stored under a task model's prefix ("bert.") is nested under it. Throws ExportError, one
// line, naming the file at fault.
WeightedModel load_hf_model(const ExportOptions& options, bool streamable);

}  // namespace htp::exporter
