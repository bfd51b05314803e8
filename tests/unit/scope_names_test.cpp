// Scopes read back from torch.onnx.export node names (the names below are ones torch 1.13 writes
// for torchvision's ResNets, a BERT-like model with nn.ModuleList layers, nested Sequentials and a
// ModuleDict), the --modules class list, and the node metadata scope_nodes_by_name leaves.
#include "htp/onnxio/error.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/scope_names.h"
#include "htp/tagging/tagger.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace tagging = htp::tagging;
using tagging::ModuleClasses;
using tagging::scopes_from_node_names;

std::vector<std::string> scopes_of(const std::vector<std::string>& names,
                                   const std::optional<ModuleClasses>& classes = std::nullopt) {
  return scopes_from_node_names(names, classes).node_scopes;
}

TEST(ScopeNames, ResNetNamesGiveDottedModulePaths) {
  EXPECT_EQ(scopes_of({"/conv1/Conv", "/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/Add",
                       "/layer2/layer2.0/downsample/downsample.0/Conv", "/avgpool/GlobalAveragePool"}),
            (std::vector<std::string>{"conv1", "layer1.0.conv1", "layer1.0", "layer2.0.downsample.0", "avgpool"}));
}

TEST(ScopeNames, RootAndUnscopedNamesGiveTheRoot) {
  EXPECT_EQ(scopes_of({"/Flatten", "/Constant_3", "Identity_0", "", "layer1/Conv"}),
            (std::vector<std::string>(5, "")));
}

TEST(ScopeNames, NestedSequentialComponentsContinueTheirParentsPath) {
  // features.1.conv.0.0 is written /features/features.1/conv/conv.0/conv.0.0.
  EXPECT_EQ(scopes_of({"/features/features.1/conv/conv.0/conv.0.0/Conv", "/features/features.1/conv/conv.1/Conv"}),
            (std::vector<std::string>{"features.1.conv.0.0", "features.1.conv.1"}));
  // A Sequential root: children 0, 0.1 (all-numeric paths are written whole).
  EXPECT_EQ(scopes_of({"/0/0.1/Conv", "/1/conv/Conv"}), (std::vector<std::string>{"0.1", "1.conv"}));
}

TEST(ScopeNames, RepeatedCallSuffixNamesTheSiblingModule) {
  EXPECT_EQ(scopes_of({"/layer1/layer1.0/relu/Relu", "/layer1/layer1.0/relu_1/Relu", "/block/act/Relu",
                       "/block/act_2/Relu", "/layers.0/norm/Div", "/layers.0_1/norm/Div"}),
            (std::vector<std::string>{"layer1.0.relu", "layer1.0.relu", "block.act", "block.act", "layers.0.norm",
                                      "layers.0.norm"}));
}

TEST(ScopeNames, SuffixWithoutSiblingIsAModuleOfThatName) {
  // `relu` appears under another parent only, so `block.relu_1` is a module named relu_1.
  EXPECT_EQ(scopes_of({"/relu/Relu", "/block/relu_1/Sigmoid", "/block/conv_1x1/Conv"}),
            (std::vector<std::string>{"relu", "block.relu_1", "block.conv_1x1"}));
}

TEST(ScopeNames, TreeHasEveryPassedModuleAndContainersForUnseenAncestors) {
  auto result = scopes_from_node_names({"/embed/Gather", "/layers.0/attention/query/MatMul",
                                        "/layers.1/attention/query/MatMul", "/layer1/layer1.0/conv1/Conv"});
  const tagging::ModuleTree& tree = result.tree;
  EXPECT_EQ(tree.scopes(), (std::vector<std::string>{"", "embed", "layers", "layers.0", "layers.0.attention",
                                                      "layers.0.attention.query", "layers.1", "layers.1.attention",
                                                      "layers.1.attention.query", "layer1", "layer1.0",
                                                      "layer1.0.conv1"}));
  // `layers` never appears as a component: it ran no forward, so it is a folded container.
  EXPECT_EQ(tree.at("layers").class_name, "ModuleList");
  EXPECT_EQ(tree.at("layer1").class_name, "Module");
  EXPECT_EQ(tree.root().class_name, "Module");
  EXPECT_EQ(tree.tag("layers.1.attention.query"), "/Module/Module.1/Module/Module");
  // Containers hold no nodes and share their owner's tag; every other module has its own.
  std::set<std::string> tags;
  for (const auto& scope : tree.scopes()) {
    if (!tree.is_container(scope)) EXPECT_TRUE(tags.insert(tree.tag(scope)).second) << tree.tag(scope);
  }
  EXPECT_EQ(tags.size(), tree.scopes().size() - 1);
}

ModuleClasses resnet_classes() {
  return {{"", "ResNet"},        {"conv1", "Conv2d"},          {"bn1", "BatchNorm2d"},
          {"relu", "ReLU"},      {"layer1", "Sequential"},     {"layer1.0", "BasicBlock"},
          {"layer1.0.relu", "ReLU"}, {"heads", "ModuleDict"},  {"heads.cls", "Linear"}};
}

TEST(ScopeNames, ClassListResolvesSuffixesAndModuleDictEntries) {
  // relu_1 without a `relu` component: the list has relu but not relu_1. `cls` is heads.cls.
  EXPECT_EQ(scopes_of({"/layer1/layer1.0/relu_1/Relu", "/cls/Gemm", "/relu/Relu"}, resnet_classes()),
            (std::vector<std::string>{"layer1.0.relu", "heads.cls", "relu"}));
  ModuleClasses with_relu_1 = {{"", "M"}, {"block", "Block"}, {"block.relu", "ReLU"}, {"block.relu_1", "Sigmoid"}};
  EXPECT_EQ(scopes_of({"/block/relu/Relu", "/block/relu_1/Sigmoid"}, with_relu_1),
            (std::vector<std::string>{"block.relu", "block.relu_1"}));
}

TEST(ScopeNames, ClassListGivesClassesAndModulesWithoutNodes) {
  auto result = scopes_from_node_names({"/conv1/Conv", "/cls/Gemm"}, resnet_classes());
  const tagging::ModuleTree& tree = result.tree;
  EXPECT_EQ(tree.scopes().size(), resnet_classes().size());
  EXPECT_EQ(tree.root().class_name, "ResNet");
  EXPECT_EQ(tree.at("bn1").class_name, "BatchNorm2d");  // folded into conv1 by torch: no node
  EXPECT_EQ(tree.tag("layer1.0.relu"), "/ResNet/Sequential/BasicBlock.0/ReLU");
  EXPECT_EQ(tree.tag("heads.cls"), "/ResNet/Linear[cls]");
}

TEST(ScopeNames, ScopeMissingFromClassListIsAnErrorNamingTheNode) {
  try {
    scopes_of({"/conv1/Conv", "/layer9/conv/Conv"}, resnet_classes());
    FAIL() << "expected htp::Error";
  } catch (const htp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'/layer9/conv/Conv'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'layer9'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(scopes_of({"/layer1/layer1.0/act_1/Relu"}, resnet_classes()), htp::Error);
}

TEST(ScopeNamesClassList, ParsesInFileOrder) {
  auto classes = tagging::parse_module_classes(R"({"": "Net", "layers": "ModuleList", "layers.0": "Layer", "fc": "Linear"})");
  EXPECT_EQ(classes, (ModuleClasses{{"", "Net"}, {"layers", "ModuleList"}, {"layers.0", "Layer"}, {"fc", "Linear"}}));
}

TEST(ScopeNamesClassList, RejectsWhatIsNotAModuleList) {
  for (const char* text : {"not json", "[\"\", \"Net\"]", R"({"": 3})", R"({"": ""})", R"({"fc": "Linear"})",
                           R"({"": "Net", "a.b": "Linear"})", R"({"": "Net", "a..b": "Linear"})"}) {
    EXPECT_THROW(tagging::parse_module_classes(text), htp::Error) << text;
  }
}

onnx::NodeProto* add_node(onnx::GraphProto& graph, const std::string& name, const std::string& op_type) {
  onnx::NodeProto* node = graph.add_node();
  node->set_name(name);
  node->set_op_type(op_type);
  return node;
}

TEST(ScopeNamesGraph, SetsScopeAndDirectSourceAndClearsStaleSources) {
  onnx::GraphProto graph;
  add_node(graph, "/layer1/layer1.0/conv1/Conv", "Conv");
  // A root node of an already-tagged file: its old source must not survive re-tagging.
  tagging::set_node_metadata(*add_node(graph, "Identity_0", "Identity"), tagging::kSourceKey, "inherited");
  auto tree = tagging::scope_nodes_by_name(graph);
  EXPECT_TRUE(tree.contains("layer1.0.conv1"));
  EXPECT_EQ(tagging::node_metadata(graph.node(0), tagging::kScopeKey), "layer1.0.conv1");
  EXPECT_EQ(tagging::node_metadata(graph.node(0), tagging::kSourceKey), "direct");
  EXPECT_EQ(tagging::node_metadata(graph.node(1), tagging::kScopeKey), "");
  EXPECT_EQ(tagging::node_metadata(graph.node(1), tagging::kSourceKey), std::nullopt);
  EXPECT_EQ(graph.node(0).name(), "/layer1/layer1.0/conv1/Conv");
}

TEST(ScopeNamesGraph, ANodeAnEarlierTaggingPlacedStaysInherited) {
  onnx::GraphProto graph;
  add_node(graph, "/encoder/layer.0/attention/MatMul", "MatMul");
  // htp-export names the mask's Sub after the scope the engine placed it in.
  onnx::NodeProto* placed = add_node(graph, "/encoder/Sub", "Sub");
  tagging::set_node_metadata(*placed, tagging::kScopeKey, "encoder");
  tagging::set_node_metadata(*placed, tagging::kSourceKey, "inherited");
  // Named after a scope it was never placed in: the name wins, as a traced scope.
  onnx::NodeProto* moved = add_node(graph, "/encoder/layer.0/Cast", "Cast");
  tagging::set_node_metadata(*moved, tagging::kScopeKey, "encoder");
  tagging::set_node_metadata(*moved, tagging::kSourceKey, "inherited");
  tagging::scope_nodes_by_name(graph);
  EXPECT_EQ(tagging::node_metadata(graph.node(0), tagging::kSourceKey), "direct");
  EXPECT_EQ(tagging::node_metadata(graph.node(1), tagging::kScopeKey), "encoder");
  EXPECT_EQ(tagging::node_metadata(graph.node(1), tagging::kSourceKey), "inherited");
  EXPECT_EQ(tagging::node_metadata(graph.node(2), tagging::kScopeKey), "encoder.layer.0");
  EXPECT_EQ(tagging::node_metadata(graph.node(2), tagging::kSourceKey), "direct");
}

}  // namespace
