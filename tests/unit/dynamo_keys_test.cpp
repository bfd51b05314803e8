// The dynamo exporter's module keys (pkg.torch.onnx.name_scopes / class_hierarchy): their Python repr
// format, reading them back as scopes, and writing them on our own exports.
#include "htp/onnxio/error.h"
#include "htp/tagging/dynamo_keys.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/module_tree.h"
#include "htp/tagging/tagger.h"
#include "scoped_nodes.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace {

namespace tagging = htp::tagging;
using htp::test::add_scoped_node;

// Every case of CPython's str repr: quotes chosen by content, escaped quotes and backslashes, control
// characters, printable and non-printable non-ASCII.
const std::vector<std::string> kItems{"", "layer1", "it's", "a\"b", "both'\"", "back\\slash", "tab\there",
                                      "caf\xc3\xa9", "\x01", "\xc2\xa0", "line\nbreak"};
// What python3 prints for repr() of kItems.
const std::string kPythonRepr =
    R"py(['', 'layer1', "it's", 'a"b', 'both\'"', 'back\\slash', 'tab\there', 'café', '\x01', '\xa0', 'line\nbreak'])py";

TEST(PythonListRepr, WritesWhatPythonWrites) {
  EXPECT_EQ(tagging::python_list_repr(kItems), kPythonRepr);
  EXPECT_EQ(tagging::python_list_repr({}), "[]");
  EXPECT_EQ(tagging::python_list_repr({"", "layer1", "conv2d_3"}), "['', 'layer1', 'conv2d_3']");
}

TEST(PythonListRepr, ParsesBackWhatItWrites) {
  EXPECT_EQ(tagging::parse_python_list(kPythonRepr), kItems);
  EXPECT_EQ(tagging::parse_python_list("[]"), std::vector<std::string>{});
}

TEST(PythonListRepr, ParsesOtherPythonListLiterals) {
  EXPECT_EQ(tagging::parse_python_list(" [ \"a\" ,'b', ] "), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(tagging::parse_python_list(R"(['\u00e9\x41\101', '\U0001F600', '\d'])"),
            (std::vector<std::string>{"\xc3\xa9" "AA", "\xf0\x9f\x98\x80", "\\d"}));
}

TEST(PythonListRepr, RefusesWhatIsNotAListOfStrings) {
  const auto message = [](const std::string& text) {
    try {
      tagging::parse_python_list(text);
    } catch (const htp::Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("layer1"), "not a list: it does not start with '['");
  EXPECT_EQ(message("['', 'layer1"), "unbalanced quotes: the string at byte 5 never ends");
  EXPECT_EQ(message("['', \"layer1']"), "unbalanced quotes: the string at byte 5 never ends");
  EXPECT_EQ(message("['a'"), "not a list: no closing ']'");
  EXPECT_EQ(message("['a' 'b']"), "expected ',' or ']' at byte 5");
  EXPECT_EQ(message("[1]"), "item at byte 1 is not a string");
  EXPECT_EQ(message("['a'] x"), "text after the list's closing ']' at byte 6");
  EXPECT_EQ(message("['\\x4']"), "a truncated \\x, \\u or \\U escape at byte 5");
}

// A model nested through a ModuleList: Net > encoder (Encoder) > layers (ModuleList) > 0 (Layer) >
// attn (Attention) > q (Linear).
tagging::ModuleTree nested_tree() {
  tagging::ModuleTree tree("Net");
  tree.add("encoder", "Encoder");
  tree.add("encoder.layers", "ModuleList");
  tree.add("encoder.layers.0", "Layer");
  tree.add("encoder.layers.0.attn", "Attention");
  tree.add("encoder.layers.0.attn.q", "Linear");
  tree.add("head", "Linear");
  return tree;
}

std::vector<std::string> key_list(const onnx::NodeProto& node, const char* key) {
  return tagging::parse_python_list(tagging::node_metadata(node, key).value());
}

TEST(DynamoKeys, OurExportsWriteThemOnANestedModuleList) {
  onnx::ModelProto model;
  add_scoped_node(model, "MatMul", "encoder.layers.0.attn.q");
  add_scoped_node(model, "Gemm", "head");
  add_scoped_node(model, "Add", "");
  tagging::tag_model(model, nested_tree());
  const onnx::NodeProto& matmul = model.graph().node(0);
  EXPECT_EQ(matmul.name(), "/encoder/layers.0/attn/q/MatMul");
  EXPECT_EQ(key_list(matmul, tagging::kNameScopesKey),
            (std::vector<std::string>{"", "encoder", "encoder.layers.0", "encoder.layers.0.attn", "encoder.layers.0.attn.q",
                                      "/encoder/layers.0/attn/q/MatMul"}));
  EXPECT_EQ(key_list(matmul, tagging::kClassHierarchyKey),
            (std::vector<std::string>{"Net", "Encoder", "Layer", "Attention", "Linear", "MatMul"}));
  EXPECT_EQ(key_list(model.graph().node(1), tagging::kNameScopesKey), (std::vector<std::string>{"", "head", "/head/Gemm"}));
  EXPECT_EQ(key_list(model.graph().node(2), tagging::kNameScopesKey), (std::vector<std::string>{"", "/Add"}));
  EXPECT_EQ(key_list(model.graph().node(2), tagging::kClassHierarchyKey), (std::vector<std::string>{"Net", "Add"}));
}

// Model Explorer's ONNX adapter splits `namespace` on "/" and opens one layer per part: one part per
// module that ran a forward, each a readable "name: Class".
TEST(DynamoKeys, NamespaceOpensOneLayerPerModule) {
  onnx::ModelProto model;
  add_scoped_node(model, "MatMul", "encoder.layers.0.attn.q");
  tagging::tag_model(model, nested_tree());
  EXPECT_EQ(tagging::node_metadata(model.graph().node(0), tagging::kNamespaceKey),
            "encoder: Encoder/layers.0: Layer/attn: Attention/q: Linear");
}

TEST(DynamoKeys, ReadingThemBackGivesTheScopesAndTree) {
  onnx::ModelProto model;
  add_scoped_node(model, "MatMul", "encoder.layers.0.attn.q");
  add_scoped_node(model, "Gemm", "head");
  add_scoped_node(model, "Reshape", "head");  // placed by the inheritance engine: the keys then name its scope
  tagging::set_node_metadata(*model.mutable_graph()->mutable_node(2), tagging::kSourceKey, "inherited");
  add_scoped_node(model, "Add", "");
  tagging::tag_model(model, nested_tree());
  for (auto& node : *model.mutable_graph()->mutable_node()) {
    tagging::erase_node_metadata(node, tagging::kTagKey);
    if (node.op_type() == "Reshape") continue;  // re-tagging our own file: the placement it made stays
    tagging::erase_node_metadata(node, tagging::kScopeKey);
    tagging::erase_node_metadata(node, tagging::kSourceKey);
  }
  const tagging::ModuleTree tree = tagging::scope_nodes_by_dynamo_keys(*model.mutable_graph());
  const auto scope = [&](int i) { return tagging::node_metadata(model.graph().node(i), tagging::kScopeKey); };
  const auto source = [&](int i) { return tagging::node_metadata(model.graph().node(i), tagging::kSourceKey); };
  EXPECT_EQ(scope(0), "encoder.layers.0.attn.q");
  EXPECT_EQ(source(0), "direct");
  EXPECT_EQ(scope(2), "head");
  EXPECT_EQ(source(2), "inherited");
  EXPECT_EQ(scope(3), "");
  EXPECT_EQ(source(3), std::nullopt);  // left to the inheritance engine
  EXPECT_EQ(tree.root().class_name, "Net");
  EXPECT_EQ(tree.at("encoder.layers").class_name, "ModuleList");  // on no stack: a container
  EXPECT_EQ(tree.at("encoder.layers.0.attn.q").class_name, "Linear");
  EXPECT_EQ(tree.tag("encoder.layers.0.attn.q"), nested_tree().tag("encoder.layers.0.attn.q"));
}

// The values as torch.onnx's dynamo exporter writes them: qualified classes, the FX node last.
TEST(DynamoKeys, ReadsTheDynamoExportersValues) {
  onnx::ModelProto model;
  onnx::NodeProto* conv = model.mutable_graph()->add_node();
  conv->set_name("node_conv2d_3");
  conv->set_op_type("Conv");
  tagging::set_node_metadata(*conv, "namespace",
                             ": torchvision.models.resnet.ResNet/layer1: torch.nn.modules.container.Sequential/"
                             "layer1.0: torchvision.models.resnet.Bottleneck/layer1.0.conv1: torch.nn.modules.conv.Conv2d/"
                             "conv2d_3: aten.conv2d.default");
  tagging::set_node_metadata(*conv, tagging::kNameScopesKey, "['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d_3']");
  tagging::set_node_metadata(*conv, tagging::kClassHierarchyKey,
                             "['torchvision.models.resnet.ResNet', 'torch.nn.modules.container.Sequential', "
                             "'torchvision.models.resnet.Bottleneck', 'torch.nn.modules.conv.Conv2d', 'aten.conv2d.default']");
  onnx::NodeProto* flatten = model.mutable_graph()->add_node();
  flatten->set_op_type("Flatten");
  tagging::set_node_metadata(*flatten, tagging::kNameScopesKey, "['flatten']");  // no module stack
  const tagging::ModuleTree tree = tagging::scope_nodes_by_dynamo_keys(*model.mutable_graph());
  EXPECT_EQ(tagging::node_metadata(*conv, tagging::kScopeKey), "layer1.0.conv1");
  EXPECT_EQ(tagging::node_metadata(*flatten, tagging::kScopeKey), "");
  EXPECT_EQ(tree.root().class_name, "ResNet");
  EXPECT_EQ(tree.tag("layer1.0.conv1"), "/ResNet/Sequential/Bottleneck.0/Conv2d");

  const std::string namespace_before = tagging::node_metadata(*conv, "namespace").value();
  tagging::tag_model(model, tree, tagging::TagStyle::kDynamo);
  EXPECT_EQ(conv->name(), "node_conv2d_3");
  EXPECT_EQ(tagging::node_metadata(*conv, "namespace"), namespace_before);
  EXPECT_EQ(tagging::node_metadata(*flatten, "namespace"), std::nullopt);
  EXPECT_EQ(tagging::node_metadata(*conv, tagging::kTagKey), "/ResNet/Sequential/Bottleneck.0/Conv2d");
}

TEST(DynamoKeys, MalformedValuesNameTheNode) {
  const auto message = [](const std::string& scopes, const std::string& classes) {
    onnx::GraphProto graph;
    onnx::NodeProto* node = graph.add_node();
    node->set_name("node_add_1");
    tagging::set_node_metadata(*node, tagging::kNameScopesKey, scopes);
    if (!classes.empty()) tagging::set_node_metadata(*node, tagging::kClassHierarchyKey, classes);
    try {
      tagging::scope_nodes_by_dynamo_keys(graph);
    } catch (const htp::Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("layer1", ""),
            "node 'node_add_1': pkg.torch.onnx.name_scopes is not a Python list of strings: not a list: it does not start with '['");
  EXPECT_EQ(message("['', 'layer1]", ""),
            "node 'node_add_1': pkg.torch.onnx.name_scopes is not a Python list of strings: unbalanced quotes: the string at "
            "byte 5 never ends");
  EXPECT_EQ(message("['', 'a', 'add_1']", "['Net', 'add']"),
            "node 'node_add_1': pkg.torch.onnx.class_hierarchy has 2 entries but pkg.torch.onnx.name_scopes has 3");
  EXPECT_EQ(message("['', 'a..b', 'add_1']", ""),
            "node 'node_add_1': pkg.torch.onnx.name_scopes names 'a..b', which is not a dotted module path");
}

}  // namespace
