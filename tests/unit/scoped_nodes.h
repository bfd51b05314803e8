// Hand-built models for the tagger's tests: a node of a given op type whose htp.scope a converter set.
#pragma once

#include "htp/tagging/metadata.h"

#include <onnx/onnx_pb.h>

#include <string>

namespace htp::test {

// Appends a node named as a converter would (no scope in the name) with `scope` as its htp.scope.
inline onnx::NodeProto* add_scoped_node(onnx::ModelProto& model, const std::string& op_type, const std::string& scope) {
  onnx::NodeProto* node = model.mutable_graph()->add_node();
  node->set_op_type(op_type);
  node->set_name("converter_name_" + std::to_string(model.graph().node_size()));
  tagging::set_node_metadata(*node, tagging::kScopeKey, scope);
  return node;
}

}  // namespace htp::test
