// The evaluator's shape, layout, creation and indexing ops against hand-computed values.
#include "evaluator_test_util.h"
#include "htp/onnxio/error.h"
#include "htp/optimizer/tensor_proto.h"

namespace htp::test {
namespace {

at::Tensor iota(std::vector<int64_t> shape, at::ScalarType dtype = at::kFloat) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return at::arange(n, dtype).reshape(shape);
}

TEST(EvaluatorShape, ShapeWithStartEnd) {
  at::Tensor x = at::zeros({2, 3, 4, 5});
  expect_tensor(eval1(NodeBuilder("Shape", 1), {x}), longs({2, 3, 4, 5}));
  expect_tensor(eval1(NodeBuilder("Shape", 1).attr("start", int64_t{1}).attr("end", int64_t{-1}), {x}), longs({3, 4}));
  expect_tensor(eval1(NodeBuilder("Shape", 1).attr("start", int64_t{-10}).attr("end", int64_t{10}), {x}), longs({2, 3, 4, 5}));
  expect_tensor(eval1(NodeBuilder("Shape", 1).attr("start", int64_t{3}).attr("end", int64_t{1}), {x}), longs({}, {0}));
  expect_tensor(eval1(NodeBuilder("Size", 1), {x}), scalar(120));
}

TEST(EvaluatorShape, ReshapeCopiesZerosInfersMinusOne) {
  at::Tensor x = iota({2, 3, 4});
  expect_tensor(eval1(NodeBuilder("Reshape", 2), {x, longs({0, -1})}), iota({2, 12}));
  expect_tensor(eval1(NodeBuilder("Reshape", 2), {x, longs({-1, 0, 2})}), iota({4, 3, 2}));
  // allowzero: 0 is a real size; only valid for an empty input.
  at::Tensor empty = at::zeros({0, 3});
  expect_tensor(eval1(NodeBuilder("Reshape", 2).attr("allowzero", int64_t{1}), {empty, longs({3, 0})}), at::zeros({3, 0}));
  EXPECT_THROW(eval1(NodeBuilder("Reshape", 2), {x, longs({-1, -1})}), Error);
}

TEST(EvaluatorShape, FlattenSqueezeUnsqueeze) {
  at::Tensor x = iota({2, 3, 4});
  expect_tensor(eval1(NodeBuilder("Flatten", 1).attr("axis", int64_t{-1}), {x}), iota({6, 4}));
  expect_tensor(eval1(NodeBuilder("Flatten", 1).attr("axis", int64_t{0}), {x}), iota({1, 24}));
  at::Tensor ones = iota({1, 3, 1, 2});
  expect_tensor(eval1(NodeBuilder("Squeeze", 1), {ones}), iota({3, 2}));
  expect_tensor(eval1(NodeBuilder("Squeeze", 2), {ones, longs({-2})}), iota({1, 3, 2}));
  EXPECT_THROW(eval1(NodeBuilder("Squeeze", 2), {ones, longs({1})}), Error);
  // Opset 11: axes as an attribute.
  expect_tensor(eval1(NodeBuilder("Squeeze", 1).attr("axes", std::vector<int64_t>{0}), {ones}, 11), iota({3, 1, 2}));
  expect_tensor(eval1(NodeBuilder("Unsqueeze", 2), {iota({3, 2}), longs({0, -1})}), iota({1, 3, 2, 1}));
  expect_tensor(eval1(NodeBuilder("Unsqueeze", 2), {iota({3, 2}), longs({3, 1})}), iota({3, 1, 2, 1}));
  expect_tensor(eval1(NodeBuilder("Unsqueeze", 2), {at::scalar_tensor(5.0f, at::kFloat), longs({0})}), floats({5}));
}

TEST(EvaluatorShape, TransposeDefaultReverses) {
  at::Tensor x = iota({2, 3});
  expect_tensor(eval1(NodeBuilder("Transpose", 1), {x}), floats({0, 3, 1, 4, 2, 5}, {3, 2}));
  at::Tensor y = iota({2, 3, 4});
  expect_tensor(eval1(NodeBuilder("Transpose", 1).attr("perm", std::vector<int64_t>{1, 0, 2}), {y}), y.permute({1, 0, 2}).contiguous());
  EXPECT_THROW(eval1(NodeBuilder("Transpose", 1).attr("perm", std::vector<int64_t>{0, 0, 2}), {y}), Error);
}

TEST(EvaluatorShape, ConcatAndSplit) {
  expect_tensor(eval1(NodeBuilder("Concat", 3).attr("axis", int64_t{-1}), {longs({1, 2}, {1, 2}), longs({}, {1, 0}), longs({3}, {1, 1})}),
                longs({1, 2, 3}, {1, 3}));
  at::Tensor x = longs({1, 2, 3, 4, 5});
  auto parts = evaluate(NodeBuilder("Split", 2, 2), {x, longs({2, 3})});
  expect_tensor(parts[0], longs({1, 2}));
  expect_tensor(parts[1], longs({3, 4, 5}));
  // Without sizes: equal parts, the last one smaller (opset 18's num_outputs).
  auto thirds = evaluate(NodeBuilder("Split", 1, 3).attr("num_outputs", int64_t{3}), {x}, 18);
  expect_tensor(thirds[0], longs({1, 2}));
  expect_tensor(thirds[2], longs({5}));
  auto halves = evaluate(NodeBuilder("Split", 1, 2).attr("axis", int64_t{-1}), {longs({1, 2, 3, 4}, {1, 4})});
  expect_tensor(halves[1], longs({3, 4}, {1, 2}));
  EXPECT_THROW(evaluate(NodeBuilder("Split", 2, 2), {x, longs({2, 2})}), Error);
}

TEST(EvaluatorShape, SliceClampsAndStepsBackward) {
  at::Tensor x = longs({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto slice = [&](std::vector<int64_t> starts, std::vector<int64_t> ends, std::vector<int64_t> steps) {
    return eval1(NodeBuilder("Slice", 5), {x, longs(starts), longs(ends), longs({0}), longs(steps)});
  };
  expect_tensor(slice({2}, {5}, {1}), longs({2, 3, 4}));
  expect_tensor(slice({-3}, {INT64_MAX}, {1}), longs({7, 8, 9}));
  expect_tensor(slice({1}, {100}, {3}), longs({1, 4, 7}));
  expect_tensor(slice({-1}, {INT64_MIN}, {-1}), longs({9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  expect_tensor(slice({20}, {-20}, {-3}), longs({9, 6, 3, 0}));
  expect_tensor(slice({7}, {2}, {-2}), longs({7, 5, 3}));
  expect_tensor(slice({5}, {2}, {1}), longs({}, {0}));
  at::Tensor m = iota({3, 4}, at::kLong);
  expect_tensor(eval1(NodeBuilder("Slice", 4), {m, longs({1}), longs({-1}), longs({-1})}), longs({1, 2, 5, 6, 9, 10}, {3, 2}));
  // Default axes: the first len(starts) axes.
  expect_tensor(eval1(NodeBuilder("Slice", 3), {m, longs({1, 2}), longs({3, 4})}), longs({6, 7, 10, 11}, {2, 2}));
  EXPECT_THROW(slice({0}, {5}, {0}), Error);
}

TEST(EvaluatorShape, ExpandBroadcastsBothWays) {
  at::Tensor x = floats({1, 2, 3}, {3, 1});
  expect_tensor(eval1(NodeBuilder("Expand", 2), {x, longs({2, 1, 2})}), floats({1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, {2, 3, 2}));
  // A shorter or smaller target keeps the input's sizes.
  expect_tensor(eval1(NodeBuilder("Expand", 2), {x, longs({1})}), x);
  EXPECT_THROW(eval1(NodeBuilder("Expand", 2), {x, longs({2, 2})}), Error);
}

TEST(EvaluatorShape, TileRepeatsEachAxis) {
  expect_tensor(eval1(NodeBuilder("Tile", 2), {longs({1, 2}, {1, 2}), longs({2, 2})}), longs({1, 2, 1, 2, 1, 2, 1, 2}, {2, 4}));
}

TEST(EvaluatorShape, PadModes) {
  at::Tensor x = longs({1, 2, 3}, {1, 3});
  auto pad = [&](const char* mode, std::vector<int64_t> pads) {
    return eval1(NodeBuilder("Pad", 2).attr("mode", mode), {x, longs(pads)});
  };
  expect_tensor(pad("constant", {0, 2, 0, 1}), longs({0, 0, 1, 2, 3, 0}, {1, 6}));
  expect_tensor(pad("reflect", {0, 2, 0, 2}), longs({3, 2, 1, 2, 3, 2, 1}, {1, 7}));
  expect_tensor(pad("edge", {0, 2, 0, 1}), longs({1, 1, 1, 2, 3, 3}, {1, 6}));
  expect_tensor(pad("wrap", {0, 1, 0, 2}), longs({3, 1, 2, 3, 1, 2}, {1, 6}));
  // Negative pads crop; a constant value input; axes input (opset 18).
  expect_tensor(eval1(NodeBuilder("Pad", 3), {x, longs({0, -1, 0, 1}), scalar(7)}), longs({2, 3, 7}, {1, 3}));
  expect_tensor(eval1(NodeBuilder("Pad", 4), {x, longs({1, 1}), at::Tensor(), longs({-1})}, 18), longs({0, 1, 2, 3, 0}, {1, 5}));
}

TEST(EvaluatorShape, DepthToSpaceModes) {
  at::Tensor x = iota({1, 4, 1, 1});
  expect_tensor(eval1(NodeBuilder("DepthToSpace", 1).attr("blocksize", int64_t{2}), {x}), floats({0, 1, 2, 3}, {1, 1, 2, 2}));
  at::Tensor y = iota({1, 8, 1, 1});
  // DCR reads the block from the channel's outer part, CRD from its inner part.
  expect_tensor(eval1(NodeBuilder("DepthToSpace", 1).attr("blocksize", int64_t{2}), {y}), floats({0, 2, 4, 6, 1, 3, 5, 7}, {1, 2, 2, 2}));
  expect_tensor(eval1(NodeBuilder("DepthToSpace", 1).attr("blocksize", int64_t{2}).attr("mode", "CRD"), {y}), iota({1, 2, 2, 2}));
  at::Tensor space = iota({1, 1, 2, 2});
  expect_tensor(eval1(NodeBuilder("SpaceToDepth", 1).attr("blocksize", int64_t{2}), {space}), iota({1, 4, 1, 1}));
}

TEST(EvaluatorCreation, ConstantForms) {
  onnx::TensorProto value;
  optimizer::to_tensor_proto(longs({4, 5}), value);
  expect_tensor(eval1(NodeBuilder("Constant", 0).attr("value", value), {}), longs({4, 5}));
  expect_tensor(eval1(NodeBuilder("Constant", 0).attr("value_int", int64_t{3}), {}), scalar(3));
  expect_tensor(eval1(NodeBuilder("Constant", 0).attr("value_ints", std::vector<int64_t>{1, 2}), {}), longs({1, 2}));
  expect_tensor(eval1(NodeBuilder("Constant", 0).attr("value_float", 0.5), {}), at::scalar_tensor(0.5f, at::kFloat));
  EXPECT_THROW(eval1(NodeBuilder("Constant", 0).attr("value_string", "x"), {}), Error);
}

TEST(EvaluatorCreation, ConstantOfShapeDefaultsToFloatZero) {
  expect_tensor(eval1(NodeBuilder("ConstantOfShape", 1), {longs({2, 1})}), at::zeros({2, 1}));
  onnx::TensorProto value;
  optimizer::to_tensor_proto(longs({7}), value);
  expect_tensor(eval1(NodeBuilder("ConstantOfShape", 1).attr("value", value), {longs({3})}), longs({7, 7, 7}));
  expect_tensor(eval1(NodeBuilder("ConstantOfShape", 1), {longs({}, {0})}), at::zeros({}));
}

TEST(EvaluatorCreation, RangeCountsCeilOfSpan) {
  expect_tensor(eval1(NodeBuilder("Range", 3), {scalar(1), scalar(10), scalar(3)}), longs({1, 4, 7}));
  expect_tensor(eval1(NodeBuilder("Range", 3), {scalar(10), scalar(4), scalar(-2)}), longs({10, 8, 6}));
  expect_tensor(eval1(NodeBuilder("Range", 3), {scalar(4), scalar(10), scalar(-2)}), longs({}, {0}));
  auto f = [](float v) { return at::scalar_tensor(v, at::kFloat); };
  expect_tensor(eval1(NodeBuilder("Range", 3), {f(0), f(1), f(0.25f)}), floats({0, 0.25f, 0.5f, 0.75f}));
  at::Tensor int32 = eval1(NodeBuilder("Range", 3), {scalar(0).to(at::kInt), scalar(3).to(at::kInt), scalar(1).to(at::kInt)});
  expect_tensor(int32, longs({0, 1, 2}).to(at::kInt));
}

TEST(EvaluatorCreation, CastTruncatesAndCastLikeFollows) {
  at::Tensor x = floats({-1.7f, 0.0f, 2.9f});
  expect_tensor(eval1(NodeBuilder("Cast", 1).attr("to", int64_t{onnx::TensorProto::INT64}), {x}), longs({-1, 0, 2}));
  expect_tensor(eval1(NodeBuilder("Cast", 1).attr("to", int64_t{onnx::TensorProto::BOOL}), {x}),
                bools({1, 0, 1}));
  expect_tensor(eval1(NodeBuilder("Cast", 1).attr("to", int64_t{onnx::TensorProto::FLOAT16}), {x}), x.to(at::kHalf));
  expect_tensor(eval1(NodeBuilder("CastLike", 2), {longs({1, 2}), at::zeros({1}, at::kDouble)}), at::tensor({1.0, 2.0}, at::kDouble));
  EXPECT_THROW(eval1(NodeBuilder("Cast", 1).attr("to", int64_t{onnx::TensorProto::STRING}), {x}), Error);
}

TEST(EvaluatorCreation, EyeLikeAndOneHot) {
  expect_tensor(eval1(NodeBuilder("EyeLike", 1).attr("k", int64_t{1}), {at::zeros({2, 3})}), floats({0, 1, 0, 0, 0, 1}, {2, 3}));
  at::Tensor hot = eval1(NodeBuilder("OneHot", 3), {longs({0, -1, 5}), scalar(3), floats({0, 9})});
  expect_tensor(hot, floats({9, 0, 0, 0, 0, 9, 0, 0, 0}, {3, 3}));
  at::Tensor hot_axis0 = eval1(NodeBuilder("OneHot", 3).attr("axis", int64_t{0}), {longs({2, 0}), scalar(3), longs({0, 1})});
  expect_tensor(hot_axis0, longs({0, 1, 0, 0, 1, 0}, {3, 2}));
}

TEST(EvaluatorCreation, DropoutIsIdentityInInference) {
  at::Tensor x = floats({1, 2});
  auto outputs = evaluate(NodeBuilder("Dropout", 3, 2), {x, at::scalar_tensor(0.5f), at::scalar_tensor(false)});
  expect_tensor(outputs[0], x);
  expect_tensor(outputs[1], at::ones({2}, at::kBool));
  EXPECT_THROW(evaluate(NodeBuilder("Dropout", 3, 2), {x, at::scalar_tensor(0.5f), at::scalar_tensor(true)}), Error);
  EXPECT_FALSE(evaluate(NodeBuilder("Dropout", 1, 2).omit_output(1), {x})[1].defined());
}

TEST(EvaluatorIndexing, GatherWithNegativeAndScalarIndices) {
  at::Tensor x = iota({3, 2}, at::kLong);
  expect_tensor(eval1(NodeBuilder("Gather", 2), {x, longs({-1, 0})}), longs({4, 5, 0, 1}, {2, 2}));
  expect_tensor(eval1(NodeBuilder("Gather", 2), {x, scalar(1)}), longs({2, 3}));
  expect_tensor(eval1(NodeBuilder("Gather", 2).attr("axis", int64_t{1}), {x, longs({1, 1, 0}, {1, 3})}),
                longs({1, 1, 0, 3, 3, 2, 5, 5, 4}, {3, 1, 3}));
  EXPECT_THROW(eval1(NodeBuilder("Gather", 2), {x, longs({3})}), Error);
}

TEST(EvaluatorIndexing, GatherElementsAndGatherNd) {
  at::Tensor x = longs({1, 2, 3, 4}, {2, 2});
  expect_tensor(eval1(NodeBuilder("GatherElements", 2).attr("axis", int64_t{1}), {x, longs({0, 0, 1, -2}, {2, 2})}),
                longs({1, 1, 4, 3}, {2, 2}));
  expect_tensor(eval1(NodeBuilder("GatherND", 2), {x, longs({1, 0, 0, 1}, {2, 2})}), longs({3, 2}));
  expect_tensor(eval1(NodeBuilder("GatherND", 2), {x, longs({1}, {1, 1})}), longs({3, 4}, {1, 2}));
  at::Tensor batched = iota({2, 2, 2}, at::kLong);
  expect_tensor(eval1(NodeBuilder("GatherND", 2).attr("batch_dims", int64_t{1}), {batched, longs({1, 0}, {2, 1})}),
                longs({2, 3, 4, 5}, {2, 2}));
}

TEST(EvaluatorIndexing, ScatterNdAndElements) {
  at::Tensor x = longs({1, 2, 3, 4});
  expect_tensor(eval1(NodeBuilder("ScatterND", 3), {x, longs({3, 0}, {2, 1}), longs({9, 8})}), longs({8, 2, 3, 9}));
  expect_tensor(eval1(NodeBuilder("ScatterND", 3).attr("reduction", "add"), {x, longs({1, 1}, {2, 1}), longs({5, 5})}),
                longs({1, 12, 3, 4}));
  at::Tensor m = longs({0, 0, 0, 0}, {2, 2});
  expect_tensor(eval1(NodeBuilder("ScatterElements", 3).attr("axis", int64_t{1}), {m, longs({1, 0}, {2, 1}), longs({7, 6}, {2, 1})}),
                longs({0, 7, 6, 0}, {2, 2}));
  expect_tensor(eval1(NodeBuilder("ScatterElements", 3).attr("reduction", "mul"), {longs({2, 3}), longs({0, 0}), longs({4, 5})}),
                longs({40, 3}));
}

TEST(EvaluatorIndexing, WhereBroadcasts) {
  at::Tensor condition = bools({1, 0}).reshape({2, 1});
  expect_tensor(eval1(NodeBuilder("Where", 3), {condition, longs({1, 2, 3}), scalar(0)}), longs({1, 2, 3, 0, 0, 0}, {2, 3}));
}

TEST(EvaluatorIndexing, TopKKeepsLowerIndexOnTies) {
  at::Tensor x = floats({3, 1, 3, 2});
  auto largest = evaluate(NodeBuilder("TopK", 2, 2), {x, longs({3})});
  expect_tensor(largest[0], floats({3, 3, 2}));
  expect_tensor(largest[1], longs({0, 2, 3}));
  auto smallest = evaluate(NodeBuilder("TopK", 2, 2).attr("largest", int64_t{0}), {x, longs({2})});
  expect_tensor(smallest[0], floats({1, 2}));
  expect_tensor(smallest[1], longs({1, 3}));
}

TEST(EvaluatorIndexing, TriluAndCumSum) {
  at::Tensor m = longs({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  expect_tensor(eval1(NodeBuilder("Trilu", 2), {m, scalar(1)}), longs({0, 2, 3, 0, 0, 6, 0, 0, 0}, {3, 3}));
  expect_tensor(eval1(NodeBuilder("Trilu", 1).attr("upper", int64_t{0}), {m}), longs({1, 0, 0, 4, 5, 0, 7, 8, 9}, {3, 3}));
  at::Tensor x = longs({1, 2, 3});
  expect_tensor(eval1(NodeBuilder("CumSum", 2), {x, scalar(0)}), longs({1, 3, 6}));
  expect_tensor(eval1(NodeBuilder("CumSum", 2).attr("exclusive", int64_t{1}), {x, scalar(-1)}), longs({0, 1, 3}));
  expect_tensor(eval1(NodeBuilder("CumSum", 2).attr("reverse", int64_t{1}), {x, scalar(0)}), longs({6, 5, 3}));
  expect_tensor(eval1(NodeBuilder("CumSum", 2).attr("reverse", int64_t{1}).attr("exclusive", int64_t{1}), {x, scalar(0)}),
                longs({5, 3, 0}));
  at::Tensor int32 = x.to(at::kInt);
  expect_tensor(eval1(NodeBuilder("CumSum", 2), {int32, scalar(0)}), longs({1, 3, 6}).to(at::kInt));
}

TEST(EvaluatorIndexing, NonZeroListsCoordinates) {
  at::Tensor x = longs({0, 1, 2, 0}, {2, 2});
  expect_tensor(eval1(NodeBuilder("NonZero", 1), {x}), longs({0, 1, 1, 0}, {2, 2}));
}

TEST(EvaluatorRegistry, UnknownOpNamesNodeAndOp) {
  NodeBuilder node("NoSuchOp", 1);
  try {
    eval1(node, {at::zeros({1})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/test/NoSuchOp"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(NoSuchOp)"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(optimizer::can_evaluate(node.node()));
  onnx::NodeProto custom = NodeBuilder("Relu", 1).node();
  custom.set_domain("com.microsoft");
  EXPECT_FALSE(optimizer::can_evaluate(custom));
  EXPECT_THROW(optimizer::evaluate_node(custom, {at::zeros({1})}, 17), Error);
}

}  // namespace
}  // namespace htp::test
