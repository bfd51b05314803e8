#include "passes/pattern_matching.h"

#include "htp/onnxio/onnx_file.h"

#include <ATen/ATen.h>

#include <cmath>

namespace htp::optimizer {

bool is_op(const onnx::NodeProto* node, const char* op_type) {
  return node != nullptr && node->op_type() == op_type && onnxio::is_default_domain(node->domain());
}

onnx::NodeProto* single_reader(const Graph& graph, const std::string& tensor) {
  return graph.has_single_consumer(tensor) ? graph.consumers(tensor).front() : nullptr;
}

const std::string* other_input(const onnx::NodeProto& node, const std::string& one) {
  if (node.input_size() != 2) return nullptr;
  if (node.input(0) == one) return &node.input(1);
  if (node.input(1) == one) return &node.input(0);
  return nullptr;
}

std::optional<double> constant_scalar(const Graph& graph, const std::string& tensor) {
  auto value = graph.constant_value(tensor);
  if (!value || value->numel() != 1) return std::nullopt;
  return value->to(at::kDouble).item<double>();
}

bool is_constant_near(const Graph& graph, const std::string* tensor, double expected) {
  if (tensor == nullptr) return false;
  auto value = constant_scalar(graph, *tensor);
  return value && std::abs(*value - expected) <= 1e-6 * std::abs(expected);
}

}  // namespace htp::optimizer
