// FoldConstants, FoldStaticShapes and FoldReshapeCopiedDims: graphs they must rewrite (same outputs in the ATen evaluator,
// tags kept on the nodes that remain) and graphs they must leave alone.
#include "allocation_cap.h"
#include "tiny_graph.h"
#include "user_error.h"

#include "htp/optimizer/optimize.h"

#include <gtest/gtest.h>

namespace htp::test {
namespace {

using Strings = std::vector<std::string>;

optimizer::OptimizeReport optimize_with(onnx::ModelProto& model, const Strings& passes) {
  optimizer::OptimizeOptions options;
  options.enabled = passes;
  return optimizer::optimize(model, options);
}

void expect_same_outputs(const onnx::ModelProto& a, const onnx::ModelProto& b, const std::map<std::string, at::Tensor>& inputs) {
  const auto want = run(a, inputs);
  const auto got = run(b, inputs);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, value] : want) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_EQ(got.at(name).sizes(), value.sizes()) << name;
    EXPECT_TRUE(at::equal(got.at(name), value)) << name;
  }
}

void expect_unchanged_by(const onnx::ModelProto& model, const std::string& pass) {
  onnx::ModelProto optimized = model;
  optimizer::OptimizeReport report = optimize_with(optimized, {pass});
  ASSERT_EQ(optimized.graph().node_size(), model.graph().node_size());
  for (int i = 0; i < model.graph().node_size(); ++i) {
    EXPECT_EQ(optimized.graph().node(i).SerializeAsString(), model.graph().node(i).SerializeAsString()) << "node " << i;
  }
  EXPECT_EQ(optimized.graph().initializer_size(), model.graph().initializer_size());
  ASSERT_EQ(report.passes.size(), 1u);
  EXPECT_EQ(report.passes[0].changed_runs, 0);
}

const onnx::TensorProto* initializer_named(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& tensor : model.graph().initializer()) {
    if (tensor.name() == name) return &tensor;
  }
  return nullptr;
}

std::string scope_of(const onnx::NodeProto& node) { return tagging::node_metadata(node, "htp.scope").value_or("<none>"); }

TEST(FoldConstants, EvaluatesConstantSubgraphsIntoInitializers) {
  TinyGraph g;
  g.input("x", {2, 3}).output("y");
  g.initializer("w", at::arange(6, at::kFloat).reshape({3, 2}));
  g.initializer("two", at::scalar_tensor(2.0f));
  g.constant("offset", at::ones({3}), "block");
  g.node("Transpose", {"w"}, {"w_t"}, "block.linear");
  g.node("Mul", {"w_t", "two"}, {"scaled"}, "block.linear");
  g.node("Add", {"scaled", "offset"}, {"bias"}, "block");
  g.node("Add", {"x", "bias"}, {"y"}, "block.out");
  onnx::ModelProto folded = g.model();
  optimizer::OptimizeReport report = optimize_with(folded, {"FoldConstants"});
  EXPECT_EQ(op_types(folded), (Strings{"Add"}));
  EXPECT_EQ(scope_of(folded.graph().node(0)), "block.out");
  // The fold reads the initializer named after the folded node's output.
  const std::string& bias = folded.graph().node(0).input(1);
  EXPECT_EQ(bias.rfind("bias", 0), 0u) << bias;
  const onnx::TensorProto* value = initializer_named(folded, bias);
  ASSERT_NE(value, nullptr);
  EXPECT_TRUE(at::equal(optimizer::from_tensor_proto(*value), at::tensor({1.0f, 5.0f, 9.0f, 3.0f, 7.0f, 11.0f}).reshape({2, 3})));
  EXPECT_EQ(report.passes[0].nodes_removed, 4);
  expect_same_outputs(g.model(), folded, {{"x", at::randn({2, 3})}});
}

TEST(FoldConstants, FoldsShapeChainsOnceTheirInputsAreConstant) {
  TinyGraph g;
  g.input("x", {-1, 6}).output("y");
  g.initializer("table", at::zeros({4, 3}));
  g.constant("zero", at::zeros({1}, at::kLong));
  g.node("Shape", {"table"}, {"table_shape"}, "head");
  g.node("Gather", {"table_shape", "zero"}, {"rows"}, "head");
  g.constant("rest", at::full({1}, -1, at::kLong), "head");
  g.node("Concat", {"rest", "rows"}, {"shape"}, "head");
  int_attribute(*g.graph().mutable_node(g.graph().node_size() - 1), "axis", 0);
  g.node("Reshape", {"x", "shape"}, {"y"}, "head");
  onnx::ModelProto folded = g.model();
  optimize_with(folded, {"FoldConstants"});
  EXPECT_EQ(op_types(folded), (Strings{"Reshape"}));
  expect_same_outputs(g.model(), folded, {{"x", at::randn({2, 6})}});
}

TEST(FoldConstants, LeavesRuntimeGrowingRandomAndInvalidNodesAlone) {
  TinyGraph g;
  g.input("x", {2}).input("overridable", {2});
  for (const char* output : {"y", "big_shape", "wide_shape", "noisy", "sum_x", "picked_x"}) g.output(output);
  g.output("out");
  g.initializer("overridable", at::ones({2}));
  g.initializer("k", at::ones({2}));
  g.initializer("huge_shape", at::tensor({4096, 4096}, at::kLong));
  g.initializer("scalar", at::ones({1}));
  g.initializer("out_of_range", at::tensor({5}, at::kLong));
  g.node("Add", {"x", "k"}, {"y"});
  // 64 MiB from 16 bytes: over the size rule.
  g.node("ConstantOfShape", {"huge_shape"}, {"big"});
  g.node("Shape", {"big"}, {"big_shape"});
  g.node("Expand", {"scalar", "huge_shape"}, {"wide"});
  g.node("Shape", {"wide"}, {"wide_shape"});
  g.node("RandomNormalLike", {"k"}, {"noise"});
  g.node("Add", {"noise", "x"}, {"noisy"});
  // An initializer that is also a graph input is only a default.
  g.node("Add", {"k", "overridable"}, {"sum"});
  g.node("Add", {"sum", "x"}, {"sum_x"});
  // The evaluator rejects it; the runtime will report it.
  g.node("Gather", {"k", "out_of_range"}, {"picked"});
  g.node("Add", {"picked", "x"}, {"picked_x"});
  // A graph output keeps its producer.
  g.node("Neg", {"k"}, {"out"});
  expect_unchanged_by(g.model(), "FoldConstants");
}

// No tensor above the fold limit is made: a 2 MiB Transpose folds by default and stays under a
// 1 MiB limit, as does a Constant of 2 MiB; the evaluation itself cannot allocate above the limit.
TEST(FoldConstants, MaterializesNothingAboveTheFoldLimit) {
  TinyGraph g;
  g.input("x", {1024, 512}).output("y").output("z");
  g.initializer("w", at::randn({512, 1024}));
  g.node("Transpose", {"w"}, {"w_t"});
  g.node("Add", {"x", "w_t"}, {"y"});
  g.constant("c", at::ones({1024, 512}));
  g.node("Add", {"x", "c"}, {"z"});
  onnx::ModelProto by_default = g.model();
  optimize_with(by_default, {"FoldConstants"});
  EXPECT_EQ(op_types(by_default), (Strings{"Add", "Add"}));

  onnx::ModelProto capped = g.model();
  optimizer::OptimizeOptions options;
  options.enabled = {"FoldConstants"};
  options.fold_limit = int64_t{1} << 20;
  optimizer::optimize(capped, options);
  EXPECT_EQ(op_types(capped), (Strings{"Transpose", "Add", "Constant", "Add"}));
  expect_same_outputs(g.model(), capped, {{"x", at::randn({1024, 512})}});

  {
    const optimizer::AllocationCap cap(int64_t{1} << 20);
    EXPECT_NO_THROW(at::empty({256, 1024}));
    EXPECT_EQ(user_error_of([] { at::empty({257, 1024}); }), "a tensor of 1052672 bytes exceeds the cap of 1048576 bytes");
    EXPECT_THROW(at::ones({1024}).expand({1024, 1024}).contiguous(), Error);  // temporaries too
  }
  EXPECT_NO_THROW(at::empty({1024, 1024}));  // the cap ends with its scope
}

TEST(FoldStaticShapes, FoldsKnownShapesAndTheChainsAfterThem) {
  TinyGraph g;
  g.input("x", {2, 3, 4}).output("y");
  g.node("Shape", {"x"}, {"shape"}, "flatten");
  g.constant("first", at::zeros({1}, at::kLong), "flatten");
  g.node("Gather", {"shape", "first"}, {"batch"}, "flatten");
  g.constant("rest", at::full({1}, -1, at::kLong), "flatten");
  g.node("Concat", {"batch", "rest"}, {"target"}, "flatten");
  int_attribute(*g.graph().mutable_node(g.graph().node_size() - 1), "axis", 0);
  g.node("Reshape", {"x", "target"}, {"y"}, "flatten");
  onnx::ModelProto shapes_only = g.model();
  optimize_with(shapes_only, {"FoldStaticShapes"});
  // Only the Shape: the Gather it fed is FoldConstants' job.
  EXPECT_EQ(op_types(shapes_only), (Strings{"Constant", "Gather", "Constant", "Concat", "Reshape"}));
  onnx::ModelProto folded = g.model();
  optimize_with(folded, {"FoldStaticShapes", "FoldConstants"});
  EXPECT_EQ(op_types(folded), (Strings{"Reshape"}));
  EXPECT_EQ(scope_of(folded.graph().node(0)), "flatten");
  expect_same_outputs(g.model(), folded, {{"x", at::randn({2, 3, 4})}});
}

TEST(FoldStaticShapes, FoldsOnlyTheKnownDimsOfADynamicShape) {
  TinyGraph g;
  g.input("x", {-1, 3, 4}).output("tail", onnx::TensorProto::INT64).output("last", onnx::TensorProto::INT64);
  g.output("batch", onnx::TensorProto::INT64);
  onnx::NodeProto& tail = g.node("Shape", {"x"}, {"tail"});
  int_attribute(tail, "start", 1);
  g.node("Shape", {"x"}, {"shape"});
  g.constant("minus_one", at::scalar_tensor(-1, at::kLong));
  g.constant("zero", at::scalar_tensor(0, at::kLong));
  g.node("Gather", {"shape", "minus_one"}, {"last_dim"});
  g.node("Identity", {"last_dim"}, {"last"});
  g.node("Gather", {"shape", "zero"}, {"batch_dim"});
  g.node("Identity", {"batch_dim"}, {"batch"});
  onnx::ModelProto folded = g.model();
  optimize_with(folded, {"FoldStaticShapes"});
  // Shape(start=1) is a graph output and stays; the Gather of the static last dim folds; the
  // batch dim stays dynamic.
  EXPECT_EQ(op_types(folded), (Strings{"Shape", "Shape", "Constant", "Constant", "Identity", "Gather", "Identity"}));
  for (int64_t batch : {1, 5}) expect_same_outputs(g.model(), folded, {{"x", at::randn({batch, 3, 4})}});
}

TEST(FoldStaticShapes, LeavesDynamicShapeChainsAlone) {
  TinyGraph g;
  g.input("x", {-1, -1, 8}).output("y");
  g.node("Shape", {"x"}, {"shape"}, "attn");
  g.constant("first_two", at::tensor({0, 1}, at::kLong), "attn");
  g.node("Gather", {"shape", "first_two"}, {"batch_and_length"}, "attn");
  g.constant("heads", at::tensor({2, 4}, at::kLong), "attn");
  g.node("Concat", {"batch_and_length", "heads"}, {"target"}, "attn");
  int_attribute(*g.graph().mutable_node(g.graph().node_size() - 1), "axis", 0);
  g.node("Reshape", {"x", "target"}, {"y"}, "attn");
  expect_unchanged_by(g.model(), "FoldStaticShapes");
  // The whole optimizer makes the target [0, 0, 2, 4] (FoldReshapeCopiedDims): still dynamic.
  onnx::ModelProto optimized = g.model();
  optimizer::optimize(optimized);
  EXPECT_EQ(op_types(optimized), (Strings{"Reshape"}));
  for (int64_t batch : {1, 3}) expect_same_outputs(g.model(), optimized, {{"x", at::randn({batch, 5, 8})}});
}

// view(x.size(0), x.size(1), 2, -1), the sizes read from y = Relu(x): the same dims by their dim_params.
void add_view_of_sizes(TinyGraph& g, const std::string& sizes_of, int64_t first, int64_t second) {
  g.node("Shape", {sizes_of}, {"shape"}, "attn");
  g.constant("axes", at::zeros({1}, at::kLong), "attn");
  for (auto [index, name] : {std::pair<int64_t, std::string>{first, "a"}, {second, "b"}}) {
    g.constant("i_" + name, at::scalar_tensor(index, at::kLong), "attn");
    g.node("Gather", {"shape", "i_" + name}, {"dim_" + name}, "attn");
    g.node("Unsqueeze", {"dim_" + name, "axes"}, {"piece_" + name}, "attn");
  }
  g.constant("heads", at::tensor({2, -1}, at::kLong), "attn");
  g.node("Concat", {"piece_a", "piece_b", "heads"}, {"target"}, "attn");
  int_attribute(*g.graph().mutable_node(g.graph().node_size() - 1), "axis", 0);
  g.node("Reshape", {"x", "target"}, {"z"}, "attn");
}

TEST(FoldReshapeCopiedDims, CopiesTheInputsOwnDimsInsteadOfAssemblingThem) {
  TinyGraph g;
  g.input("x", {-1, -1, 8}).output("y").output("z");
  g.node("Relu", {"x"}, {"y"}, "act");
  add_view_of_sizes(g, "y", 0, 1);
  onnx::ModelProto folded = g.model();
  optimizer::OptimizeReport report = optimize_with(folded, {"FoldReshapeCopiedDims"});
  ASSERT_EQ(op_types(folded), (Strings{"Relu", "Reshape"}));
  const onnx::NodeProto& reshape = folded.graph().node(1);
  EXPECT_EQ(scope_of(reshape), "attn");
  ASSERT_NE(initializer_named(folded, reshape.input(1)), nullptr);
  EXPECT_TRUE(at::equal(optimizer::from_tensor_proto(*initializer_named(folded, reshape.input(1))),
                        at::tensor({0, 0, 2, -1}, at::kLong)));
  EXPECT_EQ(report.passes[0].nodes_removed, 10);  // the assembly and the Constants only it read
  for (int64_t batch : {1, 3}) expect_same_outputs(g.model(), folded, {{"x", at::randn({batch, 5, 8})}});
}

TEST(FoldReshapeCopiedDims, LeavesOtherDimsAndAllowZeroAlone) {
  TinyGraph swapped;
  swapped.input("x", {-1, -1, 8}).output("z");
  add_view_of_sizes(swapped, "x", 1, 0);  // [x.size(1), x.size(0), ...]: not a copy in place
  expect_unchanged_by(swapped.model(), "FoldReshapeCopiedDims");
  TinyGraph allow_zero;
  allow_zero.input("x", {-1, -1, 8}).output("z");
  add_view_of_sizes(allow_zero, "x", 0, 1);
  int_attribute(*allow_zero.graph().mutable_node(allow_zero.graph().node_size() - 1), "allowzero", 1);
  expect_unchanged_by(allow_zero.model(), "FoldReshapeCopiedDims");
}

}  // namespace
}  // namespace htp::test
