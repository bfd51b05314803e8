// Where a zoo model's weights come from: drawn or loaded into its module, or streamed from their source
// into the written file without the module ever holding them.
#pragma once

#include "weights.h"

#include "htp/zoo/zoo.h"

#include <string>

namespace htp::exporter {

// A zoo model and the weights the export streams: each parameter named here is allocated in the module
// but never written (so it takes no memory), and its value is read from the entry when the file is written.
struct WeightedModel {
  zoo::ZooModel model;
  Checkpoint streamed;
};

// ZooOptions::draw_weights for a model whose weights will be loaded from a checkpoint or may be streamed:
// builders that can leave them undrawn need not draw them then.
inline bool draws_weights(bool has_checkpoint, bool streamable) { return !has_checkpoint && !streamable; }

// Gives `model` (built with draws_weights(checkpoint != nullptr, streamable)) its weights: the checkpoint's,
// checked by name, shape and dtype as load_state_dict checks them, else the builder's drawn ones. They are
// streamed when `streamable` and the builder can draw any weight alone (ZooModel::draw_weight), which is
// also what leaves a module undrawn; otherwise the module holds them.
WeightedModel place_weights(zoo::ZooModel model, const Checkpoint* checkpoint, const std::string& source, bool streamable);

}  // namespace htp::exporter
