// The partitioner's view of a graph, shared by its source files: logical ops and the tensors that
// connect them, at node and at op granularity.
#pragma once

#include "htp/analysis/partition.h"

#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace htp::analysis::detail {

class OpGraph {
 public:
  // Builds logical ops (each node but Constant; Sigmoid + Mul(x, Sigmoid(x)) in one scope as SiLU)
  // with their scopes; units are filled in by the caller.
  explicit OpGraph(const onnx::GraphProto& graph);

  const onnx::GraphProto& graph() const { return graph_; }
  std::vector<LogicalOp>& ops() { return ops_; }
  const std::vector<LogicalOp>& ops() const { return ops_; }
  int op_of_node(int node) const { return op_of_node_[node]; }  // -1 for Constant nodes
  // Tensors an op reads that none of its own nodes produces, in input order, without repeats.
  const std::vector<std::string>& op_inputs(int op) const { return op_inputs_[op]; }
  // The op producing `tensor`, or -1 (graph input, initializer, Constant output).
  int producer_op(const std::string& tensor) const;
  // Nodes reading `tensor`, without repeats.
  const std::vector<int>& consumer_nodes(const std::string& tensor) const;
  bool is_graph_output(const std::string& tensor) const { return graph_outputs_.count(tensor) != 0; }
  // The one op outside `op` that reads every output of `op` leaving it, or -1 when its outputs go to
  // several ops or to the graph's outputs.
  int sole_consumer(int op) const;

 private:
  void add_op(std::string name, std::vector<int> nodes);
  int silu_mul(int sigmoid) const;  // the Mul completing a SiLU with this Sigmoid, or -1

  const onnx::GraphProto& graph_;
  std::vector<LogicalOp> ops_;
  std::vector<int> op_of_node_;
  std::vector<std::vector<std::string>> op_inputs_;
  std::unordered_map<std::string, int> producer_node_;
  std::unordered_map<std::string, std::vector<int>> consumer_nodes_;
  std::unordered_set<std::string> graph_outputs_;
};

// Pattern checks on one subgraph's ops (indices into graph.ops(), in topological order).
bool is_se_block(const OpGraph& graph, const std::vector<int>& ops);
bool has_attention(const OpGraph& graph, const std::vector<int>& ops);

}  // namespace htp::analysis::detail
