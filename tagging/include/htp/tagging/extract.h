// Extraction by module: one module's subtree of a tagged model as a runnable model of its own.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace htp::tagging {

// Precondition: `model` is an htp-export file: every node carries `htp.scope` and nodes are in
// topological order.
// Postcondition: the result holds exactly the nodes whose scope is `scope` or below it ("" is the
// whole model), in their order, with their names and metadata. A node holding subgraphs (an ONNX
// If) is one node: it comes whole, with its branches, when its own scope lies in `scope`, and
// what its branches read from the enclosing graph counts as read by it. Its inputs are the
// non-initializer tensors those nodes read but do not make, its outputs the tensors they make that another node
// reads or the original graph returns (in both, the original graph's own inputs / outputs come
// first in their order, then the rest in node order), its initializers the ones they read. Inputs
// and outputs carry the element type and shape (at least the rank) that ONNX shape inference finds
// on the whole model. ir_version, opset_import,
// producer, functions and the model's metadata_props (htp.modules) are the original's.
// Throws htp::Error when the model has no htp tags, no node lies in `scope` (naming the top-level
// modules and the closest scope), or a boundary tensor's type cannot be inferred.
onnx::ModelProto extract_module(const onnx::ModelProto& model, const std::string& scope);

}  // namespace htp::tagging
