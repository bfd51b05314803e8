// The module keys torch.onnx's dynamo exporter writes on every node (torch/onnx/_internal/exporter/
// _core.py, _get_node_namespace): Python repr() of two parallel lists, the module paths on the call
// stack from the root and the classes of those modules, each list ending with the FX node itself.
//
//   pkg.torch.onnx.name_scopes     ['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d_3']
//   pkg.torch.onnx.class_hierarchy ['torchvision.models.resnet.ResNet', ..., 'aten.conv2d.default']
//
// A node without a module stack has only the last entry. htp-export writes both keys on its own
// exports, and `tag` reads them back in preference to scoped node names.
#pragma once

#include "htp/tagging/module_tree.h"

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace htp::tagging {

inline constexpr const char* kNameScopesKey = "pkg.torch.onnx.name_scopes";
inline constexpr const char* kClassHierarchyKey = "pkg.torch.onnx.class_hierarchy";

// repr() of a Python list of str, as CPython writes it: single quotes unless the text holds a single
// quote and no double quote, backslash escapes for quotes, backslashes and control characters.
// Non-ASCII text is written as is, except the non-printable U+0080..U+00A0 and U+00AD.
std::string python_list_repr(const std::vector<std::string>& items);

// Parses what python_list_repr writes, and any Python list literal of plain string literals (either
// quote, the escapes of Python string literals, a trailing comma). Throws htp::Error saying what is
// wrong: not a list, an unterminated string, an item that is not a string.
std::vector<std::string> parse_python_list(const std::string& text);

// Whether any node of `graph` or of its subgraphs carries pkg.torch.onnx.name_scopes.
bool has_dynamo_scopes(const onnx::GraphProto& graph);

// Sets `htp.scope` on every node of `graph` and its subgraphs from its name_scopes (the last module
// path; the root for a node without the key), with classes from class_hierarchy (the last dotted
// part of each qualified name; "Module" without the key). `htp.source` follows scope_nodes_by_name's
// rule. Returns the module tree: every module on some stack, and their ancestors no stack passes
// through as "ModuleList" (containers run no forward, so the exporter never sees them). Throws
// htp::Error naming the node for a value that is not a list of strings, lists of different lengths,
// or a module path with an empty part.
ModuleTree scope_nodes_by_dynamo_keys(onnx::GraphProto& graph);

// Writes the dynamo exporter's two keys for a node in `scope`: the root, the modules of the tree's
// visible path, then the node's name (class side: the op type).
void set_dynamo_keys(onnx::NodeProto& node, const ModuleTree& tree, const std::string& scope);

}  // namespace htp::tagging
