#include "partition_graph.h"

#include "htp/tagging/metadata.h"
#include "htp/tagging/tagger.h"

#include <algorithm>
#include <set>

namespace htp::analysis::detail {
namespace {

const std::vector<int> kNoNodes;

std::string scope_of(const onnx::NodeProto& node) {
  return tagging::node_metadata(node, tagging::kScopeKey).value_or("");
}

bool contains(const std::vector<int>& values, int value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

OpGraph::OpGraph(const onnx::GraphProto& graph) : graph_(graph), op_of_node_(graph.node_size(), -1) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    for (const auto& output : node.output()) {
      if (!output.empty()) producer_node_[output] = i;
    }
    for (const auto& input : node.input()) {
      if (input.empty()) continue;
      auto& readers = consumer_nodes_[input];
      if (readers.empty() || readers.back() != i) readers.push_back(i);
    }
  }
  for (const auto& output : graph.output()) graph_outputs_.insert(output.name());

  // Ops in the order of their first node: a SiLU's inputs are produced before its Sigmoid and its
  // Sigmoid's output is read by its Mul only, so this order stays topological.
  for (int i = 0; i < graph.node_size(); ++i) {
    if (op_of_node_[i] >= 0 || graph.node(i).op_type() == "Constant") continue;
    const int mul = graph.node(i).op_type() == "Sigmoid" ? silu_mul(i) : -1;
    if (mul >= 0) {
      add_op("SiLU", {i, mul});
    } else {
      add_op(graph.node(i).op_type(), {i});
    }
  }
}

void OpGraph::add_op(std::string name, std::vector<int> nodes) {
  const int op = static_cast<int>(ops_.size());
  for (int node : nodes) op_of_node_[node] = op;
  std::vector<std::string> inputs;
  for (int node : nodes) {
    for (const auto& input : graph_.node(node).input()) {
      if (input.empty() || std::find(inputs.begin(), inputs.end(), input) != inputs.end()) continue;
      auto producer = producer_node_.find(input);
      if (producer == producer_node_.end() || !contains(nodes, producer->second)) inputs.push_back(input);
    }
  }
  std::string scope = scope_of(graph_.node(nodes.front()));
  ops_.push_back({std::move(name), std::move(nodes), std::move(scope), ""});
  op_inputs_.push_back(std::move(inputs));
}

int OpGraph::silu_mul(int sigmoid) const {
  const auto& node = graph_.node(sigmoid);
  if (node.input_size() != 1 || node.output_size() != 1 || is_graph_output(node.output(0))) return -1;
  const auto& readers = consumer_nodes(node.output(0));
  if (readers.size() != 1) return -1;
  const auto& mul = graph_.node(readers[0]);
  if (mul.op_type() != "Mul" || mul.input_size() != 2 || scope_of(mul) != scope_of(node)) return -1;
  const std::set<std::string> operands(mul.input().begin(), mul.input().end());
  return operands == std::set<std::string>{node.input(0), node.output(0)} ? readers[0] : -1;
}

int OpGraph::producer_op(const std::string& tensor) const {
  auto it = producer_node_.find(tensor);
  return it == producer_node_.end() ? -1 : op_of_node_[it->second];
}

const std::vector<int>& OpGraph::consumer_nodes(const std::string& tensor) const {
  auto it = consumer_nodes_.find(tensor);
  return it == consumer_nodes_.end() ? kNoNodes : it->second;
}

int OpGraph::sole_consumer(int op) const {
  int consumer = -1;
  for (int node : ops_[op].nodes) {
    for (const auto& output : graph_.node(node).output()) {
      if (output.empty()) continue;
      if (is_graph_output(output)) return -1;
      for (int reader : consumer_nodes(output)) {
        const int reader_op = op_of_node_[reader];
        if (reader_op == op) continue;
        if (reader_op < 0 || (consumer >= 0 && consumer != reader_op)) return -1;
        consumer = reader_op;
      }
    }
  }
  return consumer;
}

namespace {

// The op of `ops` (a subgraph) producing input `index` of op `op`, or -1.
int producer_in(const OpGraph& graph, const std::vector<int>& ops, int op, size_t index) {
  const auto& inputs = graph.op_inputs(op);
  if (index >= inputs.size()) return -1;
  const int producer = graph.producer_op(inputs[index]);
  return contains(ops, producer) ? producer : -1;
}

// The op of `ops` producing any input of `op`, or -1.
int any_producer_in(const OpGraph& graph, const std::vector<int>& ops, int op) {
  for (size_t i = 0; i < graph.op_inputs(op).size(); ++i) {
    if (int producer = producer_in(graph, ops, op, i); producer >= 0) return producer;
  }
  return -1;
}

bool named(const OpGraph& graph, int op, std::initializer_list<const char*> names) {
  if (op < 0) return false;
  return std::any_of(names.begin(), names.end(), [&](const char* name) { return graph.ops()[op].name == name; });
}

}  // namespace

bool is_se_block(const OpGraph& graph, const std::vector<int>& ops) {
  if (ops.size() != 6) return false;
  const bool shape = named(graph, ops[0], {"GlobalAveragePool", "ReduceMean"}) && named(graph, ops[1], {"Conv"}) &&
                     named(graph, ops[2], {"SiLU", "Relu", "HardSwish"}) && named(graph, ops[3], {"Conv"}) &&
                     named(graph, ops[4], {"Sigmoid", "HardSigmoid"}) && named(graph, ops[5], {"Mul"});
  if (!shape) return false;
  for (size_t i = 1; i < ops.size(); ++i) {
    if (any_producer_in(graph, ops, ops[i]) != ops[i - 1]) return false;
  }
  // The gate scales the very tensor that was pooled.
  const auto& pooled = graph.op_inputs(ops[0]).front();
  const auto& scaled = graph.op_inputs(ops[5]);
  return std::find(scaled.begin(), scaled.end(), pooled) != scaled.end();
}

// Between the scores' MatMul and the Softmax: masks and position biases added (BERT's mask, SAM's
// decomposed relative positions, each add reading the scores as its first input), a scale, and the views
// that reshape the scores for a bias.
int scores_matmul(const OpGraph& graph, const std::vector<int>& ops, int softmax) {
  constexpr int kMaxSteps = 8;
  int scores = producer_in(graph, ops, softmax, 0);
  for (int step = 0; step < kMaxSteps && named(graph, scores, {"Add", "Mul", "Div", "Reshape"}); ++step) {
    const int first = producer_in(graph, ops, scores, 0);
    scores = first >= 0 || named(graph, scores, {"Reshape"}) ? first : any_producer_in(graph, ops, scores);
  }
  return named(graph, scores, {"MatMul"}) ? scores : -1;
}

bool has_attention(const OpGraph& graph, const std::vector<int>& ops) {
  for (int softmax : ops) {
    if (!named(graph, softmax, {"Softmax"}) || scores_matmul(graph, ops, softmax) < 0) continue;
    for (int reader : graph.consumer_nodes(graph.graph().node(graph.ops()[softmax].nodes.back()).output(0))) {
      const int reader_op = graph.op_of_node(reader);
      if (contains(ops, reader_op) && named(graph, reader_op, {"MatMul"})) return true;
    }
  }
  return false;
}

}  // namespace htp::analysis::detail
