// Extraction by module on a hand-built tagged model: which nodes, boundary inputs and outputs and
// initializers a subtree gets, their types, what the part keeps of the model, and the errors.
#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/tagging/extract.h"
#include "htp/tagging/metadata.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace {

namespace tagging = htp::tagging;
using Names = std::vector<std::string>;

void add_node(onnx::GraphProto& graph, const std::string& name, const std::string& op_type, const Names& inputs,
              const std::string& output, const std::string& scope) {
  onnx::NodeProto& node = *graph.add_node();
  node.set_name(name);
  node.set_op_type(op_type);
  for (const auto& input : inputs) node.add_input(input);
  node.add_output(output);
  tagging::set_node_metadata(node, "htp.scope", scope);
  tagging::set_node_metadata(node, "htp.tag", "tag of " + scope);
}

void add_float_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values, const std::string& name,
                     const std::vector<int64_t>& dims) {
  onnx::ValueInfoProto& value = *values.Add();
  value.set_name(name);
  auto* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t dim : dims) tensor->mutable_shape()->add_dim()->set_dim_value(dim);
}

onnx::TensorProto float_tensor(const std::string& name, const std::vector<int64_t>& dims) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  int64_t size = 1;
  for (int64_t dim : dims) {
    tensor.add_dims(dim);
    size *= dim;
  }
  for (int64_t i = 0; i < size; ++i) tensor.add_float_data(0.5f * static_cast<float>(i));
  return tensor;
}

// x [2,4] ─► enc.0 (Add with a root Constant, fc MatMul, Relu, Mul) ─► head (Add, Add, Add) ─► y
// enc.00, a sibling that shares enc.0's name prefix, negates x for head; Relu's r is a graph
// output that enc.0 also reads, and enc.0's a is read both inside enc.0 and by head.
onnx::ModelProto tagged_model() {
  onnx::ModelProto model;
  model.set_ir_version(10);
  model.set_producer_name("htp-export");
  model.add_opset_import()->set_version(17);
  tagging::set_model_metadata(model, "htp.modules", R"({"": {"class": "Net", "parent": null}, "drop": {"class": "Dropout", "parent": ""}})");
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("net");
  add_float_value(*graph.mutable_input(), "x", {2, 4});
  *graph.add_initializer() = float_tensor("enc.0.fc.weight", {4, 4});
  *graph.add_initializer() = float_tensor("head.bias", {4});

  add_node(graph, "/Constant", "Constant", {}, "c", "");
  auto* value = graph.mutable_node(0)->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  *value->mutable_t() = float_tensor("", {4});
  add_node(graph, "/enc.0/Add", "Add", {"x", "c"}, "a", "enc.0");
  add_node(graph, "/enc.0/fc/MatMul", "MatMul", {"a", "enc.0.fc.weight"}, "b", "enc.0.fc");
  add_node(graph, "/enc.0/Relu", "Relu", {"b"}, "r", "enc.0");
  add_node(graph, "/enc.0/Mul", "Mul", {"r", "a"}, "m", "enc.0");
  add_node(graph, "/enc.00/Neg", "Neg", {"x"}, "n", "enc.00");
  add_node(graph, "/head/Add", "Add", {"m", "a"}, "h", "head");
  add_node(graph, "/head/Add_1", "Add", {"h", "n"}, "s", "head");
  add_node(graph, "/head/Add_2", "Add", {"s", "head.bias"}, "y", "head");
  add_float_value(*graph.mutable_output(), "y", {2, 4});
  add_float_value(*graph.mutable_output(), "r", {2, 4});
  return model;
}

Names node_names(const onnx::GraphProto& graph) {
  Names names;
  for (const auto& node : graph.node()) names.push_back(node.name());
  return names;
}

Names value_names(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values) {
  Names names;
  for (const auto& value : values) names.push_back(value.name());
  return names;
}

Names initializer_names(const onnx::GraphProto& graph) {
  Names names;
  for (const auto& tensor : graph.initializer()) names.push_back(tensor.name());
  return names;
}

std::string extract_error(const onnx::ModelProto& model, const std::string& scope) {
  try {
    tagging::extract_module(model, scope);
  } catch (const htp::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error extracting '" << scope << "'";
  return "";
}

TEST(Extract, SubtreeNodesInOrderWithTheirBoundary) {
  onnx::ModelProto part = tagging::extract_module(tagged_model(), "enc.0");
  const onnx::GraphProto& graph = part.graph();
  EXPECT_EQ(node_names(graph), (Names{"/enc.0/Add", "/enc.0/fc/MatMul", "/enc.0/Relu", "/enc.0/Mul"}));
  // The root Constant stays outside: its output is an input like x, the original input, first.
  EXPECT_EQ(value_names(graph.input()), (Names{"x", "c"}));
  // r is an original output (first), a is read by head as well as inside, m only by head.
  EXPECT_EQ(value_names(graph.output()), (Names{"r", "a", "m"}));
  EXPECT_EQ(initializer_names(graph), (Names{"enc.0.fc.weight"}));
  EXPECT_EQ(graph.initializer(0).float_data_size(), 16);
}

TEST(Extract, PrefixIsNotDescent) {
  onnx::ModelProto part = tagging::extract_module(tagged_model(), "enc");
  EXPECT_EQ(node_names(part.graph()),
            (Names{"/enc.0/Add", "/enc.0/fc/MatMul", "/enc.0/Relu", "/enc.0/Mul", "/enc.00/Neg"}));
  EXPECT_EQ(value_names(part.graph().output()), (Names{"r", "a", "m", "n"}));
}

TEST(Extract, InputsReadBeforeMadeOutsideFollowFirstUse) {
  onnx::ModelProto part = tagging::extract_module(tagged_model(), "head");
  EXPECT_EQ(node_names(part.graph()), (Names{"/head/Add", "/head/Add_1", "/head/Add_2"}));
  EXPECT_EQ(value_names(part.graph().input()), (Names{"m", "a", "n"}));
  EXPECT_EQ(value_names(part.graph().output()), (Names{"y"}));
  EXPECT_EQ(initializer_names(part.graph()), (Names{"head.bias"}));
}

TEST(Extract, RootIsTheWholeModelWithItsInterface) {
  onnx::ModelProto part = tagging::extract_module(tagged_model(), "");
  EXPECT_EQ(part.graph().node_size(), 9);
  EXPECT_EQ(value_names(part.graph().input()), (Names{"x"}));
  EXPECT_EQ(value_names(part.graph().output()), (Names{"y", "r"}));
  EXPECT_EQ(initializer_names(part.graph()), (Names{"enc.0.fc.weight", "head.bias"}));
}

TEST(Extract, BoundaryTypesComeFromShapeInference) {
  onnx::ModelProto part = tagging::extract_module(tagged_model(), "enc.0");
  for (const auto* values : {&part.graph().input(), &part.graph().output()}) {
    for (const auto& value : *values) {
      const auto& tensor = value.type().tensor_type();
      EXPECT_EQ(tensor.elem_type(), onnx::TensorProto::FLOAT) << value.name();
      std::vector<int64_t> dims;
      for (const auto& dim : tensor.shape().dim()) dims.push_back(dim.dim_value());
      EXPECT_EQ(dims, (value.name() == "c" ? std::vector<int64_t>{4} : std::vector<int64_t>{2, 4})) << value.name();
    }
  }
}

TEST(Extract, KeepsNodeMetadataAndModelFieldsAndPassesTheChecker) {
  onnx::ModelProto model = tagged_model();
  onnx::ModelProto part = tagging::extract_module(model, "enc.0");
  EXPECT_EQ(tagging::node_metadata(part.graph().node(1)), tagging::node_metadata(model.graph().node(2)));
  EXPECT_EQ(tagging::node_metadata(part.graph().node(1), "htp.scope"), "enc.0.fc");
  EXPECT_EQ(part.ir_version(), 10);
  EXPECT_EQ(part.producer_name(), "htp-export");
  ASSERT_EQ(part.opset_import_size(), 1);
  EXPECT_EQ(part.opset_import(0).version(), 17);
  EXPECT_EQ(tagging::model_metadata(part, "htp.modules"), tagging::model_metadata(model, "htp.modules"));
  EXPECT_NO_THROW(htp::onnxio::check_onnx_model(part));
}

// A head split as a transformer does it: the target shape is only known at run time, so onnx 1.12
// infers no shape for the Reshape's output, nor for anything computed from it; the part still
// gets the rank, which the checker requires of a graph input.
TEST(Extract, ReshapeToARunTimeShapeKeepsItsRank) {
  onnx::ModelProto model = tagged_model();
  onnx::GraphProto& graph = *model.mutable_graph();
  onnx::ValueInfoProto& target = *graph.add_input();
  target.set_name("target");
  target.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  target.mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(3);
  add_node(graph, "/split/Reshape", "Reshape", {"y", "target"}, "heads", "split");
  add_node(graph, "/split/Relu", "Relu", {"heads"}, "relu", "split");
  add_node(graph, "/out/Neg", "Neg", {"relu"}, "out", "out");
  graph.add_output()->set_name("out");

  onnx::ModelProto part = tagging::extract_module(model, "out");
  ASSERT_EQ(value_names(part.graph().input()), (Names{"relu"}));
  EXPECT_EQ(part.graph().input(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(part.graph().input(0).type().tensor_type().shape().dim_size(), 3);
  EXPECT_NO_THROW(htp::onnxio::check_onnx_model(part));
}

TEST(Extract, UnknownScopeSuggestsTheClosestAndListsTopLevelModules) {
  std::string message = extract_error(tagged_model(), "enc.1");
  EXPECT_NE(message.find("no module 'enc.1'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'enc.0'?"), std::string::npos) << message;
  EXPECT_NE(message.find("top-level modules: enc, head"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);

  message = extract_error(tagged_model(), "decoder");
  EXPECT_EQ(message.find("did you mean"), std::string::npos) << message;
  EXPECT_NE(message.find("top-level modules: enc, head"), std::string::npos) << message;
}

TEST(Extract, ModuleWithoutNodesIsNamedAsSuch) {
  std::string message = extract_error(tagged_model(), "drop");
  EXPECT_NE(message.find("module 'drop' (Dropout) has no nodes"), std::string::npos) << message;
}

TEST(Extract, UntaggedModelsAreRefused) {
  onnx::ModelProto model = tagged_model();
  model.mutable_graph()->mutable_node(3)->mutable_unknown_fields()->Clear();
  EXPECT_NE(extract_error(model, "enc.0").find("node '/enc.0/Relu' (Relu) has no htp.scope tag"), std::string::npos);
  for (auto& node : *model.mutable_graph()->mutable_node()) node.mutable_unknown_fields()->Clear();
  EXPECT_NE(extract_error(model, "enc.0").find("the model has no htp.scope tags"), std::string::npos);
}

TEST(Extract, BoundaryTensorWithoutATypeIsAnError) {
  onnx::ModelProto model = tagged_model();
  onnx::NodeProto& custom = *model.mutable_graph()->mutable_node(5);  // enc.00's Neg, read by head
  custom.set_op_type("Mystery");
  custom.set_domain("com.example");
  auto* opset = model.add_opset_import();
  opset->set_domain("com.example");
  opset->set_version(1);
  std::string message = extract_error(model, "head");
  EXPECT_NE(message.find("cannot tell the element type and rank of tensor 'n'"), std::string::npos) << message;
}

}  // namespace
