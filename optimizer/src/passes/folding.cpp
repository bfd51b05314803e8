#include "passes/folding.h"

namespace htp::optimizer {
namespace {

// A graph output keeps its producer (the interface names a node output), and a subgraph's reads
// are never renamed; any other tensor can be read from an initializer instead.
bool replaceable(const Graph& graph, const std::string& output) {
  // With a graph output excluded, can_replace_all_uses only asks about subgraph reads of `output`.
  return !graph.is_graph_output(output) && graph.can_replace_all_uses(output, std::string());
}

}  // namespace

bool replace_with_initializers(Graph& graph, onnx::NodeProto* node, const std::vector<at::Tensor>& values) {
  for (const auto& output : node->output()) {
    if (!output.empty() && graph.use_count(output) > 0 && !replaceable(graph, output)) return false;
  }
  for (int k = 0; k < node->output_size(); ++k) {
    const std::string output = node->output(k);
    if (output.empty() || graph.use_count(output) == 0) continue;
    graph.replace_all_uses(output, graph.add_initializer(output, values.at(static_cast<size_t>(k))));
  }
  graph.remove_node(node);
  return true;
}

}  // namespace htp::optimizer
