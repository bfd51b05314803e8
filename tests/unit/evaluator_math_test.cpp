// The evaluator's elementwise, logic, activation and reduction ops against hand-computed values.
#include "evaluator_test_util.h"
#include "htp/onnxio/error.h"

#include <cmath>

namespace htp::test {
namespace {

TEST(EvaluatorElementwise, BroadcastingArithmetic) {
  at::Tensor a = floats({1, 2, 3}, {1, 3});
  at::Tensor b = floats({10, 20}, {2, 1});
  expect_tensor(eval1(NodeBuilder("Add", 2), {a, b}), floats({11, 12, 13, 21, 22, 23}, {2, 3}));
  expect_tensor(eval1(NodeBuilder("Sub", 2), {a, b}), floats({-9, -8, -7, -19, -18, -17}, {2, 3}));
  expect_tensor(eval1(NodeBuilder("Mul", 2), {a, floats({2})}), floats({2, 4, 6}, {1, 3}));
  expect_tensor(eval1(NodeBuilder("Div", 2), {a, floats({4})}), floats({0.25f, 0.5f, 0.75f}, {1, 3}));
  EXPECT_THROW(eval1(NodeBuilder("Add", 2), {floats({1, 2}), floats({1, 2, 3})}), Error);
}

TEST(EvaluatorElementwise, IntegerDivisionTruncatesModFollowsDivisor) {
  at::Tensor a = longs({7, -7, 7, -7});
  at::Tensor b = longs({2, 2, -2, -2});
  expect_tensor(eval1(NodeBuilder("Div", 2), {a, b}), longs({3, -3, -3, 3}));
  expect_tensor(eval1(NodeBuilder("Mod", 2), {a, b}), longs({1, 1, -1, -1}));
  expect_tensor(eval1(NodeBuilder("Mod", 2).attr("fmod", int64_t{1}), {a, b}), longs({1, -1, 1, -1}));
  expect_tensor(eval1(NodeBuilder("Mod", 2).attr("fmod", int64_t{1}), {floats({-5.5f}), floats({2})}), floats({-1.5f}));
  at::Tensor int32 = eval1(NodeBuilder("Div", 2), {a.to(at::kInt), b.to(at::kInt)});
  EXPECT_EQ(int32.scalar_type(), at::kInt);
}

TEST(EvaluatorElementwise, PowKeepsTheBaseType) {
  expect_tensor(eval1(NodeBuilder("Pow", 2), {floats({2, 3}), longs({3})}), floats({8, 27}));
  expect_tensor(eval1(NodeBuilder("Pow", 2), {longs({2, 3}), floats({2})}), longs({4, 9}));
  expect_tensor(eval1(NodeBuilder("Pow", 2), {floats({4}), floats({0.5f})}), floats({2}));
}

TEST(EvaluatorElementwise, VariadicOps) {
  at::Tensor a = floats({1, 5});
  at::Tensor b = floats({3}, {1});
  at::Tensor c = floats({2, 2, 2, 2}, {2, 2});
  expect_tensor(eval1(NodeBuilder("Sum", 3), {a, b, c}), floats({6, 10, 6, 10}, {2, 2}));
  expect_tensor(eval1(NodeBuilder("Mean", 2), {a, b}), floats({2, 4}));
  expect_tensor(eval1(NodeBuilder("Max", 2), {a, b}), floats({3, 5}));
  expect_tensor(eval1(NodeBuilder("Min", 1), {a}), a);
  expect_tensor(eval1(NodeBuilder("Max", 2), {longs({1, 9}), longs({4})}), longs({4, 9}));
}

TEST(EvaluatorElementwise, UnaryMath) {
  at::Tensor x = floats({-1.5f, -0.5f, 0.5f, 2.5f});
  expect_tensor(eval1(NodeBuilder("Round", 1), {x}), floats({-2, -0, 0, 2}));  // halves to even
  expect_tensor(eval1(NodeBuilder("Floor", 1), {x}), floats({-2, -1, 0, 2}));
  expect_tensor(eval1(NodeBuilder("Ceil", 1), {x}), floats({-1, -0, 1, 3}));
  expect_tensor(eval1(NodeBuilder("Abs", 1), {longs({-3, 4})}), longs({3, 4}));
  expect_tensor(eval1(NodeBuilder("Neg", 1), {longs({-3, 4})}), longs({3, -4}));
  expect_tensor(eval1(NodeBuilder("Sign", 1), {x}), floats({-1, -1, 1, 1}));
  expect_tensor(eval1(NodeBuilder("Sqrt", 1), {floats({4, 9})}), floats({2, 3}));
  expect_tensor(eval1(NodeBuilder("Reciprocal", 1), {floats({4})}), floats({0.25f}));
  expect_tensor(eval1(NodeBuilder("Exp", 1), {floats({0, 1})}), floats({1, std::exp(1.0f)}));
  expect_tensor(eval1(NodeBuilder("Log", 1), {floats({1})}), floats({0}));
  expect_tensor(eval1(NodeBuilder("Erf", 1), {floats({0, 1})}), floats({0, 0.8427007929f}));
  expect_tensor(eval1(NodeBuilder("Sin", 1), {floats({0})}), floats({0}));
  expect_tensor(eval1(NodeBuilder("Cos", 1), {floats({0})}), floats({1}));
  EXPECT_THROW(eval1(NodeBuilder("Sqrt", 1), {longs({4})}), Error);
  expect_tensor(eval1(NodeBuilder("IsNaN", 1), {floats({NAN, 1})}), bools({1, 0}));
  expect_tensor(eval1(NodeBuilder("IsInf", 1).attr("detect_negative", int64_t{0}), {floats({INFINITY, -INFINITY, 0})}),
                bools({1, 0, 0}));
}

TEST(EvaluatorElementwise, HalfFloatsComputeInFloatAndStayHalf) {
  at::Tensor x = floats({1, 4}).to(at::kHalf);
  at::Tensor y = eval1(NodeBuilder("Sqrt", 1), {x});
  expect_tensor(y, floats({1, 2}).to(at::kHalf));
  expect_tensor(eval1(NodeBuilder("Add", 2), {x, x}), floats({2, 8}).to(at::kHalf));
}

TEST(EvaluatorLogic, ComparisonsAndBooleanOps) {
  at::Tensor a = longs({1, 2, 3});
  at::Tensor b = longs({2});
  expect_tensor(eval1(NodeBuilder("Equal", 2), {a, b}), bools({0, 1, 0}));
  expect_tensor(eval1(NodeBuilder("Less", 2), {a, b}), bools({1, 0, 0}));
  expect_tensor(eval1(NodeBuilder("LessOrEqual", 2), {a, b}), bools({1, 1, 0}));
  expect_tensor(eval1(NodeBuilder("Greater", 2), {a, b}), bools({0, 0, 1}));
  expect_tensor(eval1(NodeBuilder("GreaterOrEqual", 2), {a, b}), bools({0, 1, 1}));
  at::Tensor p = bools({1, 1, 0, 0});
  at::Tensor q = bools({1, 0, 1, 0});
  expect_tensor(eval1(NodeBuilder("And", 2), {p, q}), bools({1, 0, 0, 0}));
  expect_tensor(eval1(NodeBuilder("Or", 2), {p, q}), bools({1, 1, 1, 0}));
  expect_tensor(eval1(NodeBuilder("Xor", 2), {p, q}), bools({0, 1, 1, 0}));
  expect_tensor(eval1(NodeBuilder("Not", 1), {p}), bools({0, 0, 1, 1}));
  EXPECT_THROW(eval1(NodeBuilder("And", 2), {a, a}), Error);
  expect_tensor(eval1(NodeBuilder("BitwiseAnd", 2), {longs({6}), longs({3})}), longs({2}));
}

TEST(EvaluatorActivation, ActivationsWithAttributes) {
  at::Tensor x = floats({-2, 0, 3});
  expect_tensor(eval1(NodeBuilder("Relu", 1), {x}), floats({0, 0, 3}));
  expect_tensor(eval1(NodeBuilder("Relu", 1), {longs({-2, 5})}), longs({0, 5}));
  expect_tensor(eval1(NodeBuilder("LeakyRelu", 1), {x}), floats({-0.02f, 0, 3}));
  expect_tensor(eval1(NodeBuilder("LeakyRelu", 1).attr("alpha", 0.5), {x}), floats({-1, 0, 3}));
  expect_tensor(eval1(NodeBuilder("Elu", 1).attr("alpha", 2.0), {x}), floats({2 * (std::exp(-2.0f) - 1), 0, 3}));
  const float selu_alpha = 1.67326319217681884765625f, selu_gamma = 1.05070102214813232421875f;
  expect_tensor(eval1(NodeBuilder("Selu", 1), {x}), floats({selu_gamma * selu_alpha * (std::exp(-2.0f) - 1), 0, selu_gamma * 3}));
  expect_tensor(eval1(NodeBuilder("HardSigmoid", 1), {x}), floats({0.1f, 0.5f, 1}));
  expect_tensor(eval1(NodeBuilder("HardSwish", 1), {floats({-4, 1, 4})}), floats({0, 1 * (1.0f / 6 + 0.5f), 4}));
  expect_tensor(eval1(NodeBuilder("Sigmoid", 1), {floats({0})}), floats({0.5f}));
  expect_tensor(eval1(NodeBuilder("Tanh", 1), {floats({0})}), floats({0}));
  expect_tensor(eval1(NodeBuilder("Softplus", 1), {floats({0, 100, -100})}), floats({std::log(2.0f), 100, std::exp(-100.0f)}));
  expect_tensor(eval1(NodeBuilder("Softsign", 1), {floats({1, -3})}), floats({0.5f, -0.75f}));
  expect_tensor(eval1(NodeBuilder("ThresholdedRelu", 1), {floats({0.5f, 2})}), floats({0, 2}));
  expect_tensor(eval1(NodeBuilder("PRelu", 2), {floats({-1, -1, 2, 2}, {2, 2}), floats({0.5f, 0.25f})}),
                floats({-0.5f, -0.25f, 2, 2}, {2, 2}));
  expect_tensor(eval1(NodeBuilder("Gelu", 1), {floats({1})}, 20), floats({0.8413447461f}));
}

TEST(EvaluatorActivation, ClipWithOptionalBounds) {
  at::Tensor x = floats({-2, 0.5f, 3});
  expect_tensor(eval1(NodeBuilder("Clip", 3), {x, at::scalar_tensor(0.0f), at::scalar_tensor(1.0f)}), floats({0, 0.5f, 1}));
  expect_tensor(eval1(NodeBuilder("Clip", 3), {x, at::Tensor(), at::scalar_tensor(1.0f)}), floats({-2, 0.5f, 1}));
  expect_tensor(eval1(NodeBuilder("Clip", 1), {x}), x);
  expect_tensor(eval1(NodeBuilder("Clip", 3), {longs({-5, 5}), scalar(-1), scalar(1)}), longs({-1, 1}));
  // Opset 6: bounds are attributes.
  expect_tensor(eval1(NodeBuilder("Clip", 1).attr("min", -1.0).attr("max", 2.0), {x}, 6), floats({-1, 0.5f, 2}));
}

TEST(EvaluatorActivation, SoftmaxAxisSemanticsByOpset) {
  at::Tensor x = floats({0, 0, 0, std::log(3.0f)}, {2, 2});
  // Opset 13: along the last axis (default -1) only.
  expect_tensor(eval1(NodeBuilder("Softmax", 1), {x}, 13), floats({0.5f, 0.5f, 0.25f, 0.75f}, {2, 2}));
  expect_tensor(eval1(NodeBuilder("Softmax", 1).attr("axis", int64_t{0}), {x}, 13), floats({0.5f, 0.25f, 0.5f, 0.75f}, {2, 2}));
  // Opset 11, axis 0: the whole tensor is one row.
  expect_tensor(eval1(NodeBuilder("Softmax", 1).attr("axis", int64_t{0}), {x}, 11), floats({1, 1, 1, 3}, {2, 2}) / 6);
  expect_tensor(eval1(NodeBuilder("LogSoftmax", 1), {x}, 13), at::log(floats({0.5f, 0.5f, 0.25f, 0.75f}, {2, 2})));
  expect_tensor(eval1(NodeBuilder("Hardmax", 1), {floats({1, 3, 3, 0}, {1, 4})}, 13), floats({0, 1, 0, 0}, {1, 4}));
}

TEST(EvaluatorReduction, AxesKeepdimsAndNoop) {
  at::Tensor x = floats({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_tensor(eval1(NodeBuilder("ReduceSum", 2), {x, longs({1})}), floats({6, 15}, {2, 1}));
  expect_tensor(eval1(NodeBuilder("ReduceSum", 2).attr("keepdims", int64_t{0}), {x, longs({-2})}), floats({5, 7, 9}));
  expect_tensor(eval1(NodeBuilder("ReduceSum", 1).attr("keepdims", int64_t{0}), {x}), at::scalar_tensor(21.0f, at::kFloat));
  expect_tensor(eval1(NodeBuilder("ReduceSum", 2).attr("noop_with_empty_axes", int64_t{1}), {x, longs({}, {0})}), x);
  // Opset 13: the other reductions take axes as an attribute.
  NodeBuilder mean("ReduceMean", 1);
  mean.attr("axes", std::vector<int64_t>{1});
  expect_tensor(eval1(mean, {x}, 13), floats({2, 5}, {2, 1}));
  expect_tensor(eval1(NodeBuilder("ReduceMax", 1).attr("axes", std::vector<int64_t>{0}).attr("keepdims", int64_t{0}), {x}), floats({4, 5, 6}));
  expect_tensor(eval1(NodeBuilder("ReduceMin", 1), {x}), floats({1}, {1, 1}));
  expect_tensor(eval1(NodeBuilder("ReduceProd", 1).attr("axes", std::vector<int64_t>{0, 1}), {x}), floats({720}, {1, 1}));
  expect_tensor(eval1(NodeBuilder("ReduceL2", 1).attr("axes", std::vector<int64_t>{1}), {floats({3, 4}, {1, 2})}), floats({5}, {1, 1}));
  expect_tensor(eval1(NodeBuilder("ReduceL1", 1), {floats({-3, 4})}), floats({7}));
  expect_tensor(eval1(NodeBuilder("ReduceSumSquare", 1), {floats({-3, 4})}), floats({25}));
  expect_tensor(eval1(NodeBuilder("ReduceLogSumExp", 1), {floats({0, 0})}), floats({std::log(2.0f)}));
  // Opset 18: axes as an input for all of them.
  expect_tensor(eval1(NodeBuilder("ReduceMean", 2), {x, longs({0})}, 18), floats({2.5f, 3.5f, 4.5f}, {1, 3}));
  expect_tensor(eval1(NodeBuilder("ReduceSum", 2), {longs({1, 2, 3}).to(at::kInt), longs({0})}), longs({6}).to(at::kInt));
}

TEST(EvaluatorReduction, ArgMaxArgMinWithTies) {
  at::Tensor x = floats({1, 3, 3, 0, 0, 2}, {2, 3});
  expect_tensor(eval1(NodeBuilder("ArgMax", 1).attr("axis", int64_t{1}), {x}), longs({1, 2}, {2, 1}));
  expect_tensor(eval1(NodeBuilder("ArgMax", 1).attr("axis", int64_t{1}).attr("select_last_index", int64_t{1}), {x}),
                longs({2, 2}, {2, 1}));
  expect_tensor(eval1(NodeBuilder("ArgMin", 1).attr("axis", int64_t{-1}).attr("keepdims", int64_t{0}), {x}), longs({0, 0}));
  expect_tensor(eval1(NodeBuilder("ArgMin", 1).attr("axis", int64_t{-1}).attr("keepdims", int64_t{0}).attr("select_last_index", int64_t{1}), {x}),
                longs({0, 1}));
  expect_tensor(eval1(NodeBuilder("ArgMax", 1), {x}), longs({0, 0, 0}, {1, 3}));
}

}  // namespace
}  // namespace htp::test
