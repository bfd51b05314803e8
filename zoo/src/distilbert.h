// DistilBertModel at a chosen size: the registered `distilbert` is distilbert-base-uncased (66M weights),
// too slow for the many forwards of a unit test; a small size has the same structure and semantics.
#pragma once

#include "htp/zoo/zoo.h"

#include <cstdint>

namespace htp::zoo {

// The DistilBertConfig fields that set the model's size; the rest are distilbert-base-uncased's.
struct DistilBertSize {
  int64_t n_layers;
  int64_t dim;
  int64_t n_heads;
  int64_t hidden_dim;
};

ZooModel build_distilbert(const DistilBertSize& size, const ZooOptions& options);

}  // namespace htp::zoo
