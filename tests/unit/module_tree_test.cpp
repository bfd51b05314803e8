// ModuleTree: the htp.tag / namespace / node-name rules of DESIGN.md on small synthetic trees,
// uniqueness on the zoo models' real trees, scope algebra and the htp.modules JSON.
#include "htp/tagging/module_tree.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using htp::tagging::ModuleTree;

// Builds a tree from (scope, class) rows in named_modules() order; the root row comes first.
ModuleTree make_tree(const std::vector<std::pair<std::string, std::string>>& rows) {
  ModuleTree tree(rows.at(0).second);
  for (size_t i = 1; i < rows.size(); ++i) tree.add(rows[i].first, rows[i].second);
  return tree;
}

// A ResNet-like tree: unique-class children of the root, two Sequential stages of Bottlenecks,
// each with two Conv2d siblings and one BatchNorm2d.
ModuleTree resnet_like() {
  return make_tree({{"", "ResNet"},
                    {"conv1", "Conv2d"},
                    {"bn1", "BatchNorm2d"},
                    {"relu", "ReLU"},
                    {"layer1", "Sequential"},
                    {"layer1.0", "Bottleneck"},
                    {"layer1.0.conv1", "Conv2d"},
                    {"layer1.0.bn1", "BatchNorm2d"},
                    {"layer1.0.conv2", "Conv2d"},
                    {"layer1.1", "Bottleneck"},
                    {"layer1.1.conv1", "Conv2d"},
                    {"layer1.1.bn1", "BatchNorm2d"},
                    {"layer1.1.conv2", "Conv2d"},
                    {"layer2", "Sequential"},
                    {"layer2.0", "Bottleneck"},
                    {"layer2.0.conv1", "Conv2d"},
                    {"layer2.0.bn1", "BatchNorm2d"},
                    {"layer2.0.conv2", "Conv2d"},
                    {"layer2.0.downsample", "Sequential"},
                    {"layer2.0.downsample.0", "Conv2d"},
                    {"layer2.0.downsample.1", "BatchNorm2d"},
                    {"fc", "Linear"}});
}

// A BERT-like tree: encoder.layer is a ModuleList, BertSelfAttention has three Linear siblings.
ModuleTree bert_like() {
  std::vector<std::pair<std::string, std::string>> rows = {{"", "BertModel"},
                                                           {"embeddings", "BertEmbeddings"},
                                                           {"embeddings.word_embeddings", "Embedding"},
                                                           {"embeddings.position_embeddings", "Embedding"},
                                                           {"embeddings.LayerNorm", "LayerNorm"},
                                                           {"encoder", "BertEncoder"},
                                                           {"encoder.layer", "ModuleList"}};
  for (const std::string i : {"0", "1"}) {
    const std::string layer = "encoder.layer." + i;
    rows.insert(rows.end(), {{layer, "BertLayer"},
                             {layer + ".attention", "BertAttention"},
                             {layer + ".attention.self", "BertSelfAttention"},
                             {layer + ".attention.self.query", "Linear"},
                             {layer + ".attention.self.key", "Linear"},
                             {layer + ".attention.self.value", "Linear"},
                             {layer + ".attention.output", "BertSelfOutput"},
                             {layer + ".attention.output.dense", "Linear"},
                             {layer + ".attention.output.LayerNorm", "LayerNorm"}});
  }
  rows.insert(rows.end(), {{"pooler", "BertPooler"}, {"pooler.dense", "Linear"}, {"pooler.activation", "Tanh"}});
  return make_tree(rows);
}

// ---- ResNet-like tree

TEST(ModuleTreeResnet, RootHasClassTagAndEmptyPrefixAndNamespace) {
  ModuleTree tree = resnet_like();
  EXPECT_EQ(tree.tag(""), "/ResNet");
  EXPECT_EQ(tree.name_prefix(""), "");
  EXPECT_EQ(tree.namespace_of(""), "");
  EXPECT_EQ(tree.root().class_name, "ResNet");
}

TEST(ModuleTreeResnet, UniqueClassChildHasNoBrackets) {
  ModuleTree tree = resnet_like();
  EXPECT_EQ(tree.tag("conv1"), "/ResNet/Conv2d");
  EXPECT_EQ(tree.tag("bn1"), "/ResNet/BatchNorm2d");
  EXPECT_EQ(tree.tag("fc"), "/ResNet/Linear");
  EXPECT_EQ(tree.name_prefix("conv1"), "/conv1");
  EXPECT_EQ(tree.namespace_of("conv1"), "conv1: Conv2d");
}

TEST(ModuleTreeResnet, SiblingsOfOneClassGetTheirNameInBrackets) {
  ModuleTree tree = resnet_like();
  EXPECT_EQ(tree.tag("layer1"), "/ResNet/Sequential[layer1]");
  EXPECT_EQ(tree.tag("layer2"), "/ResNet/Sequential[layer2]");
  EXPECT_EQ(tree.tag("layer1.0.conv1"), "/ResNet/Sequential[layer1]/Bottleneck.0/Conv2d[conv1]");
  EXPECT_EQ(tree.tag("layer1.0.conv2"), "/ResNet/Sequential[layer1]/Bottleneck.0/Conv2d[conv2]");
  // bn1 is the only BatchNorm2d of its Bottleneck.
  EXPECT_EQ(tree.tag("layer1.0.bn1"), "/ResNet/Sequential[layer1]/Bottleneck.0/BatchNorm2d");
}

TEST(ModuleTreeResnet, NumericChildrenAreIndexed) {
  ModuleTree tree = resnet_like();
  EXPECT_EQ(tree.tag("layer1.0"), "/ResNet/Sequential[layer1]/Bottleneck.0");
  EXPECT_EQ(tree.tag("layer1.1"), "/ResNet/Sequential[layer1]/Bottleneck.1");
  EXPECT_EQ(tree.tag("layer2.0"), "/ResNet/Sequential[layer2]/Bottleneck.0");
  // Indexed children of one Sequential with different classes.
  EXPECT_EQ(tree.tag("layer2.0.downsample.0"), "/ResNet/Sequential[layer2]/Bottleneck.0/Sequential/Conv2d.0");
  EXPECT_EQ(tree.tag("layer2.0.downsample.1"), "/ResNet/Sequential[layer2]/Bottleneck.0/Sequential/BatchNorm2d.1");
}

TEST(ModuleTreeResnet, NamePrefixIsTorchStyle) {
  ModuleTree tree = resnet_like();
  EXPECT_EQ(tree.name_prefix("layer1"), "/layer1");
  EXPECT_EQ(tree.name_prefix("layer1.0"), "/layer1/layer1.0");
  EXPECT_EQ(tree.name_prefix("layer1.0.conv1"), "/layer1/layer1.0/conv1");
  EXPECT_EQ(tree.name_prefix("layer2.0.downsample.0"), "/layer2/layer2.0/downsample/downsample.0");
}

TEST(ModuleTreeResnet, NamespaceIsNameClassPairs) {
  ModuleTree tree = resnet_like();
  EXPECT_EQ(tree.namespace_of("layer1"), "layer1: Sequential");
  EXPECT_EQ(tree.namespace_of("layer1.0.conv1"), "layer1: Sequential/layer1.0: Bottleneck/conv1: Conv2d");
  EXPECT_EQ(tree.namespace_of("layer2.0.downsample.1"),
            "layer2: Sequential/layer2.0: Bottleneck/downsample: Sequential/downsample.1: BatchNorm2d");
}

TEST(ModuleTreeResnet, InfoRecordsParentLocalNameAndChildren) {
  ModuleTree tree = resnet_like();
  const auto& info = tree.at("layer1.0.conv1");
  EXPECT_EQ(info.scope, "layer1.0.conv1");
  EXPECT_EQ(info.class_name, "Conv2d");
  EXPECT_EQ(info.parent, "layer1.0");
  EXPECT_EQ(info.local_name, "conv1");
  EXPECT_EQ(tree.at("layer1").parent, "");
  EXPECT_EQ(tree.at("layer1.0").children, (std::vector<std::string>{"layer1.0.conv1", "layer1.0.bn1", "layer1.0.conv2"}));
  EXPECT_EQ(tree.root().children,
            (std::vector<std::string>{"conv1", "bn1", "relu", "layer1", "layer2", "fc"}));
  EXPECT_EQ(tree.scopes().front(), "");
  EXPECT_EQ(tree.scopes().size(), 22u);
  EXPECT_TRUE(tree.contains("layer2.0.downsample"));
  EXPECT_FALSE(tree.contains("layer3"));
  EXPECT_THROW(tree.at("layer3"), std::out_of_range);
  EXPECT_THROW(tree.tag("layer3"), std::out_of_range);
}

// ---- BERT-like tree (DESIGN.md's examples)

TEST(ModuleTreeBert, DesignExamples) {
  ModuleTree tree = bert_like();
  const std::string query = "encoder.layer.0.attention.self.query";
  EXPECT_EQ(tree.tag(query), "/BertModel/BertEncoder/BertLayer.0/BertAttention/BertSelfAttention/Linear[query]");
  EXPECT_EQ(tree.name_prefix(query), "/encoder/layer.0/attention/self/query");
  EXPECT_EQ(tree.namespace_of(query),
            "encoder: BertEncoder/layer.0: BertLayer/attention: BertAttention/self: BertSelfAttention/query: Linear");
}

TEST(ModuleTreeBert, ModuleListIsFoldedIntoItsChildren) {
  ModuleTree tree = bert_like();
  EXPECT_EQ(tree.tag("encoder.layer.1"), "/BertModel/BertEncoder/BertLayer.1");
  EXPECT_EQ(tree.name_prefix("encoder.layer.1"), "/encoder/layer.1");
  EXPECT_EQ(tree.namespace_of("encoder.layer.1"), "encoder: BertEncoder/layer.1: BertLayer");
  EXPECT_EQ(tree.tag("encoder.layer.1.attention.self.value"),
            "/BertModel/BertEncoder/BertLayer.1/BertAttention/BertSelfAttention/Linear[value]");
  EXPECT_EQ(tree.name_prefix("encoder.layer.1.attention.output.dense"), "/encoder/layer.1/attention/output/dense");
  // The list itself never runs a forward; a node the inheritance engine places at it shows it.
  EXPECT_EQ(tree.tag("encoder.layer"), "/BertModel/BertEncoder/ModuleList");
  EXPECT_EQ(tree.name_prefix("encoder.layer"), "/encoder/layer");
  EXPECT_EQ(tree.namespace_of("encoder.layer"), "encoder: BertEncoder/layer: ModuleList");
}

TEST(ModuleTreeBert, OtherBranches) {
  ModuleTree tree = bert_like();
  EXPECT_EQ(tree.tag("embeddings.word_embeddings"), "/BertModel/BertEmbeddings/Embedding[word_embeddings]");
  EXPECT_EQ(tree.tag("embeddings.LayerNorm"), "/BertModel/BertEmbeddings/LayerNorm");
  EXPECT_EQ(tree.tag("encoder.layer.0.attention.output.dense"),
            "/BertModel/BertEncoder/BertLayer.0/BertAttention/BertSelfOutput/Linear");
  EXPECT_EQ(tree.tag("pooler.dense"), "/BertModel/BertPooler/Linear");
  EXPECT_EQ(tree.namespace_of("pooler.activation"), "pooler: BertPooler/activation: Tanh");
}

TEST(ModuleTreeBert, TagsAndPrefixesUniqueAmongModulesThatRun) {
  ModuleTree tree = bert_like();
  std::set<std::string> tags, prefixes;
  for (const std::string& scope : tree.scopes()) {
    if (tree.at(scope).class_name == "ModuleList") continue;
    EXPECT_TRUE(tags.insert(tree.tag(scope)).second) << "duplicate tag " << tree.tag(scope) << " at " << scope;
    EXPECT_TRUE(prefixes.insert(tree.name_prefix(scope)).second) << "duplicate prefix at " << scope;
  }
}

// ---- two ModuleLists under one parent

TEST(ModuleTreeContainers, TwoModuleListsUnderOneParentStayUnique) {
  ModuleTree tree = make_tree({{"", "Net"},
                               {"blocks", "ModuleList"},
                               {"blocks.0", "Block"},
                               {"blocks.0.fc", "Linear"},
                               {"blocks.1", "Block"},
                               {"blocks.1.fc", "Linear"},
                               {"heads", "ModuleList"},
                               {"heads.0", "Block"},
                               {"heads.0.fc", "Linear"},
                               {"heads.1", "Block"},
                               {"heads.1.fc", "Linear"}});
  EXPECT_EQ(tree.tag("blocks.0"), "/Net/Block[blocks.0]");
  EXPECT_EQ(tree.tag("heads.0"), "/Net/Block[heads.0]");
  EXPECT_EQ(tree.tag("heads.1.fc"), "/Net/Block[heads.1]/Linear");
  EXPECT_EQ(tree.name_prefix("heads.1.fc"), "/heads.1/fc");
  EXPECT_EQ(tree.namespace_of("heads.1.fc"), "heads.1: Block/fc: Linear");
  std::set<std::string> tags, prefixes;
  for (const std::string& scope : tree.scopes()) {
    if (tree.at(scope).class_name == "ModuleList") continue;
    EXPECT_TRUE(tags.insert(tree.tag(scope)).second) << "duplicate tag " << tree.tag(scope);
    EXPECT_TRUE(prefixes.insert(tree.name_prefix(scope)).second) << "duplicate prefix " << tree.name_prefix(scope);
  }
}

TEST(ModuleTreeContainers, ModuleDictKeysAreNamed) {
  ModuleTree tree = make_tree({{"", "Net"}, {"heads", "ModuleDict"}, {"heads.cls", "Linear"}, {"heads.box", "Linear"}});
  EXPECT_EQ(tree.tag("heads.cls"), "/Net/Linear[cls]");
  EXPECT_EQ(tree.tag("heads.box"), "/Net/Linear[box]");
  EXPECT_EQ(tree.name_prefix("heads.cls"), "/heads.cls");
  EXPECT_EQ(tree.namespace_of("heads.box"), "heads.box: Linear");
}

TEST(ModuleTreeContainers, ListItemAndSameClassSiblingStayApart) {
  ModuleTree tree = make_tree({{"", "Net"}, {"layers", "ModuleList"}, {"layers.0", "Linear"}, {"layers.1", "Linear"}, {"out", "Linear"}});
  std::set<std::string> tags{tree.tag("layers.0"), tree.tag("layers.1"), tree.tag("out")};
  EXPECT_EQ(tags.size(), 3u);
  EXPECT_EQ(tree.tag("layers.1"), "/Net/Linear.1");
}

// Containers inside containers (or a ModuleList inside a Sequential) get the short `Cls.N` form
// that a sibling already has: today a.0.1 and a.1 are both /Net/Linear.1, and seq.0 and seq.1.0
// both /Net/Sequential/Linear.0. Enable once tag_segment names such children by their path.
TEST(ModuleTreeContainers, NestedContainersStayUnique) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> trees = {
      {{"", "Net"}, {"a", "ModuleList"}, {"a.0", "ModuleList"}, {"a.0.0", "Linear"}, {"a.0.1", "Linear"}, {"a.1", "Linear"}},
      {{"", "Net"}, {"seq", "Sequential"}, {"seq.0", "Linear"}, {"seq.1", "ModuleList"}, {"seq.1.0", "Linear"}}};
  for (const auto& rows : trees) {
    ModuleTree tree = make_tree(rows);
    std::set<std::string> tags;
    for (const std::string& scope : tree.scopes()) {
      const std::string& cls = tree.at(scope).class_name;
      if (cls == "ModuleList" || cls == "ModuleDict") continue;
      EXPECT_TRUE(tags.insert(tree.tag(scope)).second) << "duplicate tag " << tree.tag(scope) << " at " << scope;
    }
  }
}

// ---- property: every module of the zoo models' real trees

const nlohmann::json& reference() {
  static const nlohmann::json json = [] {
    std::ifstream file(std::string(HTP_SOURCE_DIR) + "/fixtures/torchvision/reference_structure.json");
    if (!file) throw std::runtime_error("missing fixtures/torchvision/reference_structure.json");
    return nlohmann::json::parse(file);
  }();
  return json;
}

TEST(ModuleTreeProperty, ZooTreesHaveUniqueTagsAndNamePrefixes) {
  ASSERT_FALSE(reference().empty());
  for (const auto& [model, entry] : reference().items()) {
    SCOPED_TRACE(model);
    const auto& rows = entry.at("modules");
    ASSERT_FALSE(rows.empty());
    ASSERT_EQ(rows.at(0).at(0).get<std::string>(), "");
    ModuleTree tree(rows.at(0).at(1).get<std::string>());
    for (size_t i = 1; i < rows.size(); ++i) tree.add(rows[i].at(0).get<std::string>(), rows[i].at(1).get<std::string>());
    ASSERT_EQ(tree.scopes().size(), rows.size());

    std::set<std::string> tags, prefixes, namespaces;
    for (const std::string& scope : tree.scopes()) {
      EXPECT_TRUE(tags.insert(tree.tag(scope)).second) << "duplicate tag " << tree.tag(scope) << " at '" << scope << "'";
      EXPECT_TRUE(prefixes.insert(tree.name_prefix(scope)).second)
          << "duplicate name prefix " << tree.name_prefix(scope) << " at '" << scope << "'";
      EXPECT_TRUE(namespaces.insert(tree.namespace_of(scope)).second) << "duplicate namespace at '" << scope << "'";
      // A module's tag extends its parent's tag.
      if (!scope.empty()) {
        const std::string parent_tag = tree.tag(tree.at(scope).parent);
        EXPECT_EQ(tree.tag(scope).compare(0, parent_tag.size() + 1, parent_tag + "/"), 0) << scope;
      }
    }
  }
}

// ---- scope algebra

TEST(ModuleTreeScopes, CommonAncestor) {
  EXPECT_EQ(ModuleTree::common_ancestor("", ""), "");
  EXPECT_EQ(ModuleTree::common_ancestor("", "layer1.0"), "");
  EXPECT_EQ(ModuleTree::common_ancestor("layer1.0", ""), "");
  EXPECT_EQ(ModuleTree::common_ancestor("layer1.0.conv1", "layer1.0.conv1"), "layer1.0.conv1");
  EXPECT_EQ(ModuleTree::common_ancestor("layer1.0.conv1", "layer1.0.conv2"), "layer1.0");
  EXPECT_EQ(ModuleTree::common_ancestor("layer1", "layer1.0.conv1"), "layer1");
  EXPECT_EQ(ModuleTree::common_ancestor("layer1.0.conv1", "layer1"), "layer1");
  EXPECT_EQ(ModuleTree::common_ancestor("layer1.0", "layer2.0"), "");
  // A string prefix that is not a path prefix.
  EXPECT_EQ(ModuleTree::common_ancestor("layer1", "layer10.0"), "");
  EXPECT_EQ(ModuleTree::common_ancestor("layer1.1", "layer1.10"), "layer1");
  EXPECT_EQ(ModuleTree::common_ancestor("features.1.conv", "features.10.conv"), "features");
}

TEST(ModuleTreeScopes, IsAncestorOrSelf) {
  EXPECT_TRUE(ModuleTree::is_ancestor_or_self("", ""));
  EXPECT_TRUE(ModuleTree::is_ancestor_or_self("", "layer1.0"));
  EXPECT_FALSE(ModuleTree::is_ancestor_or_self("layer1", ""));
  EXPECT_TRUE(ModuleTree::is_ancestor_or_self("layer1", "layer1"));
  EXPECT_TRUE(ModuleTree::is_ancestor_or_self("layer1", "layer1.0"));
  EXPECT_TRUE(ModuleTree::is_ancestor_or_self("layer1", "layer1.0.conv1"));
  EXPECT_FALSE(ModuleTree::is_ancestor_or_self("layer1.0", "layer1"));
  EXPECT_FALSE(ModuleTree::is_ancestor_or_self("layer1", "layer10.0"));
  EXPECT_FALSE(ModuleTree::is_ancestor_or_self("layer1", "layer10"));
  EXPECT_FALSE(ModuleTree::is_ancestor_or_self("layer1.0", "layer2.0"));
}

// ---- building

TEST(ModuleTreeAdd, ChildBeforeParentThrows) {
  ModuleTree tree("ResNet");
  EXPECT_THROW(tree.add("layer1.0", "Bottleneck"), std::invalid_argument);
  EXPECT_FALSE(tree.contains("layer1.0"));
  tree.add("layer1", "Sequential");
  EXPECT_NO_THROW(tree.add("layer1.0", "Bottleneck"));
}

TEST(ModuleTreeAdd, DuplicateThrows) {
  ModuleTree tree("ResNet");
  tree.add("layer1", "Sequential");
  EXPECT_THROW(tree.add("layer1", "Sequential"), std::invalid_argument);
  EXPECT_THROW(tree.add("layer1", "Other"), std::invalid_argument);
  EXPECT_EQ(tree.at("layer1").class_name, "Sequential");
  EXPECT_EQ(tree.root().children.size(), 1u);
  EXPECT_EQ(tree.scopes().size(), 2u);
}

TEST(ModuleTreeAdd, EmptyScopeRenamesTheRoot) {
  ModuleTree tree("Placeholder");
  tree.add("", "ResNet");
  EXPECT_EQ(tree.root().class_name, "ResNet");
  EXPECT_EQ(tree.scopes().size(), 1u);
  EXPECT_EQ(tree.tag(""), "/ResNet");
}

// ---- htp.modules

TEST(ModuleTreeJson, ScopeToClassAndParent) {
  ModuleTree tree = resnet_like();
  nlohmann::json json = tree.to_json();
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json.size(), tree.scopes().size());
  EXPECT_EQ(json.at(""), (nlohmann::json{{"class", "ResNet"}, {"parent", nullptr}}));
  EXPECT_TRUE(json.at("").at("parent").is_null());
  EXPECT_EQ(json.at("layer1"), (nlohmann::json{{"class", "Sequential"}, {"parent", ""}}));
  EXPECT_EQ(json.at("layer1.0.conv1"), (nlohmann::json{{"class", "Conv2d"}, {"parent", "layer1.0"}}));
  EXPECT_EQ(json.at("layer2.0.downsample.1"), (nlohmann::json{{"class", "BatchNorm2d"}, {"parent", "layer2.0.downsample"}}));
  // Round trip through text (what the model metadata holds).
  EXPECT_EQ(nlohmann::json::parse(json.dump()), json);
}

TEST(ModuleTreeJson, ContainersAreListed) {
  nlohmann::json json = bert_like().to_json();
  EXPECT_EQ(json.at("encoder.layer"), (nlohmann::json{{"class", "ModuleList"}, {"parent", "encoder"}}));
  EXPECT_EQ(json.at("encoder.layer.0").at("parent"), "encoder.layer");
}

}  // namespace
