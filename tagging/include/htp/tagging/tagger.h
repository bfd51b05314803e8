// Writes the DESIGN.md tags on every node of a converted model.
#pragma once

#include "htp/tagging/module_tree.h"

#include <onnx/onnx_pb.h>
#include <nlohmann/json_fwd.hpp>

#include <string>

namespace htp::tagging {

inline constexpr const char* kScopeKey = "htp.scope";
inline constexpr const char* kTagKey = "htp.tag";
inline constexpr const char* kSourceKey = "htp.source";
inline constexpr const char* kNamespaceKey = "namespace";
inline constexpr const char* kModulesKey = "htp.modules";
inline constexpr const char* kVersionKey = "htp.version";
inline constexpr int64_t kTaggedIrVersion = 10;

// The auxiliary op types of DESIGN.md: shape plumbing that often runs outside any module.
bool is_auxiliary_op(const std::string& op_type);

// Precondition: every node carries `htp.scope` naming a module of `tree` (the converter sets it).
// Postcondition: every node has `htp.tag`, `htp.source` and `namespace` and a unique scoped name;
// the model has ir_version 10 and `htp.modules` / `htp.version`. A node whose `htp.source` is
// already set (by the inheritance engine) keeps it; otherwise a node with a non-root scope, or a
// compute op of the root's own forward, is `direct`, and a root-scoped auxiliary op `fallback`.
void tag_model(onnx::ModelProto& model, const ModuleTree& tree);

// Coverage read back from the tags of a model: nodes, tagged, empty_tags, counts by source and by
// auxiliary op type, inheritance rate, nodes per module.
nlohmann::json coverage_report(const onnx::ModelProto& model);

}  // namespace htp::tagging
