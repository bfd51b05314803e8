// run_graph: the main graph evaluated node by node with the ATen evaluator.
#include "htp/onnxio/error.h"
#include "htp/optimizer/evaluator.h"
#include "htp/optimizer/tensor_proto.h"

#include <chrono>
#include <unordered_map>
#include <unordered_set>

namespace htp::optimizer {

std::map<std::string, at::Tensor> run_graph(const onnx::ModelProto& model,
                                            const std::map<std::string, at::Tensor>& inputs,
                                            const std::string& model_dir, std::vector<double>* node_seconds) {
  const onnx::GraphProto& graph = model.graph();
  const int64_t opset = default_opset(model);
  std::unordered_map<std::string, at::Tensor> values;
  std::unordered_set<std::string> graph_inputs;
  for (const auto& input : graph.input()) graph_inputs.insert(input.name());
  for (const auto& [name, value] : inputs) {
    if (!graph_inputs.count(name)) throw Error("the model has no input named '" + name + "'");
    values[name] = value;
  }
  for (const auto& initializer : graph.initializer()) {
    if (!values.count(initializer.name())) values[initializer.name()] = from_tensor_proto(initializer, model_dir);
  }
  for (const auto& input : graph.input()) {
    if (!values.count(input.name())) throw Error("no value for the model's input '" + input.name() + "'");
  }

  // Reads left per tensor, so each intermediate is released after its last reader.
  std::unordered_set<std::string> graph_outputs;
  for (const auto& output : graph.output()) graph_outputs.insert(output.name());
  std::unordered_map<std::string, int64_t> reads_left;
  for (const auto& node : graph.node()) {
    for (const auto& name : node.input()) ++reads_left[name];
  }

  if (node_seconds && node_seconds->size() != static_cast<size_t>(graph.node_size())) {
    throw Error("run_graph: node_seconds has " + std::to_string(node_seconds->size()) + " entries for " +
                std::to_string(graph.node_size()) + " nodes");
  }
  std::vector<at::Tensor> node_inputs;
  size_t node_index = 0;
  for (const auto& node : graph.node()) {
    node_inputs.clear();
    for (const auto& name : node.input()) {
      if (name.empty()) {
        node_inputs.emplace_back();
        continue;
      }
      auto it = values.find(name);
      if (it == values.end()) {
        throw Error("node '" + node.name() + "' (" + node.op_type() + ") reads '" + name +
                    "', which no earlier node, graph input or initializer provides");
      }
      node_inputs.push_back(it->second);
    }
    const auto start = std::chrono::steady_clock::now();
    std::vector<at::Tensor> outputs = evaluate_node(node, node_inputs, opset);
    if (node_seconds) {
      (*node_seconds)[node_index] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    ++node_index;
    for (int k = 0; k < node.output_size(); ++k) {
      if (!node.output(k).empty()) values[node.output(k)] = std::move(outputs[static_cast<size_t>(k)]);
    }
    node_inputs.clear();
    for (const auto& name : node.input()) {
      if (!name.empty() && --reads_left[name] == 0 && !graph_outputs.count(name)) values.erase(name);
    }
  }

  std::map<std::string, at::Tensor> results;
  for (const auto& output : graph.output()) {
    auto it = values.find(output.name());
    if (it == values.end()) throw Error("no node produces the model's output '" + output.name() + "'");
    results[output.name()] = it->second;
  }
  return results;
}

}  // namespace htp::optimizer
