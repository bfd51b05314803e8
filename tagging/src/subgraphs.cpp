#include "htp/tagging/subgraphs.h"

#include <set>

namespace htp::tagging {
namespace {

// Overloads that let one walk serve const and mutable graphs.
auto& nodes_of(onnx::GraphProto& graph) { return *graph.mutable_node(); }
const auto& nodes_of(const onnx::GraphProto& graph) { return graph.node(); }
auto& attributes_of(onnx::NodeProto& node) { return *node.mutable_attribute(); }
const auto& attributes_of(const onnx::NodeProto& node) { return node.attribute(); }
onnx::GraphProto& graph_of(onnx::AttributeProto& attribute) { return *attribute.mutable_g(); }
const onnx::GraphProto& graph_of(const onnx::AttributeProto& attribute) { return attribute.g(); }
auto& graphs_of(onnx::AttributeProto& attribute) { return *attribute.mutable_graphs(); }
const auto& graphs_of(const onnx::AttributeProto& attribute) { return attribute.graphs(); }

template <typename Graph, typename Node>
void collect(Graph& graph, std::vector<Node*>& nodes) {
  for (auto& node : nodes_of(graph)) {
    for (auto& attribute : attributes_of(node)) {
      if (attribute.has_g()) collect(graph_of(attribute), nodes);
      for (auto& body : graphs_of(attribute)) collect(body, nodes);
    }
    nodes.push_back(&node);
  }
}

template <typename Visit>
void for_each_subgraph(const onnx::NodeProto& node, const Visit& visit) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.has_g()) visit(attribute.g());
    for (const auto& body : attribute.graphs()) visit(body);
  }
}

// Names a graph reads from enclosing graphs: read by its nodes (or their subgraphs), made by none
// of them, not its own input or initializer.
void outer_reads(const onnx::GraphProto& graph, std::set<std::string>& seen, std::vector<std::string>& reads) {
  std::set<std::string> local;
  for (const auto& input : graph.input()) local.insert(input.name());
  for (const auto& initializer : graph.initializer()) local.insert(initializer.name());
  for (const auto& node : graph.node()) {
    std::vector<std::string> names(node.input().begin(), node.input().end());
    for (const auto& name : implicit_inputs(node)) names.push_back(name);
    for (const auto& name : names) {
      if (!name.empty() && !local.count(name) && seen.insert(name).second) reads.push_back(name);
    }
    local.insert(node.output().begin(), node.output().end());
  }
}

}  // namespace

std::vector<onnx::NodeProto*> all_nodes(onnx::GraphProto& graph) {
  std::vector<onnx::NodeProto*> nodes;
  collect(graph, nodes);
  return nodes;
}

std::vector<const onnx::NodeProto*> all_nodes(const onnx::GraphProto& graph) {
  std::vector<const onnx::NodeProto*> nodes;
  collect(graph, nodes);
  return nodes;
}

std::vector<std::string> node_reads(const onnx::NodeProto& node) {
  std::vector<std::string> reads(node.input().begin(), node.input().end());
  for_each_subgraph(node, [&](const onnx::GraphProto& graph) {
    for (const auto& output : graph.output()) reads.push_back(output.name());
  });
  return reads;
}

std::vector<std::string> implicit_inputs(const onnx::NodeProto& node) {
  std::set<std::string> seen;
  std::vector<std::string> reads;
  for_each_subgraph(node, [&](const onnx::GraphProto& graph) { outer_reads(graph, seen, reads); });
  return reads;
}

}  // namespace htp::tagging
