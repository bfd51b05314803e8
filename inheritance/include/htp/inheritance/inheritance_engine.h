// Places auxiliary ops that ran outside any module (DESIGN.md "inherited" / "fallback").
#pragma once

#include "htp/tagging/module_tree.h"

#include <onnx/onnx_pb.h>

#include <cstddef>

namespace htp::inheritance {

struct InheritanceStats {
  size_t candidates = 0;  // root-scoped auxiliary nodes without a source set by an earlier stage
  size_t inherited = 0;
  size_t fallback = 0;
};

// Precondition: every node carries `htp.scope` naming a module of `tree` ("" for the root);
// `htp.source` may be preset.
// Postcondition: every candidate (a root-scoped auxiliary node, see tagging::auxiliary_nodes,
// without a preset source) has `htp.source` = `inherited` and a non-root `htp.scope`, or `fallback`
// and the root scope. An inherited scope is the lowest common ancestor of the consumers' scopes when
// that is not the root, else a producer's non-root scope (a ModuleList/ModuleDict scope, which runs
// no forward of its own, is lifted to its owner). The consumer rule is preferred; placement iterates
// to a fixpoint so chains of auxiliary ops resolve, and depends on the dataflow only, never on node
// order.
class InheritanceEngine {
 public:
  InheritanceStats run(onnx::GraphProto& graph, const tagging::ModuleTree& tree) const;
};

}  // namespace htp::inheritance
