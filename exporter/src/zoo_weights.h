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

// Gives `model`, built with ZooOptions::draw_weights false, its weights: the checkpoint's, checked by name,
// shape and dtype as load_state_dict checks them, else the builder's draws. They are streamed when
// `streamable` and the builder left them undrawn (it set ZooModel::draw_weight). Otherwise the module holds
// them, and an undrawn module that could not hold them in the memory available fails with ExportError
// before any is written. A builder that draws regardless has its weights in place already.
WeightedModel place_weights(zoo::ZooModel model, const Checkpoint* checkpoint, const std::string& source, bool streamable);

}  // namespace htp::exporter
