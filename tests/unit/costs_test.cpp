// Per-node costs (docs/costs.md): each formula on a tiny graph whose figures are worked out by hand
// in the comments, byte counts by element type and tensor kind, symbolic dims, and the total MACs of
// zoo exports against the published figures.
#include "convert/convert.h"
#include "tiny_graph.h"
#include "trace_zoo.h"

#include "htp/analysis/costs.h"
#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cctype>
#include <iomanip>
#include <iostream>
#include <string>

namespace {

using htp::analysis::compute_costs;
using htp::analysis::GraphCosts;
using htp::analysis::NodeCost;
using htp::test::TinyGraph;

// The cost of the graph's first node of `op_type`.
NodeCost cost_of(const GraphCosts& costs, const onnx::ModelProto& model, const std::string& op_type) {
  for (int i = 0; i < model.graph().node_size(); ++i) {
    if (model.graph().node(i).op_type() == op_type) return costs.nodes.at(i);
  }
  ADD_FAILURE() << "no " << op_type << " node";
  return {};
}

NodeCost single_node_cost(TinyGraph& graph, const std::string& op_type) {
  return cost_of(compute_costs(graph.model()), graph.model(), op_type);
}

at::Tensor zeros(at::IntArrayRef dims, at::ScalarType type = at::kFloat) { return at::zeros(dims, at::TensorOptions(type)); }

TEST(Costs, ConvCountsGroupedDilatedStridedPaddedWindows) {
  TinyGraph graph;
  graph.input("x", {1, 4, 9, 9}).initializer("w", zeros({6, 2, 3, 3})).initializer("b", zeros({6})).output("y");
  auto& conv = graph.node("Conv", {"x", "w", "b"}, {"y"});
  htp::test::int_attribute(conv, "group", 2);
  htp::test::ints_attribute(conv, "strides", {2, 2});
  htp::test::ints_attribute(conv, "dilations", {2, 2});
  htp::test::ints_attribute(conv, "pads", {1, 1, 1, 1});
  const NodeCost cost = single_node_cost(graph, "Conv");
  // Effective kernel 5, (9 + 2 - 5) / 2 + 1 = 4: y is [1, 6, 4, 4] = 96 elements, each over 4/2 channels x 3x3.
  EXPECT_TRUE(cost.known);
  EXPECT_EQ(cost.macs, 96 * 2 * 9);
  EXPECT_EQ(cost.flops, 2 * 96 * 2 * 9);
  EXPECT_EQ(cost.activation_bytes_read, 4 * 81 * 4);
  EXPECT_EQ(cost.weight_bytes_read, (6 * 2 * 9 + 6) * 4);
  EXPECT_EQ(cost.bytes_written, 96 * 4);
}

TEST(Costs, ConvOfAnyRankWithAutoPad) {
  TinyGraph graph;
  graph.input("x", {2, 3, 10}).initializer("w", zeros({4, 3, 3})).output("y");
  auto& conv = graph.node("Conv", {"x", "w"}, {"y"});
  htp::test::ints_attribute(conv, "strides", {2});
  auto* auto_pad = conv.add_attribute();
  auto_pad->set_name("auto_pad");
  auto_pad->set_type(onnx::AttributeProto::STRING);
  auto_pad->set_s("SAME_UPPER");
  // SAME_UPPER at stride 2: ceil(10 / 2) = 5, y is [2, 4, 5] = 40 elements over 3 channels x 3 taps.
  EXPECT_EQ(single_node_cost(graph, "Conv").macs, 40 * 3 * 3);

  TinyGraph volume;
  volume.input("x", {1, 2, 4, 5, 6}).initializer("w", zeros({3, 2, 1, 2, 3})).output("y");
  volume.node("Conv", {"x", "w"}, {"y"});
  // y is [1, 3, 4, 4, 4] = 192 elements over 2 channels x 1x2x3.
  EXPECT_EQ(single_node_cost(volume, "Conv").macs, 192 * 2 * 6);
}

TEST(Costs, ConvTransposeScattersEveryInputElement) {
  TinyGraph graph;
  graph.input("x", {1, 4, 3, 3}).initializer("w", zeros({4, 3, 2, 2})).output("y");
  auto& deconv = graph.node("ConvTranspose", {"x", "w"}, {"y"});
  htp::test::int_attribute(deconv, "group", 2);
  htp::test::ints_attribute(deconv, "strides", {2, 2});
  const NodeCost cost = single_node_cost(graph, "ConvTranspose");
  // 36 input elements, each times 3 output channels of its group x 2x2; y is [1, 6, 6, 6].
  EXPECT_EQ(cost.macs, 36 * 3 * 4);
  EXPECT_EQ(cost.flops, 2 * 36 * 3 * 4);
  EXPECT_EQ(cost.bytes_written, 216 * 4);
}

TEST(Costs, GemmFollowsTransposes) {
  TinyGraph graph;
  graph.input("a", {5, 3}).initializer("b", zeros({4, 5})).initializer("c", zeros({4})).output("y");
  auto& gemm = graph.node("Gemm", {"a", "b", "c"}, {"y"});
  htp::test::int_attribute(gemm, "transA", 1);
  htp::test::int_attribute(gemm, "transB", 1);
  const NodeCost cost = single_node_cost(graph, "Gemm");
  // A' is [3, 5], B' is [5, 4]: 3 x 4 outputs over 5.
  EXPECT_EQ(cost.macs, 3 * 4 * 5);
  EXPECT_EQ(cost.flops, 2 * 3 * 4 * 5);
  EXPECT_EQ(cost.weight_bytes_read, (20 + 4) * 4);
}

TEST(Costs, MatMulBroadcastsBatchesAndVectors) {
  TinyGraph batched;
  batched.input("a", {2, 1, 4, 3}).input("b", {5, 3, 6}).output("y");
  batched.node("MatMul", {"a", "b"}, {"y"});
  const NodeCost cost = single_node_cost(batched, "MatMul");
  // y is [2, 5, 4, 6] = 240 dot products of length 3; both operands are activations.
  EXPECT_EQ(cost.macs, 240 * 3);
  EXPECT_EQ(cost.activation_bytes_read, (24 + 90) * 4);
  EXPECT_EQ(cost.weight_bytes_read, 0);

  TinyGraph vector;
  vector.input("a", {3}).initializer("b", zeros({3, 6})).output("y");
  vector.node("MatMul", {"a", "b"}, {"y"});
  EXPECT_EQ(single_node_cost(vector, "MatMul").macs, 6 * 3);
}

TEST(Costs, PoolingCountsWindowsOrInputs) {
  TinyGraph windowed;
  windowed.input("x", {1, 2, 8, 8}).output("y");
  auto& pool = windowed.node("MaxPool", {"x"}, {"y"});
  htp::test::ints_attribute(pool, "kernel_shape", {3, 3});
  htp::test::ints_attribute(pool, "strides", {2, 2});
  htp::test::ints_attribute(pool, "pads", {1, 1, 1, 1});
  // (8 + 2 - 3) / 2 + 1 = 4: 2 x 4 x 4 windows of 9.
  const NodeCost max = single_node_cost(windowed, "MaxPool");
  EXPECT_EQ(max.macs, 0);
  EXPECT_EQ(max.flops, 32 * 9);

  TinyGraph average;
  average.input("x", {1, 2, 7}).output("y");
  auto& average_pool = average.node("AveragePool", {"x"}, {"y"});
  htp::test::ints_attribute(average_pool, "kernel_shape", {2});
  htp::test::int_attribute(average_pool, "ceil_mode", 1);
  htp::test::ints_attribute(average_pool, "strides", {2});
  // ceil((7 - 2) / 2) + 1 = 4 windows of 2 per channel.
  EXPECT_EQ(single_node_cost(average, "AveragePool").flops, 2 * 4 * 2);

  TinyGraph global;
  global.input("x", {1, 3, 4, 5}).output("y");
  global.node("GlobalAveragePool", {"x"}, {"y"});
  const NodeCost gap = single_node_cost(global, "GlobalAveragePool");
  EXPECT_EQ(gap.flops, 60);
  EXPECT_EQ(gap.bytes_written, 3 * 4);
}

TEST(Costs, Normalizations) {
  TinyGraph batch_norm;
  batch_norm.input("x", {2, 3, 4}).output("y");
  for (const char* name : {"scale", "bias", "mean", "var"}) batch_norm.initializer(name, zeros({3}));
  batch_norm.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"});
  const NodeCost bn = single_node_cost(batch_norm, "BatchNormalization");
  EXPECT_EQ(bn.flops, 2 * 24);
  EXPECT_EQ(bn.weight_bytes_read, 4 * 3 * 4);

  TinyGraph layer_norm;
  layer_norm.input("x", {2, 3, 4}).initializer("scale", zeros({4})).initializer("bias", zeros({4})).output("y").output("z");
  layer_norm.node("LayerNormalization", {"x", "scale", "bias"}, {"y"});
  layer_norm.node("LayerNormalization", {"x", "scale"}, {"z"});
  const onnx::ModelProto& model = layer_norm.model();
  const GraphCosts costs = compute_costs(model);
  EXPECT_EQ(costs.nodes[0].flops, 24 * 7);
  EXPECT_EQ(costs.nodes[1].flops, 24 * 6);
}

TEST(Costs, SoftmaxElementwiseAndReductions) {
  TinyGraph graph;
  graph.input("x", {2, 5}).input("p", {3, 1}).input("q", {1, 4}).input("r", {1, 4});
  for (const char* name : {"s", "sum", "variadic", "sig", "mean", "reshaped"}) graph.output(name);
  graph.node("Softmax", {"x"}, {"s"});
  graph.node("Add", {"p", "q"}, {"sum"});
  graph.node("Sum", {"p", "q", "r"}, {"variadic"});
  graph.node("Sigmoid", {"x"}, {"sig"});
  graph.node("ReduceMean", {"x"}, {"mean"});
  graph.initializer("shape", at::tensor(std::vector<int64_t>{5, 2}));
  graph.node("Reshape", {"x", "shape"}, {"reshaped"});
  const GraphCosts costs = compute_costs(graph.model());
  EXPECT_EQ(costs.nodes[0].flops, 5 * 10);
  EXPECT_EQ(costs.nodes[1].flops, 12);      // broadcast [3, 1] + [1, 4] = [3, 4]
  EXPECT_EQ(costs.nodes[2].flops, 2 * 12);  // two additions per output element
  EXPECT_EQ(costs.nodes[3].flops, 10);
  EXPECT_EQ(costs.nodes[4].flops, 10);  // every input element once
  EXPECT_EQ(costs.nodes[4].bytes_written, 4);
  const NodeCost& reshape = costs.nodes[5];
  EXPECT_EQ(reshape.flops, 0);
  EXPECT_EQ(reshape.activation_bytes_read, 40);
  EXPECT_EQ(reshape.weight_bytes_read, 16);
  EXPECT_EQ(reshape.bytes_written, 40);
  EXPECT_EQ(costs.total_macs(), 0);
  EXPECT_EQ(costs.total_flops(), 50 + 12 + 24 + 10 + 10);
}

TEST(Costs, BytesFollowElementTypesAndTensorKinds) {
  TinyGraph graph;
  graph.input("h", {2, 8}, onnx::TensorProto::FLOAT16).input("i", {3}, onnx::TensorProto::INT64);
  graph.output("square", onnx::TensorProto::FLOAT16).output("cast", onnx::TensorProto::INT8);
  graph.output("shape", onnx::TensorProto::INT64).output("scaled", onnx::TensorProto::FLOAT16);
  graph.node("Mul", {"h", "h"}, {"square"});
  auto& cast = graph.node("Cast", {"i"}, {"cast"});
  htp::test::int_attribute(cast, "to", onnx::TensorProto::INT8);
  graph.node("Shape", {"h"}, {"shape"});
  graph.constant("k", zeros({2, 8}, at::kHalf));
  graph.node("Mul", {"h", "k"}, {"scaled"});
  const GraphCosts costs = compute_costs(graph.model());
  const NodeCost& square = costs.nodes[0];
  EXPECT_EQ(square.activation_bytes_read, 16 * 2);  // h read once
  EXPECT_EQ(square.bytes_written, 16 * 2);
  EXPECT_EQ(costs.nodes[1].activation_bytes_read, 3 * 8);
  EXPECT_EQ(costs.nodes[1].bytes_written, 3);
  EXPECT_EQ(costs.nodes[2].activation_bytes_read, 0);  // only h's shape
  EXPECT_EQ(costs.nodes[2].bytes_written, 2 * 8);
  EXPECT_EQ(costs.nodes[3].bytes_written, 0);  // the Constant: its value is read where used
  EXPECT_EQ(costs.nodes[4].weight_bytes_read, 16 * 2);
  EXPECT_EQ(costs.nodes[4].activation_bytes_read, 16 * 2);
  EXPECT_EQ(costs.tensor_bytes.at("k"), 32);
  EXPECT_EQ(costs.tensor_bytes.at("cast"), 3);
  EXPECT_EQ(costs.tensor_bytes.at("i"), 24);
}

TEST(Costs, OpsWithoutFormulaCountBytesOnly) {
  TinyGraph graph;
  graph.input("x", {2, 3}).output("y");
  graph.node("Hardmax", {"x"}, {"y"});
  const NodeCost cost = single_node_cost(graph, "Hardmax");
  EXPECT_TRUE(cost.known);
  EXPECT_EQ(cost.flops, 0);
  EXPECT_EQ(cost.activation_bytes_read, 24);
  EXPECT_EQ(cost.bytes_written, 24);
}

TEST(Costs, SymbolicDimsTakeTheGivenValues) {
  TinyGraph graph;
  graph.input("a", {-1, 4}).initializer("b", zeros({4, 6})).output("y");  // dim 0 is "d0"
  graph.node("MatMul", {"a", "b"}, {"y"});
  const NodeCost unknown = single_node_cost(graph, "MatMul");
  EXPECT_FALSE(unknown.known);
  EXPECT_EQ(unknown.macs, 0);
  EXPECT_EQ(unknown.weight_bytes_read, 0);
  const GraphCosts bound = compute_costs(graph.model(), {{"d0", 3}});
  EXPECT_TRUE(bound.nodes[0].known);
  EXPECT_EQ(bound.nodes[0].macs, 3 * 6 * 4);
  EXPECT_EQ(bound.tensor_bytes.at("y"), 3 * 6 * 4);
}

// Range's shape inference reads only initializer values: the sequence length that data propagation
// computes from Shape must reach it as one.
TEST(Costs, ShapeArithmeticFeedsRange) {
  TinyGraph graph;
  graph.input("x", {1, -1}).output("y");  // dim 1 is "d1"
  graph.initializer("one", at::tensor(std::vector<int64_t>{1}).reshape({})).initializer("zero", at::zeros({}, at::kLong));
  graph.node("Shape", {"x"}, {"shape"});
  graph.node("Gather", {"shape", "one"}, {"length"});
  graph.node("Range", {"zero", "length", "one"}, {"positions"});
  auto& cast = graph.node("Cast", {"positions"}, {"float_positions"});
  htp::test::int_attribute(cast, "to", onnx::TensorProto::FLOAT);
  graph.node("Add", {"x", "float_positions"}, {"y"});
  const GraphCosts costs = compute_costs(graph.model(), {{"d1", 5}});
  for (const auto& cost : costs.nodes) EXPECT_TRUE(cost.known);
  EXPECT_EQ(costs.tensor_bytes.at("positions"), 5 * 8);
  EXPECT_EQ(costs.nodes[4].flops, 5);
}

// Exports declare IR 10 (newer than libonnx's) once tagged, and none before.
TEST(Costs, AnyDeclaredIrVersion) {
  for (int64_t ir_version : {0, 10}) {
    TinyGraph graph;
    graph.input("a", {2, 4}).initializer("b", zeros({4, 3})).output("y");
    graph.node("MatMul", {"a", "b"}, {"y"});
    graph.model().set_ir_version(ir_version);
    EXPECT_EQ(single_node_cost(graph, "MatMul").macs, 2 * 3 * 4) << "IR " << ir_version;
  }
}

struct ZooCosts {
  onnx::ModelProto model;
  GraphCosts costs;
};

// A zoo export and its costs at its default size (224x224 for these), batch 1.
ZooCosts zoo_costs(const std::string& name) {
  torch::manual_seed(0);
  const auto model = htp::zoo::make_model(name);
  std::vector<at::Tensor> inputs;
  for (const auto& spec : model.inputs) inputs.push_back(spec.example ? spec.example(spec.shape) : torch::randn(spec.shape));
  const auto traced = htp::exporter::trace_zoo_model(model, inputs);
  ZooCosts result{htp::exporter::convert_to_onnx(traced, htp::exporter::TracedWeights::kReleased), {}};
  result.costs = compute_costs(result.model, {{"batch", 1}});
  for (size_t i = 0; i < result.costs.nodes.size(); ++i) EXPECT_TRUE(result.costs.nodes[i].known) << name << " node " << i;
  return result;
}

// The worked example of docs/costs.md.
TEST(Costs, ResNet50StemByHand) {
  const ZooCosts resnet = zoo_costs("resnet50");
  const onnx::NodeProto& stem = resnet.model.graph().node(0);
  ASSERT_EQ(stem.op_type(), "Conv");
  ASSERT_EQ(stem.input(1), "conv1.weight");
  const NodeCost& cost = resnet.costs.nodes[0];
  EXPECT_EQ(cost.macs, 118013952);
  EXPECT_EQ(cost.flops, 236027904);
  EXPECT_EQ(cost.activation_bytes_read, 602112);
  EXPECT_EQ(cost.weight_bytes_read, 37632);
  EXPECT_EQ(cost.bytes_written, 3211264);
}

struct Published {
  const char* model;
  double gmacs;
  double exact_macs = 0;  // worked out by hand in docs/costs.md, when it is
};

class PublishedMacs : public testing::TestWithParam<Published> {};

TEST_P(PublishedMacs, WithinTwoPercent) {
  const GraphCosts costs = zoo_costs(GetParam().model).costs;
  const double gmacs = costs.total_macs() / 1e9;
  std::cout << GetParam().model << ": " << std::fixed << std::setprecision(4) << gmacs << " GMACs ("
            << std::setprecision(0) << costs.total_macs() << "), " << std::setprecision(4) << costs.total_flops() / 1e9
            << " GFLOPs\n";
  EXPECT_NEAR(gmacs, GetParam().gmacs, 0.02 * GetParam().gmacs) << GetParam().model;
  if (GetParam().exact_macs > 0) EXPECT_EQ(costs.total_macs(), GetParam().exact_macs);
}

INSTANTIATE_TEST_SUITE_P(Zoo, PublishedMacs,
                         testing::Values(Published{"resnet50", 4.09}, Published{"efficientnet_b0", 0.39},
                                         Published{"mobilenet_v2", 0.30}, Published{"vit-base", 17.6, 17563650048},
                                         Published{"yolov8n", 4.35}),
                         [](const testing::TestParamInfo<Published>& info) {
                           std::string name;
                           for (const char* c = info.param.model; *c != '\0'; ++c) {
                             if (std::isalnum(static_cast<unsigned char>(*c))) name += *c;
                           }
                           return name;
                         });

}  // namespace
