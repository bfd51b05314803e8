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

// What tag_model writes besides the htp.* keys, by where the model comes from.
enum class TagStyle {
  kExport,     // our own export: unique scoped node names, `namespace` and the dynamo exporter's keys
  kNodeNames,  // a file torch.onnx.export wrote: node names kept, `namespace` added
  kDynamo,     // a file torch.onnx's dynamo exporter wrote: node names and every existing key kept
};

// Precondition: every node carries `htp.scope` naming a module of `tree` (the converter or the reader of
// the file sets it).
// Postcondition: every node, in subgraphs too, has `htp.tag` and `htp.source`, plus what `style` adds; the
// model has ir_version 10 or above and `htp.modules` / `htp.version`. A node whose `htp.source` is already
// set (by the inheritance engine) keeps it; otherwise a node with a non-root scope, or a compute op of
// the root's own forward, is `direct`, and a root-scoped auxiliary op `fallback`.
void tag_model(onnx::ModelProto& model, const ModuleTree& tree, TagStyle style = TagStyle::kExport);

// The scope keys of a node placed in `scope`: `htp.scope`, `htp.tag`, `namespace` and, where the node
// carries them or `with_dynamo_keys`, pkg.torch.onnx.name_scopes and class_hierarchy.
void set_scope_keys(onnx::NodeProto& node, const ModuleTree& tree, const std::string& scope, bool with_dynamo_keys);

}  // namespace htp::tagging
