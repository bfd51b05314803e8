// Every optimizer pass on a tiny graph it must rewrite (same outputs in the ATen evaluator, tags
// kept) and on one it must leave alone.
#include "tiny_graph.h"

#include "htp/onnxio/error.h"
#include "htp/optimizer/optimize.h"
#include "pass.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace htp::test {
namespace {

using optimizer::OptimizeOptions;
using optimizer::OptimizeReport;
using Strings = std::vector<std::string>;

OptimizeReport run_pass(onnx::ModelProto& model, const std::string& pass) {
  OptimizeOptions options;
  options.enabled = {pass};
  return optimizer::optimize(model, options);
}

// Optimizes a copy with `pass` alone, checks both give the same outputs on `inputs`, returns the copy.
onnx::ModelProto optimized_same_outputs(const onnx::ModelProto& model, const std::string& pass,
                                        const std::map<std::string, at::Tensor>& inputs) {
  onnx::ModelProto optimized = model;
  run_pass(optimized, pass);
  const auto want = run(model, inputs);
  const auto got = run(optimized, inputs);
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [name, value] : want) {
    EXPECT_TRUE(got.count(name)) << "missing output " << name;
    if (!got.count(name)) continue;
    EXPECT_EQ(got.at(name).sizes(), value.sizes()) << name;
    EXPECT_TRUE(at::allclose(got.at(name).to(at::kDouble), value.to(at::kDouble), 1e-5, 1e-5)) << name;
  }
  return optimized;
}

// The model is unchanged by `pass`: same nodes and initializers, byte for byte.
void expect_left_alone(const onnx::ModelProto& model, const std::string& pass) {
  onnx::ModelProto optimized = model;
  OptimizeReport report = run_pass(optimized, pass);
  EXPECT_EQ(optimized.graph().node_size(), model.graph().node_size());
  for (int i = 0; i < model.graph().node_size() && i < optimized.graph().node_size(); ++i) {
    EXPECT_EQ(optimized.graph().node(i).SerializeAsString(), model.graph().node(i).SerializeAsString()) << "node " << i;
  }
  EXPECT_EQ(optimized.graph().initializer_size(), model.graph().initializer_size());
  ASSERT_EQ(report.passes.size(), 1u);
  EXPECT_EQ(report.passes[0].changed_runs, 0);
}

std::string metadata(const onnx::NodeProto& node, const std::string& key) {
  return tagging::node_metadata(node, key).value_or("<none>");
}

nlohmann::json fused_from(const onnx::NodeProto& node) {
  auto value = tagging::node_metadata(node, "htp.fused_from");
  return value ? nlohmann::json::parse(*value) : nlohmann::json();
}

bool has_initializer(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& tensor : model.graph().initializer()) {
    if (tensor.name() == name) return true;
  }
  return false;
}

at::Tensor random(std::vector<int64_t> shape, uint64_t seed = 0) {
  at::manual_seed(seed);
  return at::randn(shape);
}

// --- the graph-editing layer passes share ---

TEST(OptimizerGraph, GraphOutputsKeepTheirNamesWhenTheirProducerGoes) {
  TinyGraph g;
  g.input("x", {2}).output("y");
  g.node("Relu", {"x"}, {"r"});
  g.node("Neg", {"r"}, {"n"});
  g.node("Identity", {"r"}, {"y"});
  optimizer::Graph graph(g.model(), ".");
  onnx::NodeProto* identity = graph.producer("y");
  ASSERT_TRUE(graph.replace_all_uses("y", "r"));
  graph.remove_node(identity);
  graph.commit();
  ASSERT_EQ(op_types(g.model()), (Strings{"Relu", "Neg"}));
  EXPECT_EQ(g.graph().node(0).output(0), "y");
  EXPECT_EQ(g.graph().node(1).input(0), "y");
  EXPECT_EQ(graph.producer("y"), g.graph().mutable_node(0));
  // A graph input cannot take a graph output's name.
  EXPECT_FALSE(graph.can_replace_all_uses("y", "x"));
}

// The model's own value_info for a graph input holds until the first commit, as it did when every
// commit swept value_info; from then on the input's declaration answers. Without a commit (no pass
// ran) finish() leaves value_info as the file had it.
TEST(OptimizerGraph, TheFirstCommitDropsValueInfoOfNamesNoNodeProduces) {
  TinyGraph g;
  g.input("x", {-1, 4}).output("y");
  g.node("Relu", {"x"}, {"y"});
  auto* stale = g.graph().add_value_info();
  stale->set_name("x");
  stale->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t dim : {2, 4}) stale->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(dim);
  onnx::ModelProto untouched = g.model();
  {
    optimizer::Graph graph(untouched, ".");
    graph.finish();
  }
  EXPECT_EQ(untouched.graph().value_info_size(), 1);

  optimizer::Graph graph(g.model(), ".");
  EXPECT_EQ(*graph.tensor_info("x")->dims, (std::vector<int64_t>{2, 4}));
  graph.commit();
  EXPECT_EQ(g.graph().value_info_size(), 0);
  EXPECT_EQ(*graph.tensor_info("x")->dims, (std::vector<int64_t>{-1, 4}));
}

TEST(OptimizerGraph, InsertedNodesTakeTheirAnchorsPlace) {
  TinyGraph g;
  g.input("x", {2}).output("y");
  g.node("Relu", {"x"}, {"a"}, "m");
  g.node("Neg", {"a"}, {"y"}, "m");
  optimizer::Graph graph(g.model(), ".");
  onnx::NodeProto* neg = graph.producer("y");
  onnx::NodeProto abs = graph.derived_node(*neg, "Abs");
  abs.add_input("a");
  abs.add_output(graph.unique_name("a"));
  const std::string abs_output = abs.output(0);
  graph.insert_node(std::move(abs), neg);
  graph.set_input(neg, 0, abs_output);
  EXPECT_EQ(abs_output, "a_1");
  EXPECT_EQ(graph.consumers("a").size(), 1u);
  graph.commit();
  ASSERT_EQ(op_types(g.model()), (Strings{"Relu", "Abs", "Neg"}));
  EXPECT_EQ(g.graph().node(1).name(), "/m/Abs_2");
  EXPECT_EQ(tagging::node_metadata(g.graph().node(1), "htp.scope"), "m");
  EXPECT_EQ(graph.counts().nodes_added, 1);
}

TEST(OptimizerGraph, NamesReadBySubgraphsAreUses) {
  TinyGraph g;
  g.input("c", {}, onnx::TensorProto::BOOL).input("x", {2}).output("y");
  g.node("Relu", {"x"}, {"r"});
  onnx::NodeProto& branch = g.node("If", {"c"}, {"y"});
  for (const char* name : {"then_branch", "else_branch"}) {
    auto* attribute = branch.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::GRAPH);
    attribute->mutable_g()->add_output()->set_name("r");
  }
  optimizer::Graph graph(g.model(), ".");
  EXPECT_EQ(graph.use_count("r"), 2u);
  EXPECT_FALSE(graph.can_replace_all_uses("r", "x"));
  expect_left_alone(g.model(), "EliminateDeadNodes");
}

// --- EliminateDeadNodes ---

TEST(EliminateDeadNodes, RemovesUnreadChains) {
  TinyGraph g;
  g.input("x", {2, 3}).output("y");
  g.node("Relu", {"x"}, {"y"}, "a");
  g.node("Sigmoid", {"x"}, {"s"}, "b");
  g.node("Neg", {"s"}, {"n"}, "b");
  onnx::ModelProto optimized = optimized_same_outputs(g.model(), "EliminateDeadNodes", {{"x", random({2, 3})}});
  EXPECT_EQ(op_types(optimized), Strings{"Relu"});
}

TEST(EliminateDeadNodes, KeepsReadNodesAndOtherDomains) {
  TinyGraph g;
  g.input("x", {2, 3}).output("y");
  g.node("Relu", {"x"}, {"r"});
  g.node("Neg", {"r"}, {"y"});
  g.node("Print", {"x"}, {"unread"}).set_domain("com.example");
  auto* custom = g.model().add_opset_import();
  custom->set_domain("com.example");
  custom->set_version(1);
  expect_left_alone(g.model(), "EliminateDeadNodes");
}

// --- EliminateIdentity ---

TEST(EliminateIdentity, RemovesProvableNoOpsAndKeepsOutputNames) {
  TinyGraph g;
  g.input("x", {2, 3, 4}).output("y");
  g.initializer("same_shape", at::tensor(std::vector<int64_t>{2, -1, 4}));
  g.initializer("ones", at::tensor(std::vector<int64_t>{1, 4}));
  g.node("Identity", {"x"}, {"a"}, "m");
  g.node("Dropout", {"a"}, {"b"}, "m.drop");
  int_attribute(g.node("Cast", {"b"}, {"c"}, "m"), "to", onnx::TensorProto::FLOAT);
  g.node("Reshape", {"c", "same_shape"}, {"d"}, "m");
  ints_attribute(g.node("Transpose", {"d"}, {"e"}, "m"), "perm", {0, 1, 2});
  g.node("Expand", {"e", "ones"}, {"f"}, "m");
  int_attribute(g.node("Concat", {"f"}, {"h"}, "m"), "axis", 0);
  g.node("Relu", {"h"}, {"r"}, "m");
  g.node("Identity", {"r"}, {"y"}, "m");
  onnx::ModelProto optimized = optimized_same_outputs(g.model(), "EliminateIdentity", {{"x", random({2, 3, 4})}});
  ASSERT_EQ(op_types(optimized), Strings{"Relu"});
  EXPECT_EQ(optimized.graph().node(0).input(0), "x");
  EXPECT_EQ(optimized.graph().node(0).output(0), "y");  // the graph output keeps its name
  EXPECT_EQ(metadata(optimized.graph().node(0), "htp.scope"), "m");
}

TEST(EliminateIdentity, KeepsOpsThatChangeSomething) {
  TinyGraph g;
  g.input("x", {2, 3}).output("y").output("i").output("c", onnx::TensorProto::DOUBLE).output("r").output("t").output("d");
  g.output("mask", onnx::TensorProto::BOOL);
  g.initializer("other_shape", at::tensor(std::vector<int64_t>{3, 2}));
  g.initializer("training", at::scalar_tensor(true, at::kBool));
  g.initializer("ratio", at::scalar_tensor(0.5f));
  g.node("Identity", {"x"}, {"y"});  // graph input to graph output: nothing can take the name
  g.node("Identity", {"x"}, {"i"});
  int_attribute(g.node("Cast", {"x"}, {"c"}), "to", onnx::TensorProto::DOUBLE);
  g.node("Reshape", {"x", "other_shape"}, {"r"});
  ints_attribute(g.node("Transpose", {"x"}, {"t"}), "perm", {1, 0});
  g.node("Dropout", {"x", "ratio", "training"}, {"d", "mask"});
  expect_left_alone(g.model(), "EliminateIdentity");
}

// --- EliminateUnusedInitializers ---

TEST(EliminateUnusedInitializers, RemovesUnreadOnes) {
  TinyGraph g;
  g.input("x", {2}).output("y");
  g.initializer("used", at::ones({2}));
  g.initializer("unused", at::ones({2}));
  g.node("Add", {"x", "used"}, {"y"});
  onnx::ModelProto optimized = g.model();
  run_pass(optimized, "EliminateUnusedInitializers");
  EXPECT_TRUE(has_initializer(optimized, "used"));
  EXPECT_FALSE(has_initializer(optimized, "unused"));
}

TEST(EliminateUnusedInitializers, KeepsInitializersThatAreGraphInputs) {
  TinyGraph g;
  g.input("x", {2}).input("overridable", {2}).output("y");
  g.initializer("used", at::ones({2}));
  g.initializer("overridable", at::ones({2}));
  g.node("Add", {"x", "used"}, {"y"});
  expect_left_alone(g.model(), "EliminateUnusedInitializers");
}

// --- DeduplicateInitializers ---

TEST(DeduplicateInitializers, SharesEqualInitializersAndConstants) {
  TinyGraph g;
  g.input("x", {2, 2}).output("y");
  g.initializer("w1", at::arange(4, at::kFloat).reshape({2, 2}));
  g.initializer("w2", at::arange(4, at::kFloat).reshape({2, 2}));
  g.node("Add", {"x", "w1"}, {"a"});
  g.node("Mul", {"a", "w2"}, {"b"});
  g.constant("c1", at::scalar_tensor(2.0f), "m");
  g.node("Add", {"b", "c1"}, {"c"});
  g.constant("c2", at::scalar_tensor(2.0f), "m");
  g.node("Mul", {"c", "c2"}, {"y"});
  onnx::ModelProto optimized =
      optimized_same_outputs(g.model(), "DeduplicateInitializers", {{"x", random({2, 2})}});
  EXPECT_EQ(op_types(optimized), (Strings{"Add", "Mul", "Constant", "Add", "Mul"}));
  EXPECT_EQ(optimized.graph().initializer_size(), 1);
  EXPECT_EQ(optimized.graph().node(1).input(1), "w1");
  EXPECT_EQ(optimized.graph().node(4).input(1), "c1");
}

TEST(DeduplicateInitializers, KeepsSameBytesOfOtherTypeOrShape) {
  TinyGraph g;
  g.input("x", {4}).input("i", {4}, onnx::TensorProto::INT32).output("a").output("b").output("c",
                                                                                          onnx::TensorProto::INT32);
  g.initializer("flat", at::zeros({4}));
  g.initializer("square", at::zeros({2, 2}));
  g.initializer("ints", at::zeros({4}, at::kInt));
  g.node("Add", {"x", "flat"}, {"a"});
  g.node("Add", {"x", "square"}, {"b"});
  g.node("Add", {"i", "ints"}, {"c"});
  expect_left_alone(g.model(), "DeduplicateInitializers");
}

// --- EliminateCommonSubexpressions ---

TEST(EliminateCommonSubexpressions, MergesDuplicatedChains) {
  TinyGraph g;
  g.input("x", {-1, 4}).output("y").output("z");
  g.initializer("zero", at::tensor(std::vector<int64_t>{0}));
  g.node("Shape", {"x"}, {"s1"}, "a");
  g.node("Gather", {"s1", "zero"}, {"g1"}, "a");
  g.node("Shape", {"x"}, {"s2"}, "b");
  g.node("Gather", {"s2", "zero"}, {"g2"}, "b");
  int_attribute(g.node("Cast", {"g1"}, {"y"}, "a"), "to", onnx::TensorProto::FLOAT);
  int_attribute(g.node("Cast", {"g2"}, {"z"}, "b"), "to", onnx::TensorProto::FLOAT);
  onnx::ModelProto optimized =
      optimized_same_outputs(g.model(), "EliminateCommonSubexpressions", {{"x", random({3, 4})}});
  // The second chain goes; its last node made a graph output, which the first Cast cannot also be.
  EXPECT_EQ(op_types(optimized), (Strings{"Shape", "Gather", "Cast", "Cast"}));
  EXPECT_EQ(optimized.graph().node(3).input(0), optimized.graph().node(1).output(0));
  EXPECT_EQ(fused_from(optimized.graph().node(0))[1]["scope"], "b");
}

TEST(EliminateCommonSubexpressions, KeepsDifferentAttributesAndRandomOps) {
  TinyGraph g;
  g.input("x", {2, 4}).output("y").output("z").output("r").output("u");
  int_attribute(g.node("Softmax", {"x"}, {"y"}), "axis", 0);
  int_attribute(g.node("Softmax", {"x"}, {"z"}), "axis", 1);
  g.node("RandomNormalLike", {"x"}, {"r"});
  g.node("RandomNormalLike", {"x"}, {"u"});
  expect_left_alone(g.model(), "EliminateCommonSubexpressions");
}

// --- CancelTransposes ---

TEST(CancelTransposes, RemovesInversePairsAndComposesOthers) {
  TinyGraph g;
  g.input("x", {2, 3, 4}).output("y").output("z");
  ints_attribute(g.node("Transpose", {"x"}, {"t1"}, "a"), "perm", {1, 0, 2});
  ints_attribute(g.node("Transpose", {"t1"}, {"t2"}, "a"), "perm", {1, 0, 2});
  g.node("Relu", {"t2"}, {"y"}, "a");
  ints_attribute(g.node("Transpose", {"x"}, {"u1"}, "b.first"), "perm", {1, 2, 0});
  ints_attribute(g.node("Transpose", {"u1"}, {"z"}, "b.second"), "perm", {1, 2, 0});
  onnx::ModelProto optimized = optimized_same_outputs(g.model(), "CancelTransposes", {{"x", random({2, 3, 4})}});
  ASSERT_EQ(op_types(optimized), (Strings{"Relu", "Transpose"}));
  EXPECT_EQ(optimized.graph().node(0).input(0), "x");
  const onnx::NodeProto& merged = optimized.graph().node(1);
  EXPECT_EQ(merged.input(0), "x");
  EXPECT_EQ(metadata(merged, "htp.scope"), "b.second");
  EXPECT_EQ(fused_from(merged).size(), 2u);
}

TEST(CancelTransposes, KeepsTransposesWithWorkBetween) {
  TinyGraph g;
  g.input("x", {2, 3}).output("y");
  ints_attribute(g.node("Transpose", {"x"}, {"t1"}), "perm", {1, 0});
  g.node("Relu", {"t1"}, {"r"});
  ints_attribute(g.node("Transpose", {"r"}, {"y"}), "perm", {1, 0});
  expect_left_alone(g.model(), "CancelTransposes");
}

// --- MergeReshapeChains ---

TEST(MergeReshapeChains, KeepsTheLastShapeOfAChain) {
  TinyGraph g;
  g.input("x", {2, 3, 4}).input("v", {-1, 3}).output("y").output("z").output("w");
  g.initializer("s1", at::tensor(std::vector<int64_t>{6, 4}));
  g.initializer("s2", at::tensor(std::vector<int64_t>{4, -1}));
  g.initializer("axes_a", at::tensor(std::vector<int64_t>{0}));
  g.initializer("axes_b", at::tensor(std::vector<int64_t>{-1, 1}));
  g.node("Reshape", {"x", "s1"}, {"r1"}, "a");
  g.node("Reshape", {"r1", "s2"}, {"y"}, "b");
  g.node("Flatten", {"x"}, {"f"}, "c");
  g.node("Flatten", {"f"}, {"z"}, "d");  // static result: becomes one Reshape
  g.node("Unsqueeze", {"v", "axes_a"}, {"u1"}, "e");
  g.node("Unsqueeze", {"u1", "axes_b"}, {"w"}, "f");  // dynamic input: axes merge
  onnx::ModelProto optimized =
      optimized_same_outputs(g.model(), "MergeReshapeChains", {{"x", random({2, 3, 4})}, {"v", random({5, 3})}});
  ASSERT_EQ(op_types(optimized), (Strings{"Reshape", "Reshape", "Unsqueeze"}));
  EXPECT_EQ(optimized.graph().node(0).input(0), "x");
  EXPECT_EQ(metadata(optimized.graph().node(0), "htp.scope"), "b");
  EXPECT_EQ(optimized.graph().node(1).input(0), "x");
  EXPECT_EQ(metadata(optimized.graph().node(1), "htp.scope"), "d");
  EXPECT_EQ(optimized.graph().node(2).input(0), "v");
  EXPECT_EQ(fused_from(optimized.graph().node(2))[1]["scope"], "e");
}

TEST(MergeReshapeChains, KeepsChainsWhoseShapeCopiesTheMiddle) {
  TinyGraph g;
  g.input("x", {-1, 4, 3}).output("y");
  g.initializer("s1", at::tensor(std::vector<int64_t>{0, -1}));
  g.initializer("s2", at::tensor(std::vector<int64_t>{0, 2, -1}));  // 0 copies a dim of the middle tensor
  g.node("Reshape", {"x", "s1"}, {"r1"});
  g.node("Reshape", {"r1", "s2"}, {"y"});
  expect_left_alone(g.model(), "MergeReshapeChains");
}

// --- FuseConvBatchNorm ---

void add_conv(TinyGraph& g, const std::string& scope, bool with_bias, const std::string& input, const std::string& output) {
  g.initializer(scope + ".weight", random({4, 3, 3, 3}, 1));
  Strings inputs{input, scope + ".weight"};
  if (with_bias) {
    g.initializer(scope + ".bias", random({4}, 2));
    inputs.push_back(scope + ".bias");
  }
  ints_attribute(g.node("Conv", inputs, {output}, scope), "pads", {1, 1, 1, 1});
}

void add_batch_norm(TinyGraph& g, const std::string& scope, const std::string& input, const std::string& output) {
  g.initializer(scope + ".weight", random({4}, 3));
  g.initializer(scope + ".bias", random({4}, 4));
  g.initializer(scope + ".running_mean", random({4}, 5));
  g.initializer(scope + ".running_var", random({4}, 6).abs() + 0.5);
  float_attribute(g.node("BatchNormalization",
                         {input, scope + ".weight", scope + ".bias", scope + ".running_mean", scope + ".running_var"},
                         {output}, scope),
                  "epsilon", 1e-3f);
}

TEST(FuseConvBatchNorm, FoldsStatisticsIntoTheConvAndKeepsItsTag) {
  for (bool with_bias : {true, false}) {
    TinyGraph g(14);
    g.input("x", {1, 3, 8, 8}).output("y");
    add_conv(g, "features.0", with_bias, "x", "c");
    add_batch_norm(g, "features.1", "c", "y");
    onnx::ModelProto optimized = optimized_same_outputs(g.model(), "FuseConvBatchNorm", {{"x", random({1, 3, 8, 8})}});
    ASSERT_EQ(op_types(optimized), Strings{"Conv"});
    const onnx::NodeProto& conv = optimized.graph().node(0);
    EXPECT_EQ(conv.output(0), "y");
    EXPECT_EQ(metadata(conv, "htp.scope"), "features.0");
    EXPECT_EQ(metadata(conv, "htp.tag"), "/Model/features.0");
    const nlohmann::json from = fused_from(conv);
    ASSERT_EQ(from.size(), 2u);
    EXPECT_EQ(from[0]["scope"], "features.0");
    EXPECT_EQ(from[1]["scope"], "features.1");
    EXPECT_EQ(from[1]["name"], g.graph().node(1).name());
    EXPECT_EQ(conv.input(1), "features.0.weight_fused_bn");
    EXPECT_EQ(conv.input(2), "features.0.bias_fused_bn");
    EXPECT_EQ(optimized.graph().initializer_size(), 2);  // the originals nothing reads are gone
  }
}

TEST(FuseConvBatchNorm, KeepsSharedConvOutputsAndRuntimeStatistics) {
  TinyGraph g(14);
  g.input("x", {1, 3, 8, 8}).input("mean", {4}).output("y").output("z").output("w");
  add_conv(g, "shared", true, "x", "c");
  add_batch_norm(g, "bn", "c", "y");
  g.node("Relu", {"c"}, {"z"});  // the Conv output is read twice
  add_conv(g, "conv", true, "x", "d");
  g.initializer("bn2.weight", at::ones({4}));
  g.initializer("bn2.bias", at::zeros({4}));
  g.initializer("bn2.var", at::ones({4}));
  g.node("BatchNormalization", {"d", "bn2.weight", "bn2.bias", "mean", "bn2.var"}, {"w"});
  expect_left_alone(g.model(), "FuseConvBatchNorm");
}

// --- FuseConvAddMul ---

TEST(FuseConvAddMul, FoldsPerChannelConstants) {
  TinyGraph g;
  g.input("x", {2, 3, 8, 8}).output("y");
  add_conv(g, "conv", true, "x", "c");
  g.initializer("scale", random({1, 4, 1, 1}, 7));
  g.initializer("shift", random({4, 1, 1}, 8));
  g.initializer("divisor", at::full({1}, 4.0f));
  g.node("Mul", {"scale", "c"}, {"m"}, "conv");
  g.node("Add", {"m", "shift"}, {"a"}, "conv");
  g.node("Div", {"a", "divisor"}, {"y"}, "conv");
  onnx::ModelProto optimized = optimized_same_outputs(g.model(), "FuseConvAddMul", {{"x", random({2, 3, 8, 8})}});
  ASSERT_EQ(op_types(optimized), Strings{"Conv"});
  EXPECT_EQ(fused_from(optimized.graph().node(0)).size(), 4u);
  EXPECT_EQ(optimized.graph().node(0).output(0), "y");
}

TEST(FuseConvAddMul, KeepsPerPositionAndRuntimeOperands) {
  TinyGraph g;
  g.input("x", {1, 3, 8, 8}).input("t", {1, 4, 1, 1}).output("y").output("z");
  add_conv(g, "a", true, "x", "c");
  g.initializer("per_position", random({1, 4, 8, 8}));
  g.node("Add", {"c", "per_position"}, {"y"});
  add_conv(g, "b", true, "x", "d");
  g.node("Mul", {"d", "t"}, {"z"});
  expect_left_alone(g.model(), "FuseConvAddMul");
}

// --- FoldWeightTranspose ---

TEST(FoldWeightTranspose, TransposesWeightsAheadOfTime) {
  TinyGraph g;
  g.input("x", {2, 5, 3}).input("v", {2, 3}).output("y").output("z");
  g.initializer("fc.weight", random({4, 3}, 9));
  g.initializer("head.weight", random({4, 3}, 10));
  ints_attribute(g.node("Transpose", {"fc.weight"}, {"wt"}, "fc"), "perm", {1, 0});
  g.node("MatMul", {"x", "wt"}, {"y"}, "fc");
  g.node("Transpose", {"head.weight"}, {"ht"}, "head");
  g.node("Gemm", {"v", "ht"}, {"z"}, "head");
  onnx::ModelProto optimized =
      optimized_same_outputs(g.model(), "FoldWeightTranspose", {{"x", random({2, 5, 3})}, {"v", random({2, 3})}});
  ASSERT_EQ(op_types(optimized), (Strings{"MatMul", "Gemm"}));
  EXPECT_EQ(optimized.graph().node(0).input(1), "fc.weight_transposed");
  EXPECT_EQ(optimized.graph().node(1).input(1), "head.weight");  // transB instead of a copy
  EXPECT_FALSE(has_initializer(optimized, "fc.weight"));
  EXPECT_EQ(fused_from(optimized.graph().node(0))[1]["scope"], "fc");
}

TEST(FoldWeightTranspose, KeepsRuntimeAndSharedTransposes) {
  TinyGraph g;
  g.input("x", {2, 3}).input("w", {4, 3}).output("y").output("z").output("r");
  g.initializer("shared", random({4, 3}));
  g.node("Transpose", {"w"}, {"wt"});
  g.node("MatMul", {"x", "wt"}, {"y"});
  g.node("Transpose", {"shared"}, {"st"});
  g.node("MatMul", {"x", "st"}, {"z"});
  g.node("Relu", {"st"}, {"r"});
  expect_left_alone(g.model(), "FoldWeightTranspose");
}

// --- FuseMatMulAdd ---

TEST(FuseMatMulAdd, MakesAGemmWithTheMatMulsTag) {
  TinyGraph g;
  g.input("x", {-1, 3}).output("y");
  g.initializer("w", random({3, 4}, 11));
  g.initializer("b", random({4}, 12));
  g.node("MatMul", {"x", "w"}, {"m"}, "classifier");
  g.node("Add", {"b", "m"}, {"y"}, "classifier.bias");
  onnx::ModelProto optimized = optimized_same_outputs(g.model(), "FuseMatMulAdd", {{"x", random({5, 3})}});
  ASSERT_EQ(op_types(optimized), Strings{"Gemm"});
  const onnx::NodeProto& gemm = optimized.graph().node(0);
  EXPECT_EQ(gemm.name(), "/classifier/Gemm_1");
  EXPECT_EQ(metadata(gemm, "htp.scope"), "classifier");
  EXPECT_EQ(fused_from(gemm)[1]["scope"], "classifier.bias");
}

TEST(FuseMatMulAdd, KeepsHigherRanksAndRuntimeWeights) {
  TinyGraph g;
  g.input("x", {2, 5, 3}).input("v", {2, 3}).input("w", {3, 4}).output("y").output("z");
  g.initializer("k", random({3, 4}));
  g.initializer("b", random({4}));
  g.node("MatMul", {"x", "k"}, {"m"});
  g.node("Add", {"m", "b"}, {"y"});
  g.node("MatMul", {"v", "w"}, {"n"});
  g.node("Add", {"n", "b"}, {"z"});
  expect_left_alone(g.model(), "FuseMatMulAdd");
}

// --- untagged input, the manager, the report ---

TEST(Optimizer, InventsNoTagsOnUntaggedModels) {
  TinyGraph g(14);
  g.input("x", {1, 3, 8, 8}).output("y");
  add_conv(g, "conv", true, "x", "c");
  add_batch_norm(g, "bn", "c", "y");
  for (auto& node : *g.graph().mutable_node()) node.mutable_unknown_fields()->Clear();
  onnx::ModelProto optimized = g.model();
  optimizer::optimize(optimized);
  ASSERT_EQ(op_types(optimized), Strings{"Conv"});
  const auto entries = tagging::node_metadata(optimized.graph().node(0));
  EXPECT_EQ(entries.size(), 1u);  // htp.fused_from only
  EXPECT_EQ(fused_from(optimized.graph().node(0))[0].count("scope"), 0u);
}

TEST(Optimizer, AttributesEveryChangeToItsPass) {
  TinyGraph g(14);
  g.input("x", {1, 3, 8, 8}).output("y");
  g.node("Identity", {"x"}, {"i"});
  add_conv(g, "conv", true, "i", "c");
  add_batch_norm(g, "bn", "c", "y");
  g.initializer("unused", at::ones({3}));
  onnx::ModelProto model = g.model();
  const OptimizeReport report = optimizer::optimize(model);
  EXPECT_EQ(report.nodes_before, 3);
  EXPECT_EQ(report.nodes_after, 1);
  EXPECT_EQ(report.initializers_before, 7);
  EXPECT_EQ(report.initializers_after, 2);
  std::map<std::string, optimizer::PassStatistics> by_name;
  for (const auto& pass : report.passes) by_name[pass.name] = pass;
  EXPECT_EQ(by_name["EliminateIdentity"].nodes_removed, 1);
  EXPECT_EQ(by_name["FuseConvBatchNorm"].nodes_removed, 1);
  EXPECT_EQ(by_name["FuseConvBatchNorm"].initializers_added, 2);
  EXPECT_EQ(by_name["FuseConvBatchNorm"].initializers_removed, 6);
  EXPECT_EQ(by_name["EliminateUnusedInitializers"].initializers_removed, 1);
  EXPECT_EQ(report.rounds, 2);  // one that changes, one that confirms the fixpoint
  const nlohmann::json json = optimizer::to_json(report);
  EXPECT_EQ(json["nodes_after"], 1);
  EXPECT_EQ(json["passes"].size(), optimizer::pass_names().size());
}

TEST(Optimizer, RejectsUnknownPassNames) {
  onnx::ModelProto model = TinyGraph().model();
  OptimizeOptions options;
  options.disabled = {"FuseEverything"};
  EXPECT_THROW(optimizer::optimize(model, options), Error);
}

}  // namespace
}  // namespace htp::test
