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

size_t combine(size_t seed, size_t value) { return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)); }

// Equal for nodes that compute the same thing (same_computation); the attributes' hashes are
// summed, as their order is free.
size_t hash_of(const onnx::NodeProto& node) {
  const std::hash<std::string> hash;
  size_t seed = combine(hash(node.op_type()), size_t(node.output_size()));
  for (const auto& input : node.input()) seed = combine(seed, hash(input));
  size_t attributes = 0;
  for (const auto& attribute : node.attribute()) attributes += hash(attribute.SerializeAsString());
  return combine(seed, attributes);
}

std::vector<std::string> attributes_by_name(const onnx::NodeProto& node) {
  std::vector<const onnx::AttributeProto*> attributes;
  for (const auto& attribute : node.attribute()) attributes.push_back(&attribute);
  std::sort(attributes.begin(), attributes.end(), [](auto* a, auto* b) { return a->name() < b->name(); });
  std::vector<std::string> serialized;
  for (const auto* attribute : attributes) serialized.push_back(attribute->SerializeAsString());
  return serialized;
}

// Both mergeable (so of the default domain): the same op, inputs, output count and attributes.
bool same_computation(const onnx::NodeProto& a, const onnx::NodeProto& b) {
  return a.op_type() == b.op_type() && a.output_size() == b.output_size() && a.input_size() == b.input_size() &&
         std::equal(a.input().begin(), a.input().end(), b.input().begin()) &&
         a.attribute_size() == b.attribute_size() && attributes_by_name(a) == attributes_by_name(b);
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
    const std::vector<onnx::NodeProto*> nodes = graph.nodes();
    // The first node of each computation, by hash; a node equal to none of its hash's is a first.
    std::unordered_map<size_t, std::vector<onnx::NodeProto*>> first;
    first.reserve(nodes.size());
    for (onnx::NodeProto* node : nodes) {
      if (!is_mergeable(*node)) continue;
      std::vector<onnx::NodeProto*>& same_hash = first[hash_of(*node)];
      auto equal = std::find_if(same_hash.begin(), same_hash.end(),
                                [&](const onnx::NodeProto* seen) { return same_computation(*seen, *node); });
      if (equal == same_hash.end()) {
        same_hash.push_back(node);
        continue;
      }
      onnx::NodeProto* survivor = *equal;
      if (!can_merge(graph, *survivor, *node)) continue;
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
