// Module scopes read back from the node names torch.onnx.export writes, for re-tagging files
// exported elsewhere (`htp-export tag`).
//
// torch.onnx.export names a node "/" + one path component per module call on the stack + "/" + op
// type: `/layer1/layer1.0/conv1/Conv`, `/layers.0/attention/query/MatMul`, `/Flatten` (root).
// A component is the module's unqualified name: its path from the last non-numeric atom on
// (`layer1.0`, `conv1`, `conv.0.0`), with `_1`, `_2`, ... appended to the second, third, ... call
// of one module under one parent (`relu_1`). Names without the leading "/" (`Identity_0`) carry
// no scope.
#pragma once

#include "htp/tagging/module_tree.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace htp::tagging {

// (scope, class name) of every module, root "" included, as
// `{name: type(m).__name__ for name, m in model.named_modules()}` lists them.
using ModuleClasses = std::vector<std::pair<std::string, std::string>>;

// Parses a JSON object scope → class name, keeping its order. Throws htp::Error when the text is
// not such an object, a key is not a dotted module path, or the root "" is missing.
ModuleClasses parse_module_classes(const std::string& json_text);

struct NameScopes {
  std::vector<std::string> node_scopes;  // one per name; "" for the root and for unscoped names
  ModuleTree tree;  // every module the names pass through, their ancestors, and every listed class
};

// Derives the scope of every node name. With `classes`, each scope must be one of them (else
// htp::Error naming the node) and they give the class names; without, a module the names pass
// through is a "Module", and an ancestor no name passes through (`layers` of `layers.0`) ran no
// forward of its own, so it is a container, written "ModuleList".
NameScopes scopes_from_node_names(const std::vector<std::string>& names,
                                  const std::optional<ModuleClasses>& classes = std::nullopt);

// Sets `htp.scope` on every node of `graph` and of its subgraphs from its name, as set_read_scope does.
// Returns the module tree for tag_model.
ModuleTree scope_nodes_by_name(onnx::GraphProto& graph, const std::optional<ModuleClasses>& classes = std::nullopt);

// Sets the scope a file gives a node as its `htp.scope`, and `htp.source` = `direct` where that scope is not the root
// (`inherited` stays where an earlier tagging placed the node in that scope); removes any `htp.source` left on a root
// node by an earlier tagging, so it stays a candidate of the inheritance engine.
void set_read_scope(onnx::NodeProto& node, const std::string& scope);

}  // namespace htp::tagging
