// What every model source (zoo trace, TorchScript archive) hands to the converter.
#pragma once

#include "htp/tagging/module_tree.h"

#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace htp::exporter {

struct GraphInput {
  const torch::jit::Value* value;
  std::string name;
  at::Tensor example;  // the example value; its dtype and shape describe the input
  // Per dim: a symbolic name for a dynamic axis, "" for a fixed size; empty when all are fixed.
  std::vector<std::string> dim_names;
};

struct Parameter {
  std::string name;  // state_dict key
  at::Tensor value;
  // True when the writer streams the bytes from their source (PreparedModel::streamed_weights): the
  // initializer holds only its type and dims until then, and `value` may be allocated but never
  // written (a zoo weight drawn as it is written).
  bool streamed = false;
};

struct TracedGraph {
  std::shared_ptr<torch::jit::Graph> graph;
  std::vector<GraphInput> inputs;
  // Values holding parameters and buffers: graph inputs of a trace, prim::GetAttr results of an
  // archive. Every other graph input must be unused.
  std::unordered_map<const torch::jit::Value*, Parameter> parameters;
  std::vector<std::string> output_names;
  // Per output: as GraphInput::dim_names.
  std::vector<std::vector<std::string>> output_dim_names;
  tagging::ModuleTree modules;
  // Module path of the module that ran a node ("" for the root).
  std::function<std::string(const torch::jit::Node*)> scope_of;
  // True for C++ traces, whose tracer rebinds every value an in-place op mutates.
  bool in_place_as_functional = true;
  // What the user should know about an export that succeeds (branches dropped), logged once the
  // conversion has: a failing export says only why it failed.
  std::vector<std::string> warnings;
};

}  // namespace htp::exporter
