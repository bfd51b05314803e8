// The inheritance engine on small synthetic graphs: one test per rule, plus order independence.
#include "htp/inheritance/inheritance_engine.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/subgraphs.h"
#include "htp/tagging/tagger.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace {

using htp::inheritance::InheritanceEngine;
using htp::tagging::ModuleTree;
using htp::tagging::node_metadata;

class InheritanceEngineTest : public ::testing::Test {
 protected:
  InheritanceEngineTest() : tree_("Model") {
    for (auto [scope, cls] : std::vector<std::pair<const char*, const char*>>{
             {"embed", "Embedding"}, {"encoder", "Encoder"}, {"encoder.layers", "ModuleList"},
             {"encoder.layers.0", "Layer"}, {"encoder.layers.0.attn", "Attention"}, {"encoder.layers.1", "Layer"},
             {"encoder.layers.1.attn", "Attention"}, {"head", "Linear"}, {"blocks", "ModuleList"},
             {"blocks.0", "Block"}, {"blocks.1", "Block"}}) {
      tree_.add(scope, cls);
    }
  }

  // Adds a node whose inputs and outputs are tensor names; scope "" is the root. With `into`, the
  // node goes to that subgraph (an If branch).
  onnx::NodeProto& add(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                       const std::string& scope = "", onnx::GraphProto* into = nullptr) {
    onnx::NodeProto& node = *(into ? into : &graph_)->add_node();
    node.set_op_type(op);
    node.set_name("n" + std::to_string(++nodes_added_) + "_" + op);
    for (auto& input : inputs) node.add_input(input);
    for (auto& output : outputs) node.add_output(output);
    htp::tagging::set_node_metadata(node, htp::tagging::kScopeKey, scope);
    return node;
  }

  void add_input(const std::string& name, onnx::TensorProto::DataType type) {
    onnx::ValueInfoProto& input = *graph_.add_input();
    input.set_name(name);
    input.mutable_type()->mutable_tensor_type()->set_elem_type(type);
  }

  void add_initializer(const std::string& name) {
    onnx::TensorProto& initializer = *graph_.add_initializer();
    initializer.set_name(name);
    initializer.set_data_type(onnx::TensorProto::FLOAT);
  }

  // Runs the engine; every test also checks that shuffled node orders place every node the same.
  htp::inheritance::InheritanceStats run() {
    const onnx::GraphProto original = graph_;
    std::mt19937 random(11);
    for (int trial = 0; trial < 5; ++trial) {
      std::shuffle(graph_.mutable_node()->begin(), graph_.mutable_node()->end(), random);
      InheritanceEngine().run(graph_, tree_);
      shuffled_placements_.push_back(placements());
      graph_ = original;
    }
    auto stats = InheritanceEngine().run(graph_, tree_);
    for (const auto& shuffled : shuffled_placements_) EXPECT_EQ(shuffled, placements()) << "placement depends on node order";
    return stats;
  }

  // name → (scope, source) after the run; source "" when the engine left the node alone.
  std::map<std::string, std::pair<std::string, std::string>> placements() const {
    std::map<std::string, std::pair<std::string, std::string>> result;
    for (const onnx::NodeProto* node : htp::tagging::all_nodes(graph_)) {
      auto meta = node_metadata(*node);
      result[node->name()] = {meta[htp::tagging::kScopeKey], meta[htp::tagging::kSourceKey]};
    }
    return result;
  }

  std::pair<std::string, std::string> placement(const std::string& name) const { return placements().at(name); }

  // A graph attribute of `node` (an If's then_branch / else_branch) returning `output`.
  onnx::GraphProto& add_branch(onnx::NodeProto& node, const std::string& name, const std::string& output) {
    onnx::AttributeProto& attribute = *node.add_attribute();
    attribute.set_name(name);
    attribute.set_type(onnx::AttributeProto::GRAPH);
    attribute.mutable_g()->add_output()->set_name(output);
    return *attribute.mutable_g();
  }

  ModuleTree tree_;
  onnx::GraphProto graph_;
  int nodes_added_ = 0;
  std::vector<std::map<std::string, std::pair<std::string, std::string>>> shuffled_placements_;
};

using Placed = std::pair<std::string, std::string>;

TEST_F(InheritanceEngineTest, TakesTheLowestCommonAncestorOfTheConsumers) {
  add("Constant", {}, {"c"});
  add("MatMul", {"x", "c"}, {"q"}, "encoder.layers.0.attn");
  add("Add", {"x", "c"}, {"r"}, "encoder.layers.0");
  auto stats = run();
  EXPECT_EQ(placement("n1_Constant"), Placed("encoder.layers.0", "inherited"));
  EXPECT_EQ(stats.candidates, 1u);
  EXPECT_EQ(stats.inherited, 1u);
  EXPECT_EQ(placement("n2_MatMul"), Placed("encoder.layers.0.attn", ""));  // direct nodes stay untouched
}

TEST_F(InheritanceEngineTest, FallsBackToTheProducerWhenTheConsumersMeetAtTheRoot) {
  add("Gemm", {"x"}, {"e"}, "embed");
  add("Reshape", {"e", "shape"}, {"r"});
  add("Relu", {"r"}, {"a"}, "head");
  add("Relu", {"r"}, {"b"}, "encoder");
  run();
  EXPECT_EQ(placement("n2_Reshape"), Placed("embed", "inherited"));
}

TEST_F(InheritanceEngineTest, ResolvesAShapeChainThroughItsConsumers) {
  add("Shape", {"input"}, {"s"});
  add("Gather", {"s", "i"}, {"g"});
  add("Unsqueeze", {"g", "axes"}, {"u"});
  add("Concat", {"u", "minus_one"}, {"shape"});
  add("Reshape", {"input", "shape"}, {"r"});
  add("MatMul", {"r", "w"}, {"y"}, "encoder.layers.1.attn");
  auto stats = run();
  for (const char* name : {"n1_Shape", "n2_Gather", "n3_Unsqueeze", "n4_Concat", "n5_Reshape"}) {
    EXPECT_EQ(placement(name), Placed("encoder.layers.1.attn", "inherited")) << name;
  }
  EXPECT_EQ(stats.inherited, 5u);
  EXPECT_EQ(stats.fallback, 0u);
}

TEST_F(InheritanceEngineTest, ResolvesAChainToTheGraphOutputThroughItsProducer) {
  add("Gemm", {"x"}, {"h"}, "head");
  add("Transpose", {"h"}, {"t"});
  add("Shape", {"x"}, {"s"});
  add("Reshape", {"t", "s"}, {"out"});  // a graph output: no consumers
  run();
  EXPECT_EQ(placement("n2_Transpose"), Placed("head", "inherited"));
  EXPECT_EQ(placement("n4_Reshape"), Placed("head", "inherited"));
  // Shape reads only a graph input; its one consumer was placed from its producer.
  EXPECT_EQ(placement("n3_Shape"), Placed("head", "inherited"));
}

TEST_F(InheritanceEngineTest, TakesTheOwnerOfAnInitializerAsItsProducer) {
  add_initializer("embed.weight");
  add_initializer("scale");         // the root's own parameter
  add_initializer("gone.weight");   // names no module: owned by the root
  add("Transpose", {"embed.weight"}, {"wt"});  // a tied head: x @ embed.weight.t() in the root
  add("MatMul", {"x", "wt"}, {"logits"});
  add("Gemm", {"x"}, {"h"}, "head");
  add("Concat", {"h", "embed.weight"}, {"hc"});  // the producer rule reads inputs in order
  add("Concat", {"gone.weight", "scale", "embed.weight"}, {"ec"});
  add("Add", {"hc", "ec"}, {"out"});
  auto stats = run();
  EXPECT_EQ(placement("n1_Transpose"), Placed("embed", "inherited"));
  EXPECT_EQ(placement("n4_Concat"), Placed("head", "inherited"));
  EXPECT_EQ(placement("n5_Concat"), Placed("embed", "inherited"));
  EXPECT_EQ(stats.inherited, 3u);
}

TEST_F(InheritanceEngineTest, PlacesAtTheRootWhatOnlyTheRootsOwnComputeReads) {
  add_input("ids", onnx::TensorProto::INT64);
  add_initializer("scale");
  add("Shape", {"x"}, {"s"});
  add("Gather", {"s", "i"}, {"g"});
  add("Reshape", {"x", "g"}, {"r"});
  add("Cast", {"scale"}, {"c"});
  add("Mul", {"r", "c"}, {"y"});  // a compute op of the root's own forward
  add("Constant", {}, {"one"});
  add("Add", {"ids", "one"}, {"shifted"});  // input preprocessing that stays at the root
  add("Mul", {"y", "shifted"}, {"out"});
  auto stats = run();
  for (const char* name : {"n1_Shape", "n2_Gather", "n3_Reshape", "n4_Cast", "n6_Constant"}) {
    EXPECT_EQ(placement(name), Placed("", "inherited")) << name;
  }
  EXPECT_EQ(placement("n7_Add"), Placed("", "direct"));
  EXPECT_EQ(stats.inherited, 5u);
  EXPECT_EQ(stats.fallback, 0u);
}

TEST_F(InheritanceEngineTest, LeavesRootContextToFallbackNeverEmpty) {
  add("Constant", {}, {"k"});
  add("Gemm", {"x", "k"}, {"y"}, "head");
  add("Mul", {"x", "k"}, {"z"});  // one consumer in the root's forward, one in head: no rule places k
  add("Constant", {}, {"u"});
  add("Unsqueeze", {"x", "u"}, {"v"});  // a graph output: no consumer, no producer with a scope
  add("Constant", {}, {"a"});
  add("Reshape", {"z", "a"}, {"w"});
  add("Relu", {"w"}, {"p"}, "head");
  add("Mul", {"w", "x"}, {"q"});
  auto stats = run();
  for (const char* name : {"n1_Constant", "n4_Constant", "n5_Unsqueeze", "n6_Constant", "n7_Reshape"}) {
    EXPECT_EQ(placement(name), Placed("", "fallback")) << name;
  }
  EXPECT_EQ(placement("n3_Mul"), Placed("", ""));
  EXPECT_EQ(stats.fallback, 5u);
  EXPECT_EQ(stats.inherited, 0u);
}

TEST_F(InheritanceEngineTest, LiftsAContainerAncestorToItsOwner) {
  add("Constant", {}, {"mask"});
  add("Add", {"a", "mask"}, {"b"}, "encoder.layers.0.attn");
  add("Add", {"c", "mask"}, {"d"}, "encoder.layers.1.attn");
  run();
  EXPECT_EQ(placement("n1_Constant"), Placed("encoder", "inherited"));
}

TEST_F(InheritanceEngineTest, AListUnderTheRootIsItsOwnContext) {
  add("Gemm", {"x"}, {"e"}, "embed");
  add("Cast", {"e"}, {"m"});
  add("Add", {"a", "m"}, {"b"}, "blocks.0");
  add("Add", {"c", "m"}, {"d"}, "blocks.1");
  run();
  EXPECT_EQ(placement("n2_Cast"), Placed("blocks", "inherited"));
  EXPECT_EQ(tree_.tag("blocks"), "/Model/ModuleList");  // visible in the tag, not the root's
}

TEST_F(InheritanceEngineTest, PlacesInputPreprocessingWithTheModulesItFeeds) {
  add_input("mask", onnx::TensorProto::INT64);
  add_input("ids", onnx::TensorProto::INT64);
  add_input("x", onnx::TensorProto::FLOAT);
  add("Constant", {}, {"axes"});
  add("Unsqueeze", {"mask", "axes"}, {"m1"});
  add("Cast", {"m1"}, {"m2"});
  add("Constant", {}, {"one"});
  add("Sub", {"one", "m2"}, {"inverted"});
  add("Constant", {}, {"minimum"});
  add("Mul", {"inverted", "minimum"}, {"additive"});
  add("Add", {"scores0", "additive"}, {"a0"}, "encoder.layers.0.attn");
  add("Add", {"scores1", "additive"}, {"a1"}, "encoder.layers.1.attn");
  add("Neg", {"ids"}, {"r"});     // prepares an input too, but only the root's own forward reads it
  add("Mul", {"r", "x"}, {"out"});  // float data: the root's own compute
  auto stats = run();
  for (const char* name : {"n1_Constant", "n2_Unsqueeze", "n3_Cast", "n4_Constant", "n5_Sub", "n6_Constant", "n7_Mul"}) {
    EXPECT_EQ(placement(name), Placed("encoder", "inherited")) << name;
  }
  EXPECT_EQ(placement("n10_Neg"), Placed("", "direct"));  // a compute op of the root: never fallback
  EXPECT_EQ(placement("n11_Mul"), Placed("", ""));        // not a candidate
  EXPECT_EQ(stats.inherited, 7u);
  EXPECT_EQ(stats.left_at_root, 1u);
  EXPECT_EQ(stats.fallback, 0u);
}

TEST_F(InheritanceEngineTest, PlacesNodesInsideIfBranchesThroughTheirDataflow) {
  add("Gemm", {"x"}, {"h"}, "head");
  add("ReduceSum", {"x"}, {"s"}, "encoder");
  onnx::NodeProto& branch_point = add("If", {"s"}, {"y"});  // a compute op of the root: it consumes what its branches return
  onnx::GraphProto& then_branch = add_branch(branch_point, "then_branch", "t2");
  onnx::GraphProto& else_branch = add_branch(branch_point, "else_branch", "e2");
  add("Transpose", {"h"}, {"t1"}, "", &then_branch);  // reads the enclosing graph's h
  add("Identity", {"t1"}, {"t2"}, "", &then_branch);
  add("Constant", {}, {"k"}, "", &else_branch);
  add("Mul", {"h", "k"}, {"e1"}, "encoder", &else_branch);
  add("Identity", {"e1"}, {"e2"}, "", &else_branch);
  add("Relu", {"y"}, {"out"});
  auto stats = run();
  EXPECT_EQ(placement("n4_Transpose"), Placed("head", "inherited"));
  EXPECT_EQ(placement("n5_Identity"), Placed("head", "inherited"));
  EXPECT_EQ(placement("n6_Constant"), Placed("encoder", "inherited"));
  EXPECT_EQ(placement("n8_Identity"), Placed("encoder", "inherited"));
  EXPECT_EQ(placement("n3_If"), Placed("", ""));
  EXPECT_EQ(stats.inherited, 4u);
}

TEST_F(InheritanceEngineTest, KeepsPresetSourcesAndNonAuxiliaryRootOps) {
  onnx::NodeProto& preset = add("Constant", {}, {"k"});
  htp::tagging::set_node_metadata(preset, htp::tagging::kSourceKey, "direct");
  add("Softmax", {"x"}, {"s"});
  add("Gemm", {"k", "s"}, {"y"}, "head");
  auto stats = run();
  EXPECT_EQ(stats.candidates, 0u);
  EXPECT_EQ(placement("n1_Constant"), Placed("", "direct"));
  EXPECT_EQ(placement("n2_Softmax"), Placed("", ""));
}

TEST_F(InheritanceEngineTest, BreaksAWaitBetweenTwoOpenNodes) {
  // `u` waits for its consumer `c`; `c`'s consumers meet at the root and its producer is `u`.
  add("Unsqueeze", {"x", "axes"}, {"u"});
  add("Relu", {"u"}, {"m"}, "head");
  add("Cast", {"u"}, {"c"});
  add("Mul", {"c", "y"}, {"z"});
  run();
  EXPECT_EQ(placement("n1_Unsqueeze"), Placed("head", "inherited"));
  EXPECT_EQ(placement("n3_Cast"), Placed("head", "inherited"));
}

TEST_F(InheritanceEngineTest, PlacementDoesNotDependOnNodeOrder) {
  add("Shape", {"input"}, {"s"});
  add("Gather", {"s", "i"}, {"g"});
  add("Concat", {"g", "minus_one"}, {"shape"});
  add("Gemm", {"input"}, {"e"}, "embed");
  add("Reshape", {"e", "shape"}, {"r"});
  add("Add", {"r", "k"}, {"a"}, "encoder.layers.0.attn");
  add("Add", {"r", "k"}, {"b"}, "encoder.layers.1");
  add("Transpose", {"a"}, {"t"});
  add("Unsqueeze", {"t", "axes"}, {"u"});
  add("Constant", {}, {"k"});
  add("Mul", {"u", "b"}, {"out"});
  const onnx::GraphProto original = graph_;
  run();
  const auto expected = placements();
  EXPECT_EQ(expected.at("n5_Reshape"), Placed("encoder", "inherited"));
  EXPECT_EQ(expected.at("n9_Unsqueeze"), Placed("encoder.layers.0.attn", "inherited"));

  std::mt19937 random(7);
  for (int trial = 0; trial < 20; ++trial) {
    graph_ = original;
    std::shuffle(graph_.mutable_node()->begin(), graph_.mutable_node()->end(), random);
    run();
    EXPECT_EQ(placements(), expected) << "trial " << trial;
  }
}

}  // namespace
