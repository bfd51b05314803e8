// Places auxiliary ops that ran outside any module (DESIGN.md "inherited" / "fallback").
#pragma once

#include "htp/tagging/module_tree.h"

#include <onnx/onnx_pb.h>

#include <cstddef>

namespace htp::inheritance {

struct InheritanceStats {
  size_t candidates = 0;    // see below
  size_t inherited = 0;     // including those placed at the root by dataflow (rule 3)
  size_t fallback = 0;      // auxiliary nodes left unplaced
  size_t left_at_root = 0;  // input-preprocessing compute ops left unplaced: `direct` at the root
};

// Nodes inside subgraphs (If branches) are placed like any other: dataflow runs through them, and
// a node holding subgraphs consumes what they return.
// Precondition: every node carries `htp.scope` naming a module of `tree` ("" for the root);
// `htp.source` may be preset.
// Postcondition: every candidate (a root-scoped node whose tagging::NodeRole is auxiliary or input
// preprocessing, without a preset source) has `htp.source` = `inherited`, or stays at the root as
// `fallback` (auxiliary) or `direct` (input preprocessing, a compute op of the root's own forward).
// An inherited scope is, in order of preference:
// 1. the lowest common ancestor of the consumers' scopes when that is not the root (a ModuleList or
//    ModuleDict scope, which runs no forward of its own, is lifted to its owner unless that owner
//    is the root);
// 2. else a producer's non-root scope, where the module owning an initializer (a parameter or
//    buffer named by its state_dict key) is that initializer's producer;
// 3. else the root, for an auxiliary node all of whose consumers run in the root's own forward
//    (root compute ops, or auxiliary nodes this rule put at the root).
// Placement iterates to a fixpoint so chains resolve, and depends on the dataflow only, never on
// node order.
class InheritanceEngine {
 public:
  InheritanceStats run(onnx::GraphProto& graph, const tagging::ModuleTree& tree) const;
};

}  // namespace htp::inheritance
