// The module tree of a tagged model as the per-module reports walk it: modules in pre-order with
// parent and child indices, children in the order their first node runs, and the module of every
// node. Torch-free.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace htp::analysis {

struct ModuleLayout {
  struct Module {
    std::string scope;       // "" for the root
    std::string class_name;  // "(unknown)" for the root of an untagged model
    int parent = -1;         // index into `modules`; -1 for the root
    int depth = 0;
    std::vector<int> children;
  };

  bool tagged = false;                           // the model lists its modules in htp.modules
  std::vector<Module> modules;                   // pre-order, the root first
  std::vector<const onnx::NodeProto*> nodes;     // every node, subgraphs included (tagging::all_nodes)
  std::vector<int> node_module;                  // per node: its htp.scope's module, or the nearest listed ancestor

  // The module whose scope is `name` or its longest listed dotted prefix; 0 (the root) when none.
  // Initializers named like state_dict keys ("layer1.0.conv1.weight") thus go to their owner.
  int owner_of(const std::string& name) const;

  std::unordered_map<std::string, int> index_of_scope;
};

// Reads htp.modules and every node's htp.scope. An untagged model (no htp.modules) has one root
// holding every node. A listing that is not a tree (a module whose parent chain never reaches
// the root) loses the modules off the tree; their nodes go to the nearest listed ancestor. The layout
// points into `model`: keep the model alive while the layout is used.
ModuleLayout module_layout(const onnx::ModelProto& model);

}  // namespace htp::analysis
