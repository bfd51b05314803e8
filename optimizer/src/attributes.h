// Reading and writing NodeProto attributes by name, for passes and the evaluator.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace htp::optimizer {

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name);
std::optional<int64_t> int_attribute(const onnx::NodeProto& node, const std::string& name);
int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
std::optional<float> float_attribute(const onnx::NodeProto& node, const std::string& name);
float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback);
std::optional<std::vector<int64_t>> ints_attribute(const onnx::NodeProto& node, const std::string& name);

// The axis order a Transpose applies to an input of rank `rank` (unknown: nullopt): its `perm`, or
// the reversed axes without one. Nullopt when that is no permutation of [0, rank), as in a
// malformed file, or when it needs the unknown rank.
std::optional<std::vector<int64_t>> transpose_order(const onnx::NodeProto& transpose, std::optional<int64_t> rank);

// Replaces or adds the attribute.
void set_int_attribute(onnx::NodeProto& node, const std::string& name, int64_t value);
void set_ints_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);
void erase_attribute(onnx::NodeProto& node, const std::string& name);

}  // namespace htp::optimizer
