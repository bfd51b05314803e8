// The evaluator's matrix, convolution, pooling, normalization and resize ops against hand-computed
// values, and the graph runner.
#include "evaluator_test_util.h"
#include "htp/onnxio/error.h"
#include "htp/optimizer/tensor_proto.h"

#include <cmath>

namespace htp::test {
namespace {

at::Tensor image(int64_t channels, int64_t size) {
  return at::arange(channels * size * size, at::kFloat).reshape({1, channels, size, size});
}

TEST(EvaluatorLinear, MatMulGemmEinsum) {
  at::Tensor a = floats({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_tensor(eval1(NodeBuilder("MatMul", 2), {a, floats({1, 0, 2})}), floats({7, 16}));
  expect_tensor(eval1(NodeBuilder("MatMul", 2), {longs({1, 2}, {1, 2}), longs({3, 4}, {2, 1})}), longs({11}, {1, 1}));
  expect_tensor(eval1(NodeBuilder("MatMul", 2), {at::ones({2, 1, 2, 3}), at::ones({3, 3, 1})}), at::full({2, 3, 2, 1}, 3.0f));
  at::Tensor b = floats({1, 1, 1, 0, 0, 0}, {2, 3});  // B' = b^T
  NodeBuilder gemm("Gemm", 3);
  gemm.attr("transB", int64_t{1}).attr("alpha", 2.0).attr("beta", 0.5);
  expect_tensor(eval1(gemm, {a, b, floats({10, 20})}), floats({17, 10, 35, 10}, {2, 2}));
  expect_tensor(eval1(NodeBuilder("Gemm", 2).attr("transA", int64_t{1}), {a, floats({1, 1}, {2, 1})}), floats({5, 7, 9}, {3, 1}));
  EXPECT_THROW(eval1(NodeBuilder("Gemm", 2), {a, a}), Error);
  expect_tensor(eval1(NodeBuilder("Einsum", 2).attr("equation", "ij, jk -> ik"), {a, floats({1, 0, 2}, {3, 1})}), floats({7, 16}, {2, 1}));
  expect_tensor(eval1(NodeBuilder("Einsum", 1).attr("equation", "...ij->...ji"), {a.reshape({1, 2, 3})}), a.t().reshape({1, 3, 2}));
}

TEST(EvaluatorConvolution, PadsStridesGroupsDilations) {
  at::Tensor x = image(1, 3);  // 0..8
  at::Tensor w = at::ones({1, 1, 2, 2});
  expect_tensor(eval1(NodeBuilder("Conv", 3), {x, w, floats({1})}), floats({9, 13, 21, 25}, {1, 1, 2, 2}));
  expect_tensor(eval1(NodeBuilder("Conv", 2).attr("pads", std::vector<int64_t>{0, 0, 1, 1}), {x, w}),
                floats({8, 12, 7, 20, 24, 13, 13, 15, 8}, {1, 1, 3, 3}));
  expect_tensor(eval1(NodeBuilder("Conv", 2).attr("auto_pad", "SAME_UPPER"), {x, w}),
                floats({8, 12, 7, 20, 24, 13, 13, 15, 8}, {1, 1, 3, 3}));
  expect_tensor(eval1(NodeBuilder("Conv", 2).attr("auto_pad", "SAME_LOWER"), {x, w}),
                floats({0, 1, 3, 3, 8, 12, 9, 20, 24}, {1, 1, 3, 3}));
  NodeBuilder strided("Conv", 2);
  strided.attr("strides", std::vector<int64_t>{2, 2}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  expect_tensor(eval1(strided, {x, w}), floats({0, 3, 9, 24}, {1, 1, 2, 2}));
  expect_tensor(eval1(NodeBuilder("Conv", 2).attr("group", int64_t{2}), {floats({1, 2}, {1, 2, 1, 1}), floats({3, 4}, {2, 1, 1, 1})}),
                floats({3, 8}, {1, 2, 1, 1}));
  expect_tensor(eval1(NodeBuilder("Conv", 2).attr("dilations", std::vector<int64_t>{2}), {floats({1, 2, 3, 4}, {1, 1, 4}), floats({1, -1}, {1, 1, 2})}),
                floats({-2, -2}, {1, 1, 2}));
  EXPECT_THROW(eval1(NodeBuilder("Conv", 2), {image(2, 3), w}), Error);
}

TEST(EvaluatorConvolution, ConvTransposeStridesPadsOutputShape) {
  at::Tensor x = floats({1, 2, 3, 4}, {1, 1, 2, 2});
  at::Tensor w = at::ones({1, 1, 2, 2});
  expect_tensor(eval1(NodeBuilder("ConvTranspose", 2), {x, w}), floats({1, 3, 2, 4, 10, 6, 3, 7, 4}, {1, 1, 3, 3}));
  auto strided = [] { return NodeBuilder("ConvTranspose", 3).attr("strides", std::vector<int64_t>{2, 2}); };
  at::Tensor bias = floats({10});
  expect_tensor(eval1(strided(), {x, w, bias}), floats({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4}) + 10);
  expect_tensor(eval1(strided().attr("pads", std::vector<int64_t>{1, 1, 1, 1}), {x, w, bias}), x + 10);
  at::Tensor padded = eval1(strided().attr("output_padding", std::vector<int64_t>{1, 1}), {x, w, bias});
  ASSERT_EQ(padded.sizes(), (std::vector<int64_t>{1, 1, 5, 5}));
  expect_tensor(padded.select(2, 4), at::full({1, 1, 5}, 10.0f));
  // output_shape: the odd pad goes to the beginning (NOTSET) or the end (SAME_UPPER).
  expect_tensor(eval1(strided().attr("output_shape", std::vector<int64_t>{3, 3}), {x, w, bias}),
                floats({1, 2, 2, 3, 4, 4, 3, 4, 4}, {1, 1, 3, 3}) + 10);
  expect_tensor(eval1(strided().attr("output_shape", std::vector<int64_t>{3, 3}).attr("auto_pad", "SAME_UPPER"), {x, w, bias}),
                floats({1, 1, 2, 1, 1, 2, 3, 3, 4}, {1, 1, 3, 3}) + 10);
}

TEST(EvaluatorPooling, MaxPoolCeilModePadsAndIndices) {
  at::Tensor x = image(2, 3);  // channel 1 holds 9..17: flat indices equal values
  NodeBuilder ceil("MaxPool", 1, 2);
  ceil.attr("kernel_shape", std::vector<int64_t>{2, 2}).attr("strides", std::vector<int64_t>{2, 2}).attr("ceil_mode", int64_t{1});
  auto pooled = evaluate(ceil, {x});
  at::Tensor want = floats({4, 5, 7, 8, 13, 14, 16, 17}, {1, 2, 2, 2});
  expect_tensor(pooled[0], want);
  expect_tensor(pooled[1], want.to(at::kLong));
  NodeBuilder floor("MaxPool", 1);
  floor.attr("kernel_shape", std::vector<int64_t>{2, 2}).attr("strides", std::vector<int64_t>{2, 2});
  expect_tensor(eval1(floor, {x}), floats({4, 13}, {1, 2, 1, 1}));
  NodeBuilder padded("MaxPool", 1, 2);
  padded.attr("kernel_shape", std::vector<int64_t>{3, 3}).attr("strides", std::vector<int64_t>{2, 2}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto with_pads = evaluate(padded, {x});
  expect_tensor(with_pads[0], want);
  expect_tensor(with_pads[1], want.to(at::kLong));
  ceil.attr("storage_order", int64_t{1});
  expect_tensor(evaluate(ceil, {x})[1], longs({4, 7, 5, 8, 13, 16, 14, 17}, {1, 2, 2, 2}));
  NodeBuilder dilated("MaxPool", 1);
  dilated.attr("kernel_shape", std::vector<int64_t>{2}).attr("dilations", std::vector<int64_t>{2});
  expect_tensor(eval1(dilated, {floats({1, 5, 2, 4, 3}, {1, 1, 5})}), floats({2, 5, 3}, {1, 1, 3}));
}

TEST(EvaluatorPooling, AveragePoolCountsPadsNeverOverhang) {
  at::Tensor x = image(1, 3);
  auto pool = [](int64_t include_pad) {
    NodeBuilder node("AveragePool", 1);
    node.attr("kernel_shape", std::vector<int64_t>{2, 2}).attr("strides", std::vector<int64_t>{2, 2});
    node.attr("count_include_pad", include_pad);
    return node;
  };
  expect_tensor(eval1(pool(0).attr("pads", std::vector<int64_t>{0, 0, 1, 1}), {x}), floats({2, 3.5f, 6.5f, 8}, {1, 1, 2, 2}));
  expect_tensor(eval1(pool(1).attr("pads", std::vector<int64_t>{0, 0, 1, 1}), {x}), floats({2, 1.75f, 3.25f, 2}, {1, 1, 2, 2}));
  expect_tensor(eval1(pool(1).attr("ceil_mode", int64_t{1}), {x}), floats({2, 3.5f, 6.5f, 8}, {1, 1, 2, 2}));
  expect_tensor(eval1(pool(0), {x}), floats({2}, {1, 1, 1, 1}));
  expect_tensor(eval1(NodeBuilder("GlobalAveragePool", 1), {x}), floats({4}, {1, 1, 1, 1}));
  expect_tensor(eval1(NodeBuilder("GlobalMaxPool", 1), {image(2, 2)}), floats({3, 7}, {1, 2, 1, 1}));
}

TEST(EvaluatorNormalization, BatchLayerInstance) {
  NodeBuilder batch("BatchNormalization", 5);
  batch.attr("epsilon", 0.0);
  expect_tensor(eval1(batch, {floats({1, 2}, {1, 2, 1, 1}), floats({2, 3}), floats({0.5f, 1}), floats({1, 0}), floats({4, 1})}),
                floats({0.5f, 7}, {1, 2, 1, 1}));
  EXPECT_THROW(eval1(NodeBuilder("BatchNormalization", 5).attr("training_mode", int64_t{1}),
                     {floats({1, 2}, {1, 2, 1, 1}), floats({2, 3}), floats({0.5f, 1}), floats({1, 0}), floats({4, 1})}),
               Error);
  NodeBuilder layer("LayerNormalization", 3, 3);
  layer.attr("epsilon", 0.0);
  auto normalized = evaluate(layer, {floats({1, 2, 3, 4}, {1, 4}), at::ones({4}), at::zeros({4})});
  const float inv = 1 / std::sqrt(1.25f);
  expect_tensor(normalized[0], floats({-1.5f * inv, -0.5f * inv, 0.5f * inv, 1.5f * inv}, {1, 4}));
  expect_tensor(normalized[1], floats({2.5f}, {1, 1}));
  expect_tensor(normalized[2], floats({inv}, {1, 1}));
  NodeBuilder first_axis("LayerNormalization", 2);
  first_axis.attr("axis", int64_t{0}).attr("epsilon", 0.0);
  expect_tensor(eval1(first_axis, {floats({1, 3}, {2, 1}), floats({2, 2}, {2, 1})}), floats({-2, 2}, {2, 1}));
  NodeBuilder instance("InstanceNormalization", 3);
  instance.attr("epsilon", 0.0);
  expect_tensor(eval1(instance, {floats({1, 3}, {1, 1, 2}), floats({2}), floats({1})}), floats({-1, 3}, {1, 1, 2}));
}

TEST(EvaluatorResize, NearestLinearCubic) {
  at::Tensor x = floats({1, 2, 3, 4}, {1, 1, 2, 2});
  NodeBuilder nearest("Resize", 3);
  nearest.attr("coordinate_transformation_mode", "asymmetric").attr("nearest_mode", "floor");
  expect_tensor(eval1(nearest, {x, at::Tensor(), floats({1, 1, 2, 2})}),
                floats({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4}));
  auto by_sizes = [](NodeBuilder node, const at::Tensor& input, std::vector<int64_t> sizes) {
    return eval1(node, {input, at::Tensor(), at::Tensor(), longs(sizes)});
  };
  at::Tensor row = floats({1, 3}, {1, 2});
  expect_tensor(by_sizes(NodeBuilder("Resize", 4).attr("mode", "linear"), row, {1, 4}), floats({1, 1.5f, 2.5f, 3}, {1, 4}));
  expect_tensor(by_sizes(NodeBuilder("Resize", 4).attr("mode", "linear").attr("coordinate_transformation_mode", "align_corners"), row, {1, 3}),
                floats({1, 2, 3}, {1, 3}));
  expect_tensor(by_sizes(NodeBuilder("Resize", 4), row, {1, 4}), floats({1, 1, 3, 3}, {1, 4}));
  at::Tensor four = floats({1, 2, 3, 4}, {1, 4});
  expect_tensor(by_sizes(NodeBuilder("Resize", 4).attr("coordinate_transformation_mode", "asymmetric"), four, {1, 2}), floats({1, 3}, {1, 2}));
  expect_tensor(by_sizes(NodeBuilder("Resize", 4).attr("nearest_mode", "round_prefer_ceil"), four, {1, 2}), floats({2, 4}, {1, 2}));
  expect_tensor(by_sizes(NodeBuilder("Resize", 4), four, {1, 2}), floats({1, 3}, {1, 2}));
  // Cubic, a = -0.75: at a half-way point the taps weigh -3/32, 19/32, 19/32, -3/32.
  NodeBuilder cubic("Resize", 4);
  cubic.attr("mode", "cubic").attr("coordinate_transformation_mode", "asymmetric");
  at::Tensor squares = by_sizes(cubic, floats({0, 1, 4, 9}, {1, 4}), {1, 8});
  EXPECT_NEAR(squares[0][2].item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(squares[0][3].item<float>(), 2.125f, 1e-6);
  EXPECT_THROW(by_sizes(NodeBuilder("Resize", 4).attr("coordinate_transformation_mode", "tf_crop_and_resize"), row, {1, 4}), Error);
}

// A two-node graph: y = Relu(x + bias) and z = Shape(y), with bias an initializer.
onnx::ModelProto small_model() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->add_input()->set_name("x");
  auto* bias = graph->add_initializer();
  optimizer::to_tensor_proto(floats({1, -5}), *bias);
  bias->set_name("bias");
  auto* add = graph->add_node();
  add->set_op_type("Add");
  add->add_input("x");
  add->add_input("bias");
  add->add_output("sum");
  auto* relu = graph->add_node();
  relu->set_op_type("Relu");
  relu->add_input("sum");
  relu->add_output("y");
  auto* shape = graph->add_node();
  shape->set_op_type("Shape");
  shape->add_input("y");
  shape->add_output("z");
  graph->add_output()->set_name("y");
  graph->add_output()->set_name("z");
  return model;
}

TEST(GraphRunner, RunsNodesInOrder) {
  auto outputs = optimizer::run_graph(small_model(), {{"x", floats({2, 3})}});
  expect_tensor(outputs.at("y"), floats({3, 0}));
  expect_tensor(outputs.at("z"), longs({2}));
}

TEST(GraphRunner, ReportsMissingValuesAndInputs) {
  EXPECT_THROW(optimizer::run_graph(small_model(), {}), Error);
  EXPECT_THROW(optimizer::run_graph(small_model(), {{"x", floats({1, 1})}, {"w", floats({1})}}), Error);
  onnx::ModelProto broken = small_model();
  broken.mutable_graph()->mutable_node()->SwapElements(0, 1);
  try {
    optimizer::run_graph(broken, {{"x", floats({2, 3})}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'sum'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace htp::test
