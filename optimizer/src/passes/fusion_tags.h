// The tag of a node that replaces a pattern spanning modules: the pattern's lowest common ancestor.
#pragma once

#include "pass.h"

#include <vector>

namespace htp::optimizer {

// `fused` comes from graph.derived_node(principal) and carries the principal's tags. When the
// pattern's scoped nodes sit in different modules, it is moved to their lowest common ancestor:
// htp.scope, htp.tag and namespace of that module (from the model's htp.modules) and htp.source
// `direct` (the fused op ran in that module's forward). Untagged patterns, patterns within one
// module, and models without htp.modules keep the principal's tags. Also records htp.fused_from.
void tag_fused_node(Graph& graph, onnx::NodeProto& fused, const std::vector<const onnx::NodeProto*>& pattern);

}  // namespace htp::optimizer
