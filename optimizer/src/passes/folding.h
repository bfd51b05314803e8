// What FoldConstants and FoldStaticShapes share: replacing a node by the constants it computes.
#pragma once

#include "pass.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace htp::optimizer {

// Replaces `node` by one initializer per read output, named after that output; readers then read
// the initializer. `values` holds one tensor per node output. Returns false and changes nothing
// when an output cannot be replaced (a graph output, or read by a subgraph).
bool replace_with_initializers(Graph& graph, onnx::NodeProto* node, const std::vector<at::Tensor>& values);

}  // namespace htp::optimizer
