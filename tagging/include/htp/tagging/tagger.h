// Writes the DESIGN.md tags on every node of a converted model.
#pragma once

#include "htp/tagging/module_tree.h"

#include <onnx/onnx_pb.h>

#include <string>

namespace htp::tagging {

inline constexpr const char* kScopeKey = "htp.scope";
inline constexpr const char* kTagKey = "htp.tag";
inline constexpr const char* kSourceKey = "htp.source";
inline constexpr const char* kNamespaceKey = "namespace";
inline constexpr const char* kModulesKey = "htp.modules";
inline constexpr const char* kVersionKey = "htp.version";
inline constexpr int64_t kTaggedIrVersion = 10;

// Whether tag_model gives nodes scoped names or keeps the names they have (re-tagging a file
// exported elsewhere must change nothing but the tags).
enum class NodeNames { kScoped, kKeep };

// Precondition: every node carries `htp.scope` naming a module of `tree` (the converter sets it).
// Postcondition: every node, in subgraphs too, has `htp.tag`, `htp.source` and `namespace` (and, with kScoped, a
// unique scoped name); the model has ir_version 10 and `htp.modules` / `htp.version`. A node whose
// `htp.source` is already set (by the inheritance engine) keeps it; otherwise a node with a
// non-root scope, or a compute op of the root's own forward, is `direct`, and a root-scoped
// auxiliary op `fallback`.
void tag_model(onnx::ModelProto& model, const ModuleTree& tree, NodeNames names = NodeNames::kScoped);

}  // namespace htp::tagging
