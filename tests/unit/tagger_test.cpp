// Node/model metadata on the onnx 1.12 classes, and the tagger on a hand-built ModelProto.
#include "htp/tagging/auxiliary.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/module_tree.h"
#include "htp/tagging/reports.h"
#include "htp/tagging/tagger.h"
#include "scoped_nodes.h"

#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace tagging = htp::tagging;
using htp::test::add_scoped_node;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// The key/value entries a serialized NodeProto carries as field 9, decoded from the wire bytes
// without the helpers under test.
std::vector<std::pair<std::string, std::string>> wire_metadata(const std::string& node_bytes) {
  UnknownFieldSet fields;
  EXPECT_TRUE(fields.ParseFromString(node_bytes));
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.number() != 9) continue;
    EXPECT_EQ(field.type(), UnknownField::TYPE_LENGTH_DELIMITED);
    onnx::StringStringEntryProto entry;
    EXPECT_TRUE(entry.ParseFromString(field.length_delimited()));
    entries.emplace_back(entry.key(), entry.value());
  }
  return entries;
}

// ---- metadata

TEST(NodeMetadata, RoundTripThroughSerialization) {
  onnx::NodeProto node;
  node.set_op_type("Conv");
  node.add_input("x");
  node.add_output("y");
  tagging::set_node_metadata(node, "htp.scope", "layer1.0.conv1");
  tagging::set_node_metadata(node, "htp.tag", "/ResNet/Sequential[layer1]/Bottleneck.0/Conv2d[conv1]");

  std::string bytes;
  ASSERT_TRUE(node.SerializeToString(&bytes));
  onnx::NodeProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.op_type(), "Conv");
  EXPECT_EQ(tagging::node_metadata(parsed, "htp.scope"), "layer1.0.conv1");
  EXPECT_EQ(tagging::node_metadata(parsed, "htp.tag"), "/ResNet/Sequential[layer1]/Bottleneck.0/Conv2d[conv1]");
  EXPECT_EQ(tagging::node_metadata(parsed, "missing"), std::nullopt);
  EXPECT_EQ(tagging::node_metadata(parsed).size(), 2u);

  // On the wire they are NodeProto field 9 (metadata_props), one entry per key, in order.
  auto entries = wire_metadata(bytes);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], (std::pair<std::string, std::string>{"htp.scope", "layer1.0.conv1"}));
  EXPECT_EQ(entries[1].first, "htp.tag");
}

TEST(NodeMetadata, EmptyValueIsKept) {
  onnx::NodeProto node;
  tagging::set_node_metadata(node, "htp.scope", "");
  EXPECT_EQ(tagging::node_metadata(node, "htp.scope"), std::string());
}

TEST(NodeMetadata, ReplacingAKeyKeepsOneEntry) {
  onnx::NodeProto node;
  tagging::set_node_metadata(node, "htp.source", "fallback");
  tagging::set_node_metadata(node, "htp.scope", "a");
  tagging::set_node_metadata(node, "htp.source", "inherited");
  EXPECT_EQ(tagging::node_metadata(node, "htp.source"), "inherited");
  EXPECT_EQ(node.unknown_fields().field_count(), 2);

  std::string bytes;
  ASSERT_TRUE(node.SerializeToString(&bytes));
  auto entries = wire_metadata(bytes);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], (std::pair<std::string, std::string>{"htp.source", "inherited"}));
  EXPECT_EQ(entries[1], (std::pair<std::string, std::string>{"htp.scope", "a"}));
}

TEST(NodeMetadata, SurvivesInsideAModel) {
  onnx::ModelProto model;
  auto* node = model.mutable_graph()->add_node();
  node->set_op_type("Relu");
  tagging::set_node_metadata(*node, "htp.scope", "b");
  std::string bytes;
  ASSERT_TRUE(model.SerializeToString(&bytes));
  onnx::ModelProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(tagging::node_metadata(parsed.graph().node(0), "htp.scope"), "b");
}

TEST(ModelMetadata, SetGetAndReplace) {
  onnx::ModelProto model;
  EXPECT_EQ(tagging::model_metadata(model, "htp.version"), std::nullopt);
  tagging::set_model_metadata(model, "htp.version", "0.1");
  tagging::set_model_metadata(model, "other", "x");
  tagging::set_model_metadata(model, "htp.version", "0.2");
  EXPECT_EQ(tagging::model_metadata(model, "htp.version"), "0.2");
  EXPECT_EQ(tagging::model_metadata(model, "other"), "x");
  EXPECT_EQ(model.metadata_props_size(), 2);
}

// ---- tag_model

tagging::ModuleTree small_tree() {
  tagging::ModuleTree tree("ResNet");
  tree.add("conv1", "Conv2d");
  tree.add("layer1", "Sequential");
  tree.add("layer1.0", "Bottleneck");
  tree.add("layer1.0.conv1", "Conv2d");
  tree.add("layer1.0.conv2", "Conv2d");
  tree.add("layer1.0.relu", "ReLU");
  return tree;
}

// Nodes: two Convs in one module, a ReLU, a root Add (compute op of the root's forward), a root
// Reshape (auxiliary: fallback), and a Flatten whose source an engine already set.
onnx::ModelProto small_model() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  add_scoped_node(model, "Conv", "layer1.0.conv1");           // 0
  add_scoped_node(model, "Conv", "layer1.0.conv1");           // 1
  add_scoped_node(model, "Relu", "layer1.0.relu");            // 2
  add_scoped_node(model, "Add", "");                          // 3
  add_scoped_node(model, "Reshape", "");                      // 4
  onnx::NodeProto* flatten = add_scoped_node(model, "Flatten", "layer1");  // 5
  tagging::set_node_metadata(*flatten, tagging::kSourceKey, "inherited");
  add_scoped_node(model, "Conv", "conv1");                    // 6
  return model;
}

std::string meta(const onnx::ModelProto& model, int node, const std::string& key) {
  return tagging::node_metadata(model.graph().node(node), key).value_or("<missing>");
}

TEST(TagModel, EveryNodeGetsTagSourceAndNamespace) {
  onnx::ModelProto model = small_model();
  tagging::tag_model(model, small_tree());
  for (const auto& node : model.graph().node()) {
    auto all = tagging::node_metadata(node);
    EXPECT_EQ(all.count(tagging::kTagKey), 1u) << node.op_type();
    EXPECT_FALSE(all[tagging::kTagKey].empty()) << node.op_type();
    EXPECT_EQ(all.count(tagging::kSourceKey), 1u) << node.op_type();
    EXPECT_EQ(all.count(tagging::kNamespaceKey), 1u) << node.op_type();
    EXPECT_EQ(all.count(tagging::kScopeKey), 1u) << node.op_type();
  }
  EXPECT_EQ(meta(model, 0, tagging::kTagKey), "/ResNet/Sequential/Bottleneck.0/Conv2d[conv1]");
  EXPECT_EQ(meta(model, 0, tagging::kNamespaceKey), "layer1: Sequential/layer1.0: Bottleneck/conv1: Conv2d");
  EXPECT_EQ(meta(model, 2, tagging::kTagKey), "/ResNet/Sequential/Bottleneck.0/ReLU");
  EXPECT_EQ(meta(model, 3, tagging::kTagKey), "/ResNet");
  EXPECT_EQ(meta(model, 3, tagging::kNamespaceKey), "");
  EXPECT_EQ(meta(model, 4, tagging::kTagKey), "/ResNet");
  EXPECT_EQ(meta(model, 5, tagging::kTagKey), "/ResNet/Sequential");
  EXPECT_EQ(meta(model, 6, tagging::kTagKey), "/ResNet/Conv2d");
  // The scope is left as the converter wrote it.
  EXPECT_EQ(meta(model, 0, tagging::kScopeKey), "layer1.0.conv1");
  EXPECT_EQ(meta(model, 3, tagging::kScopeKey), "");
}

TEST(TagModel, Sources) {
  onnx::ModelProto model = small_model();
  tagging::tag_model(model, small_tree());
  EXPECT_EQ(meta(model, 0, tagging::kSourceKey), "direct");     // non-root scope
  EXPECT_EQ(meta(model, 2, tagging::kSourceKey), "direct");
  EXPECT_EQ(meta(model, 3, tagging::kSourceKey), "direct");     // root compute op
  EXPECT_EQ(meta(model, 4, tagging::kSourceKey), "fallback");   // root auxiliary op
  EXPECT_EQ(meta(model, 5, tagging::kSourceKey), "inherited");  // pre-set source is kept
  EXPECT_EQ(meta(model, 6, tagging::kSourceKey), "direct");
}

TEST(TagModel, NonRootAuxiliaryOpIsDirect) {
  onnx::ModelProto model;
  add_scoped_node(model, "Reshape", "layer1.0");
  tagging::tag_model(model, small_tree());
  EXPECT_EQ(meta(model, 0, tagging::kSourceKey), "direct");
}

TEST(TagModel, TorchStyleUniqueNames) {
  onnx::ModelProto model = small_model();
  tagging::tag_model(model, small_tree());
  const auto& nodes = model.graph().node();
  EXPECT_EQ(nodes[0].name(), "/layer1/layer1.0/conv1/Conv");
  EXPECT_EQ(nodes[1].name(), "/layer1/layer1.0/conv1/Conv_1");
  EXPECT_EQ(nodes[2].name(), "/layer1/layer1.0/relu/Relu");
  EXPECT_EQ(nodes[3].name(), "/Add");
  EXPECT_EQ(nodes[4].name(), "/Reshape");
  EXPECT_EQ(nodes[5].name(), "/layer1/Flatten");
  EXPECT_EQ(nodes[6].name(), "/conv1/Conv");
  std::set<std::string> names;
  for (const auto& node : nodes) EXPECT_TRUE(names.insert(node.name()).second) << node.name();
}

TEST(TagModel, ModelLevelMetadata) {
  onnx::ModelProto model = small_model();
  tagging::ModuleTree tree = small_tree();
  tagging::tag_model(model, tree);
  EXPECT_EQ(model.ir_version(), 10);
  EXPECT_EQ(model.ir_version(), tagging::kTaggedIrVersion);
  auto modules = tagging::model_metadata(model, tagging::kModulesKey);
  ASSERT_TRUE(modules.has_value());
  nlohmann::json json;
  ASSERT_NO_THROW(json = nlohmann::json::parse(*modules));
  EXPECT_EQ(json, tree.to_json());
  EXPECT_EQ(json.at("layer1.0.conv1").at("class"), "Conv2d");
  EXPECT_EQ(json.at("layer1.0.conv1").at("parent"), "layer1.0");
  auto version = tagging::model_metadata(model, tagging::kVersionKey);
  ASSERT_TRUE(version.has_value());
  EXPECT_FALSE(version->empty());
}

TEST(TagModel, TaggingTwiceIsStable) {
  onnx::ModelProto model = small_model();
  tagging::tag_model(model, small_tree());
  onnx::ModelProto again = model;
  tagging::tag_model(again, small_tree());
  EXPECT_EQ(again.metadata_props_size(), model.metadata_props_size());
  for (int i = 0; i < model.graph().node_size(); ++i) {
    EXPECT_EQ(tagging::node_metadata(again.graph().node(i)), tagging::node_metadata(model.graph().node(i)));
    EXPECT_EQ(again.graph().node(i).name(), model.graph().node(i).name());
  }
}

TEST(TagModel, TagsSurviveSerialization) {
  onnx::ModelProto model = small_model();
  tagging::tag_model(model, small_tree());
  std::string bytes;
  ASSERT_TRUE(model.SerializeToString(&bytes));
  onnx::ModelProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.ir_version(), 10);
  EXPECT_EQ(meta(parsed, 1, tagging::kTagKey), "/ResNet/Sequential/Bottleneck.0/Conv2d[conv1]");
  EXPECT_EQ(meta(parsed, 4, tagging::kSourceKey), "fallback");
}

TEST(TagModel, NodeWithoutScopeThrows) {
  onnx::ModelProto model;
  add_scoped_node(model, "Relu", "layer1.0.relu");
  model.mutable_graph()->add_node()->set_op_type("Mul");  // no htp.scope
  EXPECT_THROW(tagging::tag_model(model, small_tree()), std::logic_error);
}

TEST(TagModel, UnknownScopeThrows) {
  onnx::ModelProto model;
  add_scoped_node(model, "Relu", "layer9.relu");
  try {
    tagging::tag_model(model, small_tree());
    FAIL() << "expected a throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("layer9.relu"), std::string::npos) << e.what();
  }
}

TEST(AuxiliaryOps, DesignList) {
  for (const char* op : {"Constant", "ConstantOfShape", "Shape", "Size", "Cast", "CastLike", "Reshape", "Flatten",
                         "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Gather", "Expand", "Tile",
                         "Where", "Equal", "Less", "Greater", "Not", "And", "Or", "Range", "Identity"}) {
    EXPECT_TRUE(tagging::is_auxiliary_op(op)) << op;
  }
  for (const char* op : {"Conv", "Add", "Mul", "MatMul", "Gemm", "Relu", "Softmax", "BatchNormalization", ""}) {
    EXPECT_FALSE(tagging::is_auxiliary_op(op)) << op;
  }
}

// Shape arithmetic: Shape → Gather(initializer index) → Div(Constant) is auxiliary; Mul reads an
// int64 graph input too, so it only prepares inputs, and so does the Resize of it; Conv reads a
// parameter, Softmax reads Conv and Sub reads float data: real compute ops. The same in any order.
TEST(NodeRoles, ShapeArithmeticAndInputPreprocessingInAnyOrder) {
  onnx::GraphProto graph;
  graph.add_initializer()->set_name("index");
  onnx::ValueInfoProto* x = graph.add_input();
  x->set_name("x");
  x->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  onnx::ValueInfoProto* image = graph.add_input();
  image->set_name("image");
  image->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto add = [&](const char* op, std::vector<std::string> inputs, const char* output) {
    onnx::NodeProto* node = graph.add_node();
    node->set_op_type(op);
    for (auto& input : inputs) node->add_input(input);
    node->add_output(output);
  };
  add("Shape", {"x"}, "s");
  add("Gather", {"s", "index"}, "g");
  add("Constant", {}, "k");
  add("Div", {"g", "k"}, "d");
  add("Mul", {"d", "x"}, "m");
  add("Resize", {"m", "", "", "d"}, "y");
  graph.add_initializer()->set_name("w");
  add("Conv", {"y", "w"}, "c");
  add("Softmax", {"c"}, "p");
  add("Sub", {"image", "k"}, "normalized");
  using tagging::NodeRole;
  const std::vector<NodeRole> expected = {NodeRole::kAuxiliary, NodeRole::kAuxiliary, NodeRole::kAuxiliary,
                                          NodeRole::kAuxiliary, NodeRole::kInputPreprocessing,
                                          NodeRole::kInputPreprocessing, NodeRole::kCompute, NodeRole::kCompute,
                                          NodeRole::kCompute};
  EXPECT_EQ(tagging::node_roles(graph), expected);
  std::reverse(graph.mutable_node()->begin(), graph.mutable_node()->end());
  EXPECT_EQ(tagging::node_roles(graph), std::vector<NodeRole>(expected.rbegin(), expected.rend()));
}

// ---- coverage_report

TEST(CoverageReport, Counts) {
  onnx::ModelProto model = small_model();
  tagging::tag_model(model, small_tree());
  nlohmann::json report = tagging::coverage_report(model);
  EXPECT_EQ(report.at("nodes"), 7);
  EXPECT_EQ(report.at("tagged"), 7);
  EXPECT_EQ(report.at("empty_tags"), 0);
  EXPECT_DOUBLE_EQ(report.at("coverage").get<double>(), 1.0);
  EXPECT_EQ(report.at("by_source"), (nlohmann::json{{"direct", 5}, {"inherited", 1}, {"fallback", 1}}));
  EXPECT_EQ(report.at("auxiliary_by_op_type"), (nlohmann::json{{"Flatten", 1}, {"Reshape", 1}}));
  EXPECT_DOUBLE_EQ(report.at("inheritance_rate").get<double>(), 0.5);
  EXPECT_EQ(report.at("nodes_per_module"),
            (nlohmann::json{{"", 2}, {"conv1", 1}, {"layer1", 1}, {"layer1.0.conv1", 2}, {"layer1.0.relu", 1}}));
}

TEST(CoverageReport, InheritanceRateNullWithoutAuxiliaryPlacement) {
  onnx::ModelProto model;
  add_scoped_node(model, "Conv", "layer1.0.conv1");
  add_scoped_node(model, "Add", "");
  tagging::tag_model(model, small_tree());
  nlohmann::json report = tagging::coverage_report(model);
  EXPECT_EQ(report.at("nodes"), 2);
  EXPECT_EQ(report.at("empty_tags"), 0);
  EXPECT_EQ(report.at("by_source"), (nlohmann::json{{"direct", 2}, {"inherited", 0}, {"fallback", 0}}));
  EXPECT_TRUE(report.at("inheritance_rate").is_null());
  EXPECT_TRUE(report.at("auxiliary_by_op_type").empty());
}

TEST(CoverageReport, OnlyFallbackGivesRateZero) {
  onnx::ModelProto model;
  add_scoped_node(model, "Shape", "");
  tagging::tag_model(model, small_tree());
  nlohmann::json report = tagging::coverage_report(model);
  EXPECT_DOUBLE_EQ(report.at("inheritance_rate").get<double>(), 0.0);
  EXPECT_EQ(report.at("auxiliary_by_op_type"), (nlohmann::json{{"Shape", 1}}));
}

TEST(CoverageReport, UntaggedNodesCountAsEmpty) {
  onnx::ModelProto model;
  add_scoped_node(model, "Conv", "conv1");
  add_scoped_node(model, "Relu", "");
  nlohmann::json report = tagging::coverage_report(model);
  EXPECT_EQ(report.at("nodes"), 2);
  EXPECT_EQ(report.at("tagged"), 0);
  EXPECT_EQ(report.at("empty_tags"), 2);
  EXPECT_DOUBLE_EQ(report.at("coverage").get<double>(), 0.0);
}

TEST(SidecarReport, ModuleTreeWithChildrenAndNodeCountsAndEveryNodesTag) {
  onnx::ModelProto model = small_model();
  tagging::tag_model(model, small_tree());
  nlohmann::json sidecar = tagging::sidecar_report(model);
  EXPECT_EQ(sidecar.at("coverage"), tagging::coverage_report(model));
  const nlohmann::json& modules = sidecar.at("modules");
  ASSERT_EQ(modules.size(), 7u);
  EXPECT_EQ(modules[0], (nlohmann::json{{"scope", ""}, {"class", "ResNet"}, {"parent", nullptr},
                                         {"children", {"conv1", "layer1"}}, {"nodes", 2}}));
  EXPECT_EQ(modules[3], (nlohmann::json{{"scope", "layer1.0"}, {"class", "Bottleneck"}, {"parent", "layer1"},
                                         {"children", {"layer1.0.conv1", "layer1.0.conv2", "layer1.0.relu"}},
                                         {"nodes", 0}}));
  const nlohmann::json& nodes = sidecar.at("nodes");
  ASSERT_EQ(nodes.size(), 7u);
  EXPECT_EQ(nodes[5], (nlohmann::json{{"name", "/layer1/Flatten"}, {"op_type", "Flatten"}, {"scope", "layer1"},
                                       {"tag", "/ResNet/Sequential"}, {"source", "inherited"}}));
}

TEST(CoverageReport, EmptyModel) {
  onnx::ModelProto model;
  nlohmann::json report = tagging::coverage_report(model);
  EXPECT_EQ(report.at("nodes"), 0);
  EXPECT_EQ(report.at("empty_tags"), 0);
  EXPECT_TRUE(report.at("inheritance_rate").is_null());
}

}  // namespace
