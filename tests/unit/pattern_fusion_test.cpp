// FuseLayerNorm and FuseGelu: decomposed patterns become one op (same outputs in the ATen
// evaluator, the opset raised, the pattern's common scope as tag, htp.fused_from), and patterns they
// must leave alone.
#include "tiny_graph.h"

#include "htp/optimizer/optimize.h"
#include "htp/tagging/module_tree.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace htp::test {
namespace {

using Strings = std::vector<std::string>;

onnx::ModelProto optimized_by(const onnx::ModelProto& model, const std::string& pass) {
  onnx::ModelProto optimized = model;
  optimizer::OptimizeOptions options;
  options.enabled = {pass};
  optimizer::optimize(optimized, options);
  return optimized;
}

void expect_close_outputs(const onnx::ModelProto& a, const onnx::ModelProto& b, const std::map<std::string, at::Tensor>& inputs) {
  const auto want = run(a, inputs);
  const auto got = run(b, inputs);
  for (const auto& [name, value] : want) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_TRUE(at::allclose(got.at(name), value, 1e-5, 1e-5)) << name << "\n" << got.at(name) << "\n" << value;
  }
}

int64_t opset_of(const onnx::ModelProto& model) { return model.opset_import(0).version(); }

std::string meta(const onnx::NodeProto& node, const std::string& key) {
  return tagging::node_metadata(node, key).value_or("<none>");
}

// x [2, 3, 4] normalized over the last axis, with the affine part in `affine_scope`.
TinyGraph layer_norm_graph(int64_t opset, const std::string& scope = "enc.ln", const std::string& affine_scope = "enc.ln") {
  TinyGraph g(opset);
  g.input("x", {-1, 3, 4}).output("y");
  g.initializer("two", at::scalar_tensor(2.0f));
  g.initializer("eps", at::scalar_tensor(1e-5f));
  g.initializer("gamma", at::tensor({1.0f, 2.0f, 0.5f, -1.0f}));
  g.initializer("beta", at::tensor({0.0f, 0.1f, 0.2f, 0.3f}));
  ints_attribute(g.node("ReduceMean", {"x"}, {"mean"}, scope), "axes", {-1});
  g.node("Sub", {"x", "mean"}, {"d"}, scope);
  g.node("Pow", {"d", "two"}, {"d2"}, scope);
  ints_attribute(g.node("ReduceMean", {"d2"}, {"var"}, scope), "axes", {2});
  g.node("Add", {"var", "eps"}, {"var_eps"}, scope);
  g.node("Sqrt", {"var_eps"}, {"std"}, scope);
  g.node("Div", {"d", "std"}, {"normalized"}, scope);
  g.node("Mul", {"normalized", "gamma"}, {"scaled"}, affine_scope);
  g.node("Add", {"scaled", "beta"}, {"y"}, affine_scope);
  tagging::set_model_metadata(g.model(), "htp.modules", R"({"": {"class": "Model", "parent": null},
      "enc": {"class": "Encoder", "parent": ""}, "enc.ln": {"class": "LayerNorm", "parent": "enc"},
      "enc.affine": {"class": "Affine", "parent": "enc"}})");
  return g;
}

TEST(FuseLayerNorm, FusesTheDecomposedPatternAndRaisesTheOpset) {
  TinyGraph g = layer_norm_graph(14);
  onnx::ModelProto fused = optimized_by(g.model(), "FuseLayerNorm");
  ASSERT_EQ(op_types(fused), (Strings{"LayerNormalization"}));
  EXPECT_EQ(opset_of(fused), 17);
  const onnx::NodeProto& norm = fused.graph().node(0);
  EXPECT_EQ(norm.input(0), "x");
  EXPECT_EQ(norm.input(1), "gamma");
  EXPECT_EQ(norm.input(2), "beta");
  EXPECT_EQ(norm.output(0), "y");
  EXPECT_EQ(meta(norm, "htp.scope"), "enc.ln");
  EXPECT_EQ(nlohmann::json::parse(meta(norm, "htp.fused_from")).size(), 9u);
  // The exponent and epsilon constants went with the pattern.
  EXPECT_EQ(fused.graph().initializer_size(), 2);
  for (int64_t batch : {2, 5}) expect_close_outputs(g.model(), fused, {{"x", at::randn({batch, 3, 4})}});
}

TEST(FuseLayerNorm, TagsAPatternAcrossModulesWithTheirCommonAncestor) {
  TinyGraph g = layer_norm_graph(17, "enc.ln", "enc.affine");
  onnx::ModelProto fused = optimized_by(g.model(), "FuseLayerNorm");
  ASSERT_EQ(op_types(fused), (Strings{"LayerNormalization"}));
  const onnx::NodeProto& norm = fused.graph().node(0);
  EXPECT_EQ(meta(norm, "htp.scope"), "enc");
  EXPECT_EQ(meta(norm, "htp.tag"), "/Model/Encoder");
  EXPECT_EQ(meta(norm, "namespace"), "enc: Encoder");
  EXPECT_EQ(meta(norm, "htp.source"), "direct");
}

TEST(FuseLayerNorm, LeavesPatternsItCannotExpressAlone) {
  // Opset 12 cannot be raised (Softmax and Squeeze changed meaning at 13).
  TinyGraph old = layer_norm_graph(12);
  EXPECT_EQ(op_types(optimized_by(old.model(), "FuseLayerNorm")), op_types(old.model()));
  // The centered value has another reader.
  TinyGraph shared = layer_norm_graph(14);
  shared.output("d_out");
  shared.node("Identity", {"d"}, {"d_out"});
  EXPECT_EQ(op_types(optimized_by(shared.model(), "FuseLayerNorm")), op_types(shared.model()));
  // A leading axis is no layer norm.
  TinyGraph leading = layer_norm_graph(14);
  for (int i : {0, 3}) leading.graph().mutable_node(i)->mutable_attribute(0)->set_ints(0, 1);
  EXPECT_EQ(op_types(optimized_by(leading.model(), "FuseLayerNorm")), op_types(leading.model()));
  // A RoiAlign would change meaning at opset 16.
  TinyGraph roi = layer_norm_graph(14);
  roi.input("boxes", {1, 4}).input("indices", {1}, onnx::TensorProto::INT64).output("pooled");
  roi.node("RoiAlign", {"x", "boxes", "indices"}, {"pooled"});
  onnx::ModelProto kept = optimized_by(roi.model(), "FuseLayerNorm");
  EXPECT_EQ(op_types(kept), op_types(roi.model()));
  EXPECT_EQ(opset_of(kept), 14);
}

// y = gelu(x) written out as the exporter does, or with the 0.5 first and a Mul by 1/√2.
TinyGraph gelu_graph(int64_t opset, bool half_first, float half = 0.5f) {
  TinyGraph g(opset);
  g.input("x", {-1, 4}).output("y");
  g.initializer("one", at::scalar_tensor(1.0f));
  g.initializer("half", at::scalar_tensor(half));
  if (half_first) {
    g.initializer("inv_sqrt2", at::scalar_tensor(static_cast<float>(1 / std::sqrt(2.0))));
    g.node("Mul", {"x", "half"}, {"x_half"}, "mlp.act");
    g.node("Mul", {"inv_sqrt2", "x"}, {"scaled"}, "mlp.act");
    g.node("Erf", {"scaled"}, {"erf"}, "mlp.act");
    g.node("Add", {"one", "erf"}, {"erf1"}, "mlp.act");
    g.node("Mul", {"x_half", "erf1"}, {"y"}, "mlp.act");
  } else {
    g.initializer("sqrt2", at::scalar_tensor(static_cast<float>(std::sqrt(2.0))));
    g.node("Div", {"x", "sqrt2"}, {"scaled"}, "mlp.act");
    g.node("Erf", {"scaled"}, {"erf"}, "mlp.act");
    g.node("Add", {"erf", "one"}, {"erf1"}, "mlp.act");
    g.node("Mul", {"x", "erf1"}, {"product"}, "mlp.act");
    g.node("Mul", {"product", "half"}, {"y"}, "mlp.act");
  }
  return g;
}

TEST(FuseGelu, FusesBothErfFormsAndRaisesTheOpset) {
  for (bool half_first : {false, true}) {
    TinyGraph g = gelu_graph(17, half_first);
    onnx::ModelProto fused = optimized_by(g.model(), "FuseGelu");
    ASSERT_EQ(op_types(fused), (Strings{"Gelu"})) << half_first;
    EXPECT_EQ(opset_of(fused), 20);
    EXPECT_GE(fused.ir_version(), 9);
    const onnx::NodeProto& gelu = fused.graph().node(0);
    EXPECT_EQ(meta(gelu, "htp.scope"), "mlp.act");
    auto fused_from = nlohmann::json::parse(meta(gelu, "htp.fused_from"));
    ASSERT_EQ(fused_from.size(), 5u);
    EXPECT_NE(fused_from[0]["name"].get<std::string>().find("/Erf"), std::string::npos);  // the principal first
    expect_close_outputs(g.model(), fused, {{"x", at::randn({3, 4})}});
  }
}

TEST(FuseGelu, LeavesOtherConstantsAndBlockingOpsAlone) {
  TinyGraph other = gelu_graph(17, false, 0.4f);
  EXPECT_EQ(op_types(optimized_by(other.model(), "FuseGelu")), op_types(other.model()));
  // A ReduceMean with an axes attribute takes them as an input from opset 18 on.
  TinyGraph blocked = gelu_graph(17, false);
  blocked.output("m");
  ints_attribute(blocked.node("ReduceMean", {"x"}, {"m"}), "axes", {1});
  onnx::ModelProto kept = optimized_by(blocked.model(), "FuseGelu");
  EXPECT_EQ(op_types(kept), op_types(blocked.model()));
  EXPECT_EQ(opset_of(kept), 17);
}

}  // namespace
}  // namespace htp::test
