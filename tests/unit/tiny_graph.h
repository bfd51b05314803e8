// Small ONNX models built node by node, for the optimizer's pass tests: typed inputs, initializers
// from ATen tensors, tagged or untagged nodes, and running a model with the ATen evaluator.
#pragma once

#include "htp/optimizer/evaluator.h"
#include "htp/optimizer/tensor_proto.h"
#include "htp/tagging/metadata.h"

#include <ATen/ATen.h>
#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

namespace htp::test {

class TinyGraph {
 public:
  explicit TinyGraph(int64_t opset = 17) {
    model_.set_ir_version(8);
    auto* import = model_.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
  }

  // A graph input; a negative dim becomes a symbolic one named "d<index>".
  TinyGraph& input(const std::string& name, const std::vector<int64_t>& dims,
                   int32_t elem_type = onnx::TensorProto::FLOAT) {
    auto* value = graph().add_input();
    value->set_name(name);
    auto* type = value->mutable_type()->mutable_tensor_type();
    type->set_elem_type(elem_type);
    auto* shape = type->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] >= 0) {
        shape->add_dim()->set_dim_value(dims[i]);
      } else {
        shape->add_dim()->set_dim_param("d" + std::to_string(i));
      }
    }
    return *this;
  }

  TinyGraph& output(const std::string& name, int32_t elem_type = onnx::TensorProto::FLOAT) {
    auto* value = graph().add_output();
    value->set_name(name);
    value->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
    return *this;
  }

  TinyGraph& initializer(const std::string& name, const at::Tensor& value) {
    auto* tensor = graph().add_initializer();
    optimizer::to_tensor_proto(value, *tensor);
    tensor->set_name(name);
    return *this;
  }

  // A node named "/<scope>/<op_type>" (scope dots as slashes); with a scope, it is tagged like an
  // export (htp.scope, htp.tag, htp.source).
  onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& scope = "") {
    onnx::NodeProto* node = graph().add_node();
    node->set_op_type(op_type);
    std::string path = scope;
    for (char& c : path) c = c == '.' ? '/' : c;
    node->set_name("/" + (path.empty() ? "" : path + "/") + op_type + "_" + std::to_string(graph().node_size()));
    for (const auto& input : inputs) node->add_input(input);
    for (const auto& output : outputs) node->add_output(output);
    if (!scope.empty()) {
      tagging::set_node_metadata(*node, "htp.scope", scope);
      tagging::set_node_metadata(*node, "htp.tag", "/Model/" + scope);
      tagging::set_node_metadata(*node, "htp.source", "direct");
    }
    return *node;
  }

  // A Constant node holding `value`.
  onnx::NodeProto& constant(const std::string& output, const at::Tensor& value, const std::string& scope = "") {
    onnx::NodeProto& node = this->node("Constant", {}, {output}, scope);
    auto* attribute = node.add_attribute();
    attribute->set_name("value");
    attribute->set_type(onnx::AttributeProto::TENSOR);
    optimizer::to_tensor_proto(value, *attribute->mutable_t());
    return node;
  }

  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

 private:
  onnx::ModelProto model_;
};

inline void int_attribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INT);
  attribute->set_i(value);
}

inline void float_attribute(onnx::NodeProto& node, const std::string& name, float value) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::FLOAT);
  attribute->set_f(value);
}

inline void ints_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INTS);
  for (int64_t value : values) attribute->add_ints(value);
}

inline std::vector<std::string> op_types(const onnx::ModelProto& model) {
  std::vector<std::string> types;
  for (const auto& node : model.graph().node()) types.push_back(node.op_type());
  return types;
}

inline const onnx::NodeProto* find_node(const onnx::ModelProto& model, const std::string& op_type) {
  for (const auto& node : model.graph().node()) {
    if (node.op_type() == op_type) return &node;
  }
  return nullptr;
}

inline std::map<std::string, at::Tensor> run(const onnx::ModelProto& model, const std::map<std::string, at::Tensor>& inputs) {
  return optimizer::run_graph(model, inputs);
}

}  // namespace htp::test
