// Nodes that hold graphs (ONNX If branches, Loop bodies): walking a model's nodes through them.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace htp::tagging {

// Every node of `graph` and of the subgraphs its nodes hold, at any depth, in an order where every
// node follows the nodes of its subgraphs and the producers of what it reads: topological when
// the graph is.
std::vector<onnx::NodeProto*> all_nodes(onnx::GraphProto& graph);
std::vector<const onnx::NodeProto*> all_nodes(const onnx::GraphProto& graph);

// What a node reads: its inputs, then the outputs of its subgraphs (an If returns what its
// branches make).
std::vector<std::string> node_reads(const onnx::NodeProto& node);

// The tensors the subgraphs of `node` read from enclosing graphs (their implicit inputs), in order
// of first use.
std::vector<std::string> implicit_inputs(const onnx::NodeProto& node);

}  // namespace htp::tagging
