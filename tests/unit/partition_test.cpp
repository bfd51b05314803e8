// The fusion partitioner on small tagged graphs: logical SiLU ops, fusion-unit boundaries (default,
// --unit depth, --unit-classes), SE and attention recognition, and the byte accounting of one block.
#include "htp/analysis/partition.h"
#include "htp/onnxio/error.h"
#include "tiny_graph.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using htp::analysis::FusionUnit;
using htp::analysis::Partition;
using htp::test::TinyGraph;
using Strings = std::vector<std::string>;

Partition partition(const onnx::ModelProto& model, const FusionUnit& unit = {}) {
  return htp::analysis::partition_model(model, htp::analysis::compute_costs(model), unit,
                                        htp::analysis::device_profile("cpu-core"));
}

Strings patterns(const Partition& partition) {
  Strings result;
  for (const auto& subgraph : partition.subgraphs) result.push_back(subgraph.pattern);
  return result;
}

Strings op_names(const Partition& partition) {
  Strings result;
  for (const auto& op : partition.ops) result.push_back(op.name);
  return result;
}

void silu(TinyGraph& g, const std::string& x, const std::string& y, const std::string& scope) {
  g.node("Sigmoid", {x}, {y + ".sigmoid"}, scope);
  g.node("Mul", {x, y + ".sigmoid"}, {y}, scope);
}

// stem (Conv, BN, SiLU) -> squeeze-and-excitation -> head (Conv, BN), shaped like torchvision's
// EfficientNet modules.
TinyGraph conv_se_model() {
  TinyGraph g;
  g.input("x", {1, 4, 8, 8}).output("y");
  g.initializer("w0", at::randn({8, 4, 1, 1}));
  for (const char* name : {"scale", "bias", "mean"}) g.initializer(name, at::randn({8}));
  g.initializer("var", at::rand({8}) + 1);
  g.initializer("w1", at::randn({2, 8, 1, 1})).initializer("b1", at::randn({2}));
  g.initializer("w2", at::randn({8, 2, 1, 1})).initializer("b2", at::randn({8}));
  g.initializer("w3", at::randn({8, 8, 1, 1}));
  g.node("Conv", {"x", "w0"}, {"c"}, "stem.0");
  g.node("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, {"n"}, "stem.1");
  silu(g, "n", "a", "stem.2");
  g.node("GlobalAveragePool", {"a"}, {"p"}, "se.avgpool");
  g.node("Conv", {"p", "w1", "b1"}, {"f1"}, "se.fc1");
  silu(g, "f1", "f1a", "se.activation");
  g.node("Conv", {"f1a", "w2", "b2"}, {"f2"}, "se.fc2");
  g.node("Sigmoid", {"f2"}, {"gate"}, "se.scale_activation");
  g.node("Mul", {"a", "gate"}, {"s"}, "se");
  g.node("Conv", {"s", "w3"}, {"h"}, "head.0");
  g.node("BatchNormalization", {"h", "scale", "bias", "mean", "var"}, {"y"}, "head.1");
  htp::tagging::set_model_metadata(g.model(), "htp.modules", R"({
    "": {"class": "Net", "parent": null},
    "stem": {"class": "Conv2dNormActivation", "parent": ""},
    "stem.0": {"class": "Conv2d", "parent": "stem"},
    "stem.1": {"class": "BatchNorm2d", "parent": "stem"},
    "stem.2": {"class": "SiLU", "parent": "stem"},
    "se": {"class": "SqueezeExcitation", "parent": ""},
    "se.avgpool": {"class": "AdaptiveAvgPool2d", "parent": "se"},
    "se.fc1": {"class": "Conv2d", "parent": "se"},
    "se.activation": {"class": "SiLU", "parent": "se"},
    "se.fc2": {"class": "Conv2d", "parent": "se"},
    "se.scale_activation": {"class": "Sigmoid", "parent": "se"},
    "head": {"class": "Conv2dNormActivation", "parent": ""},
    "head.0": {"class": "Conv2d", "parent": "head"},
    "head.1": {"class": "BatchNorm2d", "parent": "head"}})");
  return g;
}

const Strings kDefaultPatterns = {"Conv_BatchNormalization_SiLU", "GlobalAveragePool_Conv_SiLU_Conv_Sigmoid_Mul",
                                  "Conv_BatchNormalization"};

TEST(Partition, SiluIsOneOpAndUnitsAreTheInnermostNonLeafModules) {
  TinyGraph g = conv_se_model();
  const Partition result = partition(g.model());
  EXPECT_EQ(op_names(result), (Strings{"Conv", "BatchNormalization", "SiLU", "GlobalAveragePool", "Conv", "SiLU", "Conv",
                                       "Sigmoid", "Mul", "Conv", "BatchNormalization"}));
  EXPECT_EQ(result.ops[2].nodes.size(), 2u);
  EXPECT_EQ(patterns(result), kDefaultPatterns);
  EXPECT_EQ(result.subgraphs[0].unit, "stem");
  EXPECT_EQ(result.subgraphs[1].unit, "se");
  EXPECT_EQ(result.subgraphs[2].unit, "head");
  EXPECT_TRUE(result.subgraphs[1].se_block);
  EXPECT_FALSE(result.subgraphs[0].se_block);
}

TEST(Partition, SigmoidAndMulAreNoSiluAcrossScopesOrWhenTheSigmoidIsReadElsewhere) {
  TinyGraph g;
  g.input("x", {1, 4}).output("y").output("z");
  g.node("Sigmoid", {"x"}, {"s"}, "act");
  g.node("Mul", {"x", "s"}, {"y"}, "other");  // another scope
  g.node("Sigmoid", {"y"}, {"t"}, "act2");
  g.node("Mul", {"y", "t"}, {"u"}, "act2");
  g.node("Add", {"u", "t"}, {"z"}, "act2");  // the gate is read twice
  htp::tagging::set_model_metadata(g.model(), "htp.modules", R"({"": {"class": "Net", "parent": null},
    "act": {"class": "SiLU", "parent": ""}, "other": {"class": "Other", "parent": ""}, "act2": {"class": "X", "parent": ""}})");
  EXPECT_EQ(op_names(partition(g.model())), (Strings{"Sigmoid", "Mul", "Sigmoid", "Mul", "Add"}));
}

TEST(Partition, UnitDepthAndClassesMoveTheBoundaries) {
  TinyGraph g = conv_se_model();
  FusionUnit root{FusionUnit::Kind::kDepth, 0, {}};
  // The stem's output feeds both the pool and the gate's Mul, so it ends a subgraph even in one unit.
  const Strings one_unit = {"Conv_BatchNormalization_SiLU", "GlobalAveragePool_Conv_SiLU_Conv_Sigmoid_Mul_Conv_BatchNormalization"};
  EXPECT_EQ(patterns(partition(g.model(), root)), one_unit);
  EXPECT_FALSE(partition(g.model(), root).subgraphs[1].se_block);
  EXPECT_EQ(patterns(partition(g.model(), {FusionUnit::Kind::kDepth, 1, {}})), kDefaultPatterns);
  // At depth 2 every leaf module is its own unit; only the gate's Mul sits at depth 1.
  EXPECT_EQ(partition(g.model(), {FusionUnit::Kind::kDepth, 2, {}}).subgraphs.size(), 11u);
  EXPECT_EQ(patterns(partition(g.model(), {FusionUnit::Kind::kClasses, 0, {"Net"}})), one_unit);
  const Partition se_only = partition(g.model(), {FusionUnit::Kind::kClasses, 0, {"SqueezeExcitation"}});
  EXPECT_EQ(patterns(se_only), kDefaultPatterns);
  EXPECT_EQ(se_only.subgraphs[0].unit, "");
  EXPECT_EQ(se_only.subgraphs[1].unit, "se");
}

TEST(Partition, SeBlockBytesAreCountedOnceAtTheBoundaryAndFusedAwayInside) {
  TinyGraph g = conv_se_model();
  const Partition result = partition(g.model());
  const auto& se = result.subgraphs[1];
  // In: a (1x8x8x8 floats), w1 (2x8), b1 (2), w2 (8x2), b2 (8); out: s (1x8x8x8).
  EXPECT_EQ(se.external_bytes, 4 * (512 + 16 + 2 + 16 + 8 + 512));
  // Written once and read once each: p (8 floats), the SiLU's sigmoid (2) and output f1a (2), f2 (8),
  // gate (8); f1 (2) is read by both the Sigmoid and the Mul of the SiLU.
  EXPECT_EQ(se.fused_away_bytes, 4 * (2 * 8 + 2 * 2 + 2 * 2 + 2 * 8 + 2 * 8 + 3 * 2));
  EXPECT_TRUE(se.costs_known);
  EXPECT_GT(se.flops, 0);
  EXPECT_DOUBLE_EQ(se.intensity, se.flops / se.external_bytes);
}

TinyGraph attention_model(const std::string& softmax_scope) {
  TinyGraph g;
  g.input("q", {1, 2, 4, 8}).input("kt", {1, 2, 8, 4}).input("v", {1, 2, 4, 8}).input("mask", {1, 1, 1, 4}).output("o");
  g.initializer("scale", at::full({}, 2.0));
  g.node("MatMul", {"q", "kt"}, {"scores"}, "attn");
  g.node("Div", {"scores", "scale"}, {"scaled"}, "attn");
  g.node("Add", {"scaled", "mask"}, {"masked"}, "attn");
  g.node("Softmax", {"masked"}, {"probs"}, softmax_scope);
  g.node("MatMul", {"probs", "v"}, {"o"}, "attn");
  htp::tagging::set_model_metadata(g.model(), "htp.modules", R"({"": {"class": "Net", "parent": null},
    "attn": {"class": "SelfAttention", "parent": ""}, "attn.query": {"class": "Linear", "parent": "attn"},
    "other": {"class": "Other", "parent": ""}, "other.x": {"class": "X", "parent": "other"}})");
  return g;
}

TEST(Partition, AttentionIsRecognisedInsideOneUnitOnly) {
  TinyGraph inside = attention_model("attn");
  const Partition fused = partition(inside.model());
  EXPECT_EQ(patterns(fused), (Strings{"MatMul_Div_Add_Softmax_MatMul"}));
  EXPECT_TRUE(fused.subgraphs[0].attention);
  EXPECT_EQ(htp::analysis::partition_summary(fused)["attention_blocks"], 1);

  TinyGraph split = attention_model("other");
  const Partition cut = partition(split.model());
  EXPECT_EQ(patterns(cut), (Strings{"MatMul_Div_Add", "Softmax", "MatMul"}));
  for (const auto& subgraph : cut.subgraphs) EXPECT_FALSE(subgraph.attention);
}

// Segment Anything's scores: viewed as a grid, relative-position biases added along each axis, viewed back.
TEST(Partition, AttentionWithDecomposedRelativePositionsIsRecognised) {
  TinyGraph g;
  g.input("q", {2, 4, 8}).input("kt", {2, 8, 4}).input("v", {2, 4, 8}).input("rel_h", {2, 2, 2, 2, 1}).input("rel_w", {2, 2, 2, 1, 2});
  g.output("o");
  g.initializer("grid", at::tensor({2, 2, 2, 2, 2}, at::kLong)).initializer("flat", at::tensor({2, 4, 4}, at::kLong));
  g.node("MatMul", {"q", "kt"}, {"scores"}, "attn");
  g.node("Reshape", {"scores", "grid"}, {"scores_grid"}, "attn");
  g.node("Add", {"scores_grid", "rel_h"}, {"with_h"}, "attn");
  g.node("Add", {"with_h", "rel_w"}, {"with_w"}, "attn");
  g.node("Reshape", {"with_w", "flat"}, {"biased"}, "attn");
  g.node("Softmax", {"biased"}, {"probs"}, "attn");
  g.node("MatMul", {"probs", "v"}, {"o"}, "attn");
  htp::tagging::set_model_metadata(g.model(), "htp.modules", R"({"": {"class": "Net", "parent": null},
    "attn": {"class": "Attention", "parent": ""}, "attn.qkv": {"class": "Linear", "parent": "attn"}})");
  const Partition fused = partition(g.model());
  ASSERT_EQ(fused.subgraphs.size(), 1u);
  EXPECT_TRUE(fused.subgraphs[0].attention);
}

TEST(Partition, SummaryAndRooflineClasses) {
  TinyGraph g = conv_se_model();
  const auto summary = htp::analysis::partition_summary(partition(g.model()));
  EXPECT_EQ(summary["ops"], 11);
  EXPECT_EQ(summary["subgraphs"], 3);
  EXPECT_DOUBLE_EQ(summary["fusion_efficiency"].get<double>(), 11.0 / 3);
  EXPECT_EQ(summary["single_op_subgraphs"], 0);
  EXPECT_EQ(summary["se_blocks"], 1);
  EXPECT_EQ(summary["conv_bn_silu_blocks"], 1);
  const double fused = summary["fused_away_bytes"].get<double>(), external = summary["external_bytes"].get<double>();
  EXPECT_DOUBLE_EQ(summary["memory_reduction"].get<double>(), fused / (fused + external));

  const auto& h100 = htp::analysis::device_profile("h100");
  EXPECT_EQ(htp::analysis::classify(h100.ridge(), h100), htp::analysis::Bottleneck::kComputeBound);
  EXPECT_EQ(htp::analysis::classify(0.6 * h100.ridge(), h100), htp::analysis::Bottleneck::kBalanced);
  EXPECT_EQ(htp::analysis::classify(0.2 * h100.ridge(), h100), htp::analysis::Bottleneck::kMemoryBound);
  EXPECT_EQ(htp::analysis::classify(0.05 * h100.ridge(), h100), htp::analysis::Bottleneck::kBandwidthBound);
  EXPECT_THROW(htp::analysis::device_profile("abacus"), htp::Error);
}

TEST(Partition, NeedsTheModuleHierarchy) {
  TinyGraph g;
  g.input("x", {2}).output("y");
  g.node("Relu", {"x"}, {"y"});
  EXPECT_THROW(partition(g.model()), htp::Error);
}

}  // namespace
