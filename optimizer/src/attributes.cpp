#include "attributes.h"

#include <numeric>

namespace htp::optimizer {
namespace {

onnx::AttributeProto& attribute_for_writing(onnx::NodeProto& node, const std::string& name,
                                            onnx::AttributeProto::AttributeType type) {
  erase_attribute(node, name);
  onnx::AttributeProto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(type);
  return *attribute;
}

}  // namespace

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == name) return &attribute;
  }
  return nullptr;
}

std::optional<int64_t> int_attribute(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* attribute = find_attribute(node, name);
  if (attribute == nullptr) return std::nullopt;
  return attribute->i();
}

int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  return int_attribute(node, name).value_or(fallback);
}

std::optional<float> float_attribute(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* attribute = find_attribute(node, name);
  if (attribute == nullptr) return std::nullopt;
  return attribute->f();
}

float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  return float_attribute(node, name).value_or(fallback);
}

std::optional<std::vector<int64_t>> ints_attribute(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* attribute = find_attribute(node, name);
  if (attribute == nullptr) return std::nullopt;
  return std::vector<int64_t>(attribute->ints().begin(), attribute->ints().end());
}

std::optional<std::vector<int64_t>> transpose_order(const onnx::NodeProto& transpose, std::optional<int64_t> rank) {
  std::optional<std::vector<int64_t>> order = ints_attribute(transpose, "perm");
  if (!order) {
    if (!rank) return std::nullopt;
    order.emplace(static_cast<size_t>(*rank));
    std::iota(order->rbegin(), order->rend(), 0);
  }
  const auto size = static_cast<int64_t>(order->size());
  if (rank && *rank != size) return std::nullopt;
  std::vector<bool> seen(order->size());
  for (int64_t axis : *order) {
    if (axis < 0 || axis >= size || seen[static_cast<size_t>(axis)]) return std::nullopt;
    seen[static_cast<size_t>(axis)] = true;
  }
  return order;
}

void set_int_attribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  attribute_for_writing(node, name, onnx::AttributeProto::INT).set_i(value);
}

void set_ints_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  auto& attribute = attribute_for_writing(node, name, onnx::AttributeProto::INTS);
  for (int64_t value : values) attribute.add_ints(value);
}

void erase_attribute(onnx::NodeProto& node, const std::string& name) {
  auto* attributes = node.mutable_attribute();
  for (int i = attributes->size() - 1; i >= 0; --i) {
    if (attributes->Get(i).name() == name) attributes->DeleteSubrange(i, 1);
  }
}

}  // namespace htp::optimizer
