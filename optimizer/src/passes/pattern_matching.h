// Small helpers the pattern fusions (FuseLayerNorm, FuseGelu) match their subgraphs with.
#pragma once

#include "pass.h"

#include <optional>
#include <string>

namespace htp::optimizer {

// A node of `op_type` in the default domain; false for nullptr.
bool is_op(const onnx::NodeProto* node, const char* op_type);
// The node reading `tensor` when exactly one node input reads it and it is no graph output.
onnx::NodeProto* single_reader(const Graph& graph, const std::string& tensor);
// The other input of a two-input node, given one of them; nullptr when `one` is not an input.
const std::string* other_input(const onnx::NodeProto& node, const std::string& one);
// The value of a one-element constant.
std::optional<double> constant_scalar(const Graph& graph, const std::string& tensor);
// Whether `tensor` (nullptr: no) is a one-element constant equal to `expected` up to float32 rounding.
bool is_constant_near(const Graph& graph, const std::string* tensor, double expected);

}  // namespace htp::optimizer
