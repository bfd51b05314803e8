// Building single ONNX nodes and checking the evaluator's results against hand-computed values.
#pragma once

#include "htp/optimizer/evaluator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <utility>
#include <vector>

namespace htp::test {

// A node with inputs "i0".."iN-1" (or "" where `omitted`) and outputs "o0".."oM-1".
class NodeBuilder {
 public:
  NodeBuilder(const std::string& op_type, int inputs, int outputs = 1) {
    node_.set_op_type(op_type);
    node_.set_name("/test/" + op_type);
    for (int k = 0; k < inputs; ++k) node_.add_input("i" + std::to_string(k));
    for (int k = 0; k < outputs; ++k) node_.add_output("o" + std::to_string(k));
  }
  NodeBuilder& attr(const std::string& name, int64_t value) {
    auto* a = add(name, onnx::AttributeProto::INT);
    a->set_i(value);
    return *this;
  }
  NodeBuilder& attr(const std::string& name, double value) {
    auto* a = add(name, onnx::AttributeProto::FLOAT);
    a->set_f(static_cast<float>(value));
    return *this;
  }
  NodeBuilder& attr(const std::string& name, const char* value) {
    auto* a = add(name, onnx::AttributeProto::STRING);
    a->set_s(value);
    return *this;
  }
  NodeBuilder& attr(const std::string& name, const std::vector<int64_t>& values) {
    auto* a = add(name, onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
    return *this;
  }
  NodeBuilder& attr(const std::string& name, const std::vector<float>& values) {
    auto* a = add(name, onnx::AttributeProto::FLOATS);
    for (float v : values) a->add_floats(v);
    return *this;
  }
  NodeBuilder& attr(const std::string& name, const std::vector<std::string>& values) {
    auto* a = add(name, onnx::AttributeProto::STRINGS);
    for (const auto& v : values) a->add_strings(v);
    return *this;
  }
  NodeBuilder& attr(const std::string& name, const onnx::TensorProto& value) {
    auto* a = add(name, onnx::AttributeProto::TENSOR);
    *a->mutable_t() = value;
    return *this;
  }
  NodeBuilder& omit_output(int index) {
    node_.set_output(index, "");
    return *this;
  }
  const onnx::NodeProto& node() const { return node_; }

 private:
  onnx::AttributeProto* add(const std::string& name, onnx::AttributeProto::AttributeType type) {
    auto* a = node_.add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }
  onnx::NodeProto node_;
};

inline std::vector<at::Tensor> evaluate(const NodeBuilder& node, const std::vector<at::Tensor>& inputs, int64_t opset = 17) {
  return optimizer::evaluate_node(node.node(), inputs, opset);
}

inline at::Tensor eval1(const NodeBuilder& node, const std::vector<at::Tensor>& inputs, int64_t opset = 17) {
  return evaluate(node, inputs, opset).at(0);
}

inline at::Tensor longs(std::vector<int64_t> values, std::vector<int64_t> shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  return at::tensor(at::ArrayRef<int64_t>(values), at::kLong).reshape(shape);
}

inline at::Tensor floats(std::vector<float> values, std::vector<int64_t> shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  return at::tensor(at::ArrayRef<float>(values), at::kFloat).reshape(shape);
}

// at::tensor has no bool overload in LibTorch 1.13: built from 0/1 integers.
inline at::Tensor bools(std::vector<int64_t> values, std::vector<int64_t> shape = {}) {
  return longs(std::move(values), std::move(shape)).to(at::kBool);
}

inline at::Tensor scalar(int64_t value) { return at::scalar_tensor(value, at::kLong); }

// Same dtype, shape and values (exactly for integers and bools, within `tolerance` for floats).
inline void expect_tensor(const at::Tensor& got, const at::Tensor& want, double tolerance = 1e-6) {
  ASSERT_TRUE(got.defined());
  EXPECT_EQ(got.scalar_type(), want.scalar_type());
  ASSERT_EQ(got.sizes(), want.sizes()) << "got " << got << "\nwant " << want;
  if (at::isFloatingType(want.scalar_type())) {
    EXPECT_TRUE(at::allclose(got.to(at::kDouble), want.to(at::kDouble), 0, tolerance, /*equal_nan=*/true))
        << "got " << got << "\nwant " << want;
  } else {
    EXPECT_TRUE(at::equal(got, want)) << "got " << got << "\nwant " << want;
  }
}

}  // namespace htp::test
