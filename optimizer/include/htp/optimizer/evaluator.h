// ONNX evaluation with ATen: one node at a time (constant folding) or a whole graph (verify).
// Covers the default domain with the semantics of opset 13 to 17 (and the older attribute forms
// where an op moved an attribute to an input); docs/optimizer.md lists the op types. Includes ATen:
// keep it out of torch-free headers.
#pragma once

#include <ATen/core/Tensor.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace htp::optimizer {

// Whether evaluate_node knows the node's op type (default domain only).
bool can_evaluate(const onnx::NodeProto& node);

// Evaluates `node` on `inputs` (one per node input; an undefined tensor for an omitted optional
// input) under `opset`, the model's default-domain opset. Returns one tensor per node output; an
// omitted optional output ("") gets an undefined tensor. Throws htp::Error naming the node and its
// op type on an unknown op, an unsupported attribute value or inputs that break the op's rules.
std::vector<at::Tensor> evaluate_node(const onnx::NodeProto& node, const std::vector<at::Tensor>& inputs,
                                      int64_t opset);

// The model's default-domain ("" / ai.onnx) opset; throws htp::Error when it imports none.
int64_t default_opset(const onnx::ModelProto& model);

// Runs the model's main graph on `inputs` (by graph input name) in the order its nodes are listed
// (ONNX requires a topological order), reading initializers, external data from `model_dir`.
// Returns the graph outputs by name. Intermediate tensors are released after their last reader.
// An initializer that is also a graph input takes the value given in `inputs` when there is one.
// With `node_seconds` (one entry per main-graph node), each node's evaluation time is added to its
// entry (`htp-export profile` without a trace).
std::map<std::string, at::Tensor> run_graph(const onnx::ModelProto& model,
                                            const std::map<std::string, at::Tensor>& inputs,
                                            const std::string& model_dir = ".",
                                            std::vector<double>* node_seconds = nullptr);

}  // namespace htp::optimizer
