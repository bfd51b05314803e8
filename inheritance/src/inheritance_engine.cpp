#include "htp/inheritance/inheritance_engine.h"

#include "htp/tagging/auxiliary.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/subgraphs.h"
#include "htp/tagging/tagger.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace htp::inheritance {
namespace {

using tagging::ModuleTree;

constexpr size_t kNoProducer = std::numeric_limits<size_t>::max();

// A graph's dataflow as node indices, and one topological order of it.
struct Dataflow {
  std::vector<std::vector<size_t>> producers;  // per node and input: producing node or kNoProducer
  // Per node and input: for an initializer, the module owning it (its producer for the producer
  // rule: a tied head's `wte.weight` Transpose belongs to `wte`); "" for the root or no initializer.
  std::vector<std::vector<std::string>> owners;
  std::vector<std::vector<size_t>> consumers;  // per node: distinct consuming nodes
  std::vector<size_t> order;
};

std::vector<size_t> topological_order(const Dataflow& flow) {
  size_t n = flow.consumers.size();
  std::vector<size_t> pending(n, 0), order;
  for (size_t i = 0; i < n; ++i) {
    for (size_t consumer : flow.consumers[i]) ++pending[consumer];
  }
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) order.push_back(i);
  }
  for (size_t next = 0; next < order.size(); ++next) {
    for (size_t consumer : flow.consumers[order[next]]) {
      if (--pending[consumer] == 0) order.push_back(consumer);
    }
  }
  return order;  // shorter than n only for a cyclic (invalid) graph; those nodes stay unplaced
}

// Over the nodes of the graph and its subgraphs (names are unique across them): a node holding
// subgraphs consumes what they return, and a node inside one reads enclosing tensors directly.
Dataflow build_dataflow(const onnx::GraphProto& graph, const std::vector<onnx::NodeProto*>& nodes, const ModuleTree& tree) {
  size_t n = nodes.size();
  std::unordered_map<std::string, size_t> producer_of;
  for (size_t i = 0; i < n; ++i) {
    for (const auto& output : nodes[i]->output()) {
      if (!output.empty()) producer_of[output] = i;
    }
  }
  std::unordered_map<std::string, std::string> owner_of;
  for (const auto& initializer : graph.initializer()) owner_of[initializer.name()] = tree.owner_of_parameter(initializer.name());
  Dataflow flow;
  flow.producers.resize(n);
  flow.owners.resize(n);
  flow.consumers.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& input : tagging::node_reads(*nodes[i])) {
      auto it = producer_of.find(input);
      size_t producer = it == producer_of.end() ? kNoProducer : it->second;
      flow.producers[i].push_back(producer);
      if (producer != kNoProducer) flow.consumers[producer].push_back(i);
      auto owner = owner_of.find(input);
      flow.owners[i].push_back(owner == owner_of.end() ? std::string() : owner->second);
    }
  }
  for (auto& consumers : flow.consumers) {
    std::sort(consumers.begin(), consumers.end());
    consumers.erase(std::unique(consumers.begin(), consumers.end()), consumers.end());
  }
  flow.order = topological_order(flow);
  return flow;
}

enum class Verdict { kPlaced, kFailed, kUndecided };

// The placement state of every node: the scope of fixed nodes and placed candidates, nothing yet
// for open candidates. In strict sweeps a rule decides only once the neighbours it reads are known,
// so the consumer rule gets the full set of consumers; relaxed sweeps break the waits when a chain
// of open candidates blocks itself.
class Placement {
 public:
  Placement(const onnx::GraphProto& graph, const std::vector<onnx::NodeProto*>& nodes, const ModuleTree& tree)
      : tree_(tree), flow_(build_dataflow(graph, nodes, tree)) {
    roles_ = tagging::node_roles(graph);
    for (size_t i = 0; i < nodes.size(); ++i) {
      const onnx::NodeProto& node = *nodes[i];
      auto meta = tagging::node_metadata(node);
      const std::string& scope = meta[tagging::kScopeKey];
      bool candidate = scope.empty() && !meta.count(tagging::kSourceKey) && roles_[i] != tagging::NodeRole::kCompute;
      candidate_.push_back(candidate);
      at_root_.push_back(false);
      scope_.push_back(candidate ? std::nullopt : std::optional<std::string>(scope));
    }
  }

  void run() {
    while (sweep(false) || sweep(true)) {
    }
    place_at_root_by_consumers();
  }

  bool is_candidate(size_t node) const { return candidate_[node]; }
  tagging::NodeRole role(size_t node) const { return roles_[node]; }
  const std::optional<std::string>& scope(size_t node) const { return scope_[node]; }

 private:
  // One pass of the consumer rule (consumers first) and one of the producer rule (producers first).
  bool sweep(bool relaxed) {
    bool placed = false;
    for (auto it = flow_.order.rbegin(); it != flow_.order.rend(); ++it) placed |= try_rule(*it, relaxed, &Placement::by_consumers);
    if (placed && relaxed) return true;  // back to strict sweeps as soon as anything moved
    for (size_t node : flow_.order) placed |= try_rule(node, relaxed, &Placement::by_producers);
    return placed;
  }

  bool try_rule(size_t node, bool relaxed, Verdict (Placement::*rule)(size_t, bool, std::string&) const) {
    if (!candidate_[node] || scope_[node]) return false;
    std::string scope;
    if ((this->*rule)(node, relaxed, scope) != Verdict::kPlaced) return false;
    scope_[node] = scope;
    return true;
  }

  // The lowest common ancestor of the consumers' scopes, lifted out of containers.
  Verdict by_consumers(size_t node, bool relaxed, std::string& scope) const {
    bool any_known = false, any_open = false;
    for (size_t consumer : flow_.consumers[node]) {
      const auto& known = scope_[consumer];
      if (!known) {
        any_open = true;
        continue;
      }
      scope = any_known ? ModuleTree::common_ancestor(scope, *known) : *known;
      any_known = true;
    }
    if (any_known) scope = lift_out_of_containers(scope);
    if (any_known && scope.empty()) return Verdict::kFailed;  // more consumers cannot lower the ancestor
    if (any_open && (!relaxed || !any_known)) return Verdict::kUndecided;
    return any_known ? Verdict::kPlaced : Verdict::kFailed;
  }

  // The first input's producer, in input order, with a non-root scope, where an initializer's
  // owner module is its producer; tried only once the consumer rule has failed for good. A strict
  // sweep waits for an open earlier producer, a relaxed one passes over it.
  Verdict by_producers(size_t node, bool relaxed, std::string& scope) const {
    std::string unused;
    if (!relaxed && by_consumers(node, false, unused) != Verdict::kFailed) return Verdict::kUndecided;
    bool any_open = false;
    for (size_t input = 0; input < flow_.producers[node].size(); ++input) {
      size_t producer = flow_.producers[node][input];
      if (producer == kNoProducer) {
        const std::string& owner = flow_.owners[node][input];
        if (owner.empty()) continue;
        scope = owner;
        return Verdict::kPlaced;
      }
      const auto& known = scope_[producer];
      if (!known) {
        if (!relaxed) return Verdict::kUndecided;
        any_open = true;
      } else if (!known->empty()) {
        scope = *known;
        return Verdict::kPlaced;
      }
    }
    return any_open ? Verdict::kUndecided : Verdict::kFailed;
  }

  // The last rule, once the fixpoint leaves a node unplaced: an auxiliary node all of whose
  // consumers run in the root's own forward belongs to the root by dataflow. Repeated until nothing
  // changes, so a chain (Shape → Gather → Reshape → a root MatMul) goes to the root as a whole.
  void place_at_root_by_consumers() {
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t node : flow_.order) {
        if (!candidate_[node] || scope_[node] || roles_[node] != tagging::NodeRole::kAuxiliary) continue;
        const auto& consumers = flow_.consumers[node];
        if (consumers.empty() || !std::all_of(consumers.begin(), consumers.end(), [&](size_t c) { return runs_in_root_forward(c); })) {
          continue;
        }
        scope_[node] = "";
        at_root_[node] = changed = true;
      }
    }
  }

  // A compute op at the root (traced there, or input preprocessing left there), or an auxiliary
  // node the last rule put there.
  bool runs_in_root_forward(size_t node) const {
    if (at_root_[node]) return true;
    if (roles_[node] == tagging::NodeRole::kAuxiliary) return false;
    return candidate_[node] ? !scope_[node] : scope_[node]->empty();
  }

  // A list's owner is the context of what its children share, unless that owner is the root: then
  // the list itself is the most specific non-root context (GPT-2's `h` directly under GPT2Model).
  std::string lift_out_of_containers(std::string scope) const {
    while (!scope.empty() && tree_.is_container(scope) && !tree_.at(scope).parent.empty()) {
      scope = tree_.at(scope).parent;
    }
    return scope;
  }

  const ModuleTree& tree_;
  Dataflow flow_;
  std::vector<tagging::NodeRole> roles_;
  std::vector<bool> candidate_;
  std::vector<bool> at_root_;  // placed at the root by place_at_root_by_consumers
  std::vector<std::optional<std::string>> scope_;
};

}  // namespace

InheritanceStats InheritanceEngine::run(onnx::GraphProto& graph, const ModuleTree& tree) const {
  const std::vector<onnx::NodeProto*> nodes = tagging::all_nodes(graph);
  Placement placement(graph, nodes, tree);
  placement.run();
  InheritanceStats stats;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!placement.is_candidate(i)) continue;
    ++stats.candidates;
    onnx::NodeProto& node = *nodes[i];
    const auto& scope = placement.scope(i);
    if (scope) {
      tagging::set_node_metadata(node, tagging::kScopeKey, *scope);
      tagging::set_node_metadata(node, tagging::kSourceKey, "inherited");
      ++stats.inherited;
    } else if (placement.role(i) == tagging::NodeRole::kInputPreprocessing) {
      tagging::set_node_metadata(node, tagging::kSourceKey, "direct");  // the root's own forward ran it
      ++stats.left_at_root;
    } else {
      tagging::set_node_metadata(node, tagging::kSourceKey, "fallback");
      ++stats.fallback;
    }
  }
  return stats;
}

}  // namespace htp::inheritance
