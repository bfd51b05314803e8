// Nodes with the same op, domain, attributes and inputs compute the same values: readers of a
// later one read the first one's outputs, and the later one goes. Walking in graph order merges
// whole duplicated chains in one sweep (torch.onnx.export repeats Shape→Gather→Unsqueeze for
// every use of a size). Random ops, ops of other domains and ops with subgraphs are left alone.
#include "passes/passes.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace htp::optimizer {
namespace {

bool is_mergeable(const onnx::NodeProto& node) {
  static const std::unordered_set<std::string> kRandom{"RandomNormal", "RandomNormalLike", "RandomUniform",
                                                       "RandomUniformLike", "Bernoulli", "Multinomial"};
  if (!node.domain().empty() || node.output_size() == 0 || kRandom.count(node.op_type()) > 0) return false;
  return std::none_of(node.attribute().begin(), node.attribute().end(), [](const onnx::AttributeProto& attribute) {
    return attribute.has_g() || attribute.graphs_size() > 0;
  });
}

// Equal for nodes that compute the same thing; attributes in name order, as their order is free.
std::string key_of(const onnx::NodeProto& node) {
  std::string key = node.op_type() + '\0' + std::to_string(node.output_size()) + '\0';
  for (const auto& input : node.input()) key += input + '\1';
  std::vector<const onnx::AttributeProto*> attributes;
  for (const auto& attribute : node.attribute()) attributes.push_back(&attribute);
  std::sort(attributes.begin(), attributes.end(), [](auto* a, auto* b) { return a->name() < b->name(); });
  for (const auto* attribute : attributes) key += '\0' + attribute->SerializeAsString();
  return key;
}

bool can_merge(const Graph& graph, const onnx::NodeProto& survivor, const onnx::NodeProto& duplicate) {
  for (int i = 0; i < duplicate.output_size(); ++i) {
    if (duplicate.output(i).empty()) continue;
    if (survivor.output(i).empty() || !graph.can_replace_all_uses(duplicate.output(i), survivor.output(i))) return false;
  }
  return true;
}

class EliminateCommonSubexpressions : public Pass {
 public:
  const char* name() const override { return "EliminateCommonSubexpressions"; }

  bool run(Graph& graph) override {
    bool changed = false;
    std::unordered_map<std::string, onnx::NodeProto*> first;
    for (onnx::NodeProto* node : graph.nodes()) {
      if (!is_mergeable(*node)) continue;
      auto [it, inserted] = first.emplace(key_of(*node), node);
      if (inserted || !can_merge(graph, *it->second, *node)) continue;
      onnx::NodeProto* survivor = it->second;
      for (int i = 0; i < node->output_size(); ++i) {
        if (!node->output(i).empty()) graph.replace_all_uses(node->output(i), survivor->output(i));
      }
      Graph::record_fusion(*survivor, {survivor, node});
      graph.remove_node(node);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_common_subexpressions() { return std::make_unique<EliminateCommonSubexpressions>(); }

}  // namespace htp::optimizer
