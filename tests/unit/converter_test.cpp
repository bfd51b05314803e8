// The aten→ONNX converter on tiny traced torch::nn models: unsupported-op reporting, scopes,
// initializer and graph I/O naming, and the structure a few converters emit. Numerics are
// checked end to end in ONNX Runtime elsewhere.
#include "convert/convert.h"
#include "htp/onnxio/onnx_file.h"
#include "trace_zoo.h"
#include "traced_graph.h"

#include "htp/exporter/errors.h"
#include "htp/optimizer/evaluator.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/tagger.h"
#include "htp/zoo/scoped.h"
#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using htp::exporter::ExportError;
using htp::exporter::UnsupportedOp;
using htp::exporter::UnsupportedOpsError;
using Tensors = std::vector<torch::Tensor>;

// A leaf module whose forward is a lambda, under a chosen class name.
class FnImpl : public torch::nn::Module {
 public:
  using Body = std::function<torch::Tensor(const torch::Tensor&)>;
  FnImpl(const std::string& class_name, Body body) : torch::nn::Module(class_name), body_(std::move(body)) {}
  torch::Tensor forward(const torch::Tensor& x) { return body_(x); }

 private:
  Body body_;
};

// A module with registered children whose forward is set by the test. Bodies call children with
// htp::zoo::call(*self, child, x) so each call is traced as the child's scope.
class NetImpl : public torch::nn::Module {
 public:
  explicit NetImpl(const std::string& class_name = "Net") : torch::nn::Module(class_name) {}
  Tensors forward(const Tensors& inputs) { return body(inputs); }
  std::function<Tensors(const Tensors&)> body;
};

// y = x·Wᵀ + b through torch::linear, which the tracer records as one aten::linear (as the zoo's
// Linear does; torch::nn::Linear records t + addmm or t + matmul + add_ instead).
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in, int64_t out) : torch::nn::Module("Linear") {
    weight = register_parameter("weight", torch::randn({out, in}));
    bias = register_parameter("bias", torch::randn({out}));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }
  torch::Tensor weight, bias;
};

std::shared_ptr<FnImpl> fn(const std::string& class_name, FnImpl::Body body) {
  return std::make_shared<FnImpl>(class_name, std::move(body));
}

htp::zoo::InputSpec input(const std::string& name, std::vector<int64_t> shape, torch::Dtype dtype = torch::kFloat32) {
  return htp::zoo::InputSpec{name, std::move(shape), dtype};
}

htp::zoo::ZooModel zoo_model(const std::shared_ptr<NetImpl>& root, std::vector<htp::zoo::InputSpec> inputs,
                             std::vector<std::string> outputs, bool eval = true) {
  if (eval) {
    root->eval();
  } else {
    root->train();
  }
  for (auto& p : root->parameters()) p.set_requires_grad(false);
  for (auto& b : root->buffers()) b.set_requires_grad(false);
  htp::zoo::ZooModel model;
  model.module = root;
  model.forward = [root](const Tensors& xs) { return root->forward(xs); };
  model.inputs = std::move(inputs);
  model.output_names = std::move(outputs);
  return model;
}

Tensors example_inputs(const htp::zoo::ZooModel& model) {
  torch::manual_seed(0);
  Tensors inputs;
  for (const auto& spec : model.inputs) {
    auto options = torch::TensorOptions().dtype(spec.dtype);
    inputs.push_back(torch::isFloatingType(spec.dtype) ? torch::randn(spec.shape, options)
                                                       : torch::randint(0, 10, spec.shape, options));
  }
  return inputs;
}

onnx::ModelProto convert(const htp::zoo::ZooModel& model) {
  auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model));
  return htp::exporter::convert_to_onnx(traced);
}

// Converted, tagged and passed through the ONNX checker, as the exporter writes it.
onnx::ModelProto convert_checked(const htp::zoo::ZooModel& model) {
  auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model));
  onnx::ModelProto onnx_model = htp::exporter::convert_to_onnx(traced);
  htp::tagging::tag_model(onnx_model, traced.modules);
  htp::onnxio::check_onnx_model(onnx_model);
  return onnx_model;
}

// ---- graph inspection

std::string scope_of(const onnx::NodeProto& node) {
  return htp::tagging::node_metadata(node, htp::tagging::kScopeKey).value_or("<no htp.scope>");
}

std::vector<const onnx::NodeProto*> nodes_of(const onnx::ModelProto& model, const std::string& op_type) {
  std::vector<const onnx::NodeProto*> result;
  for (const auto& node : model.graph().node()) {
    if (node.op_type() == op_type) result.push_back(&node);
  }
  return result;
}

const onnx::NodeProto* producer(const onnx::ModelProto& model, const std::string& value) {
  for (const auto& node : model.graph().node()) {
    for (const auto& output : node.output()) {
      if (output == value) return &node;
    }
  }
  return nullptr;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return &attr;
  }
  return nullptr;
}

std::vector<int64_t> ints_attribute(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* attr = attribute(node, name);
  if (!attr) return {};
  return {attr->ints().begin(), attr->ints().end()};
}

// The tensor a Constant node produces for `value`; fails the test if it is not one.
const onnx::TensorProto& constant_tensor(const onnx::ModelProto& model, const std::string& value) {
  static const onnx::TensorProto kNone;
  const onnx::NodeProto* node = producer(model, value);
  EXPECT_TRUE(node && node->op_type() == "Constant") << value << " is not made by a Constant";
  if (!node || node->op_type() != "Constant") return kNone;
  const onnx::AttributeProto* attr = attribute(*node, "value");
  EXPECT_TRUE(attr && attr->has_t());
  return attr ? attr->t() : kNone;
}

std::vector<int64_t> constant_ints(const onnx::ModelProto& model, const std::string& value) {
  const onnx::TensorProto& t = constant_tensor(model, value);
  EXPECT_EQ(t.data_type(), onnx::TensorProto::INT64);
  const std::string& raw = t.raw_data();
  std::vector<int64_t> values(raw.size() / sizeof(int64_t));
  std::memcpy(values.data(), raw.data(), values.size() * sizeof(int64_t));
  return values;
}

std::vector<std::string> names(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& infos) {
  std::vector<std::string> result;
  for (const auto& info : infos) result.push_back(info.name());
  return result;
}

std::set<std::string> initializer_names(const onnx::ModelProto& model) {
  std::set<std::string> result;
  for (const auto& init : model.graph().initializer()) result.insert(init.name());
  return result;
}

// ---- unsupported ops

TEST(ConverterUnsupported, EveryMissingOpIsReportedOnceWithItsModule) {
  auto root = std::make_shared<NetImpl>();
  auto a = root->register_module("a", fn("Factor", [](const torch::Tensor& x) { return std::get<1>(torch::linalg_qr(x)); }));
  auto b = root->register_module("b", fn("Mixer", [](const torch::Tensor& x) {
    auto y = std::get<1>(torch::linalg_qr(x));
    y = torch::linalg_pinv(y);
    y = std::get<1>(torch::linalg_qr(y));  // a second linalg_qr in the same module
    return torch::linalg_pinv(y);
  }));
  NetImpl* self = root.get();
  root->body = [self, a, b](const Tensors& xs) mutable {
    auto y = torch::relu(htp::zoo::call(*self, a, xs[0]));
    return Tensors{htp::zoo::call(*self, b, y)};
  };
  auto model = zoo_model(root, {input("x", {2, 3})}, {"y"});

  try {
    convert(model);
    FAIL() << "expected UnsupportedOpsError";
  } catch (const UnsupportedOpsError& e) {
    std::vector<std::pair<std::string, std::string>> ops;
    for (const UnsupportedOp& op : e.ops()) ops.emplace_back(op.op, op.scope);
    EXPECT_EQ(ops, (std::vector<std::pair<std::string, std::string>>{
                       {"aten::linalg_qr", "a"}, {"aten::linalg_qr", "b"}, {"aten::linalg_pinv", "b"}}));
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("aten::linalg_qr in module 'a'"), std::string::npos) << message;
    EXPECT_NE(message.find("aten::linalg_qr in module 'b'"), std::string::npos) << message;
    EXPECT_NE(message.find("aten::linalg_pinv in module 'b'"), std::string::npos) << message;
    EXPECT_EQ(message.find("relu"), std::string::npos) << message;
  }
}

TEST(ConverterUnsupported, RootOpIsNamedAsRootAndIsAnExportError) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{torch::linalg_pinv(xs[0])}; };
  auto model = zoo_model(root, {input("x", {2, 3})}, {"y"});
  try {
    convert(model);
    FAIL() << "expected an ExportError";
  } catch (const ExportError& e) {
    auto* unsupported = dynamic_cast<const UnsupportedOpsError*>(&e);
    ASSERT_NE(unsupported, nullptr) << e.what();
    ASSERT_EQ(unsupported->ops().size(), 1u);
    EXPECT_EQ(unsupported->ops()[0].scope, "");
    EXPECT_NE(std::string(e.what()).find("aten::linalg_pinv in module '<root>'"), std::string::npos) << e.what();
  }
}

TEST(ConverterUnsupported, ErrorMessageFormat) {
  UnsupportedOpsError one(std::vector<UnsupportedOp>{{"aten::cumprod", "a"}});
  EXPECT_STREQ(one.what(), "unsupported operator: aten::cumprod in module 'a'");
  UnsupportedOpsError two(std::vector<UnsupportedOp>{{"aten::cumprod", "a"}, {"aten::flip", ""}});
  EXPECT_STREQ(two.what(), "unsupported operators: aten::cumprod in module 'a'; aten::flip in module '<root>'");
}

// ---- scopes, initializers, graph I/O

// Root → a (Linear), blk (Block → inner (Linear), act (Act)), then a root-level multiply.
// The root also owns a parameter and a buffer that forward never touches.
std::shared_ptr<NetImpl> scoped_net() {
  auto root = std::make_shared<NetImpl>();
  auto a = root->register_module("a", std::make_shared<DenseImpl>(4, 3));
  auto blk = root->register_module("blk", std::make_shared<NetImpl>("Block"));
  auto inner = blk->register_module("inner", std::make_shared<DenseImpl>(3, 3));
  auto act = blk->register_module("act", fn("Act", [](const torch::Tensor& x) { return torch::relu(x); }));
  root->register_parameter("unused_weight", torch::ones({5}));
  root->register_buffer("unused_buffer", torch::zeros({5}));
  NetImpl* blk_self = blk.get();
  blk->body = [blk_self, inner, act](const Tensors& xs) mutable {
    return Tensors{htp::zoo::call(*blk_self, act, htp::zoo::call(*blk_self, inner, xs[0]))};
  };
  NetImpl* self = root.get();
  root->body = [self, a, blk](const Tensors& xs) mutable {
    auto h = htp::zoo::call(*self, a, xs[0]);
    h = htp::zoo::call(*self, blk, Tensors{h})[0];
    return Tensors{h * 2};
  };
  return root;
}

TEST(ConverterScopes, EveryNodeCarriesTheScopeOfTheModuleThatRanIt) {
  onnx::ModelProto model = convert(zoo_model(scoped_net(), {input("x", {2, 4})}, {"out"}));
  std::map<std::string, std::multiset<std::string>> ops_by_scope;
  for (const auto& node : model.graph().node()) {
    EXPECT_TRUE(htp::tagging::node_metadata(node, htp::tagging::kScopeKey).has_value()) << node.op_type();
    ops_by_scope[scope_of(node)].insert(node.op_type());
  }
  std::map<std::string, std::multiset<std::string>> expected = {
      {"a", {"Gemm"}}, {"blk.inner", {"Gemm"}}, {"blk.act", {"Relu"}}, {"", {"Constant", "Mul"}}};
  EXPECT_EQ(ops_by_scope, expected);
}

TEST(ConverterScopes, ParametersAreInitializersNamedLikeStateDict) {
  onnx::ModelProto model = convert(zoo_model(scoped_net(), {input("x", {2, 4})}, {"out"}));
  EXPECT_EQ(initializer_names(model), (std::set<std::string>{"a.weight", "a.bias", "blk.inner.weight", "blk.inner.bias"}));
  EXPECT_EQ(model.graph().initializer_size(), 4);  // each once
  for (const auto& init : model.graph().initializer()) {
    if (init.name() == "a.weight") {
      EXPECT_EQ(std::vector<int64_t>(init.dims().begin(), init.dims().end()), (std::vector<int64_t>{3, 4}));
      EXPECT_EQ(init.data_type(), onnx::TensorProto::FLOAT);
      EXPECT_EQ(init.raw_data().size(), 3u * 4u * sizeof(float));
    }
  }
  // The Gemm of `a` reads them by name.
  const onnx::NodeProto* gemm = nullptr;
  for (const auto* node : nodes_of(model, "Gemm")) {
    if (scope_of(*node) == "a") gemm = node;
  }
  ASSERT_NE(gemm, nullptr);
  ASSERT_EQ(gemm->input_size(), 3);
  EXPECT_EQ(gemm->input(0), "x");
  EXPECT_EQ(gemm->input(1), "a.weight");
  EXPECT_EQ(gemm->input(2), "a.bias");
}

TEST(ConverterScopes, GraphInputsAreOnlyModelInputs) {
  onnx::ModelProto model = convert(zoo_model(scoped_net(), {input("x", {2, 4})}, {"out"}));
  EXPECT_EQ(names(model.graph().input()), std::vector<std::string>{"x"});
  EXPECT_EQ(names(model.graph().output()), std::vector<std::string>{"out"});
  EXPECT_EQ(model.opset_import_size(), 1);
  EXPECT_EQ(model.opset_import(0).version(), htp::exporter::kOpsetVersion);
  EXPECT_EQ(model.graph().name(), "Net");
}

TEST(ConverterScopes, TaggedModelPassesTheChecker) {
  onnx::ModelProto model = convert_checked(zoo_model(scoped_net(), {input("x", {2, 4})}, {"out"}));
  for (const auto* node : nodes_of(model, "Relu")) {
    EXPECT_EQ(htp::tagging::node_metadata(*node, htp::tagging::kTagKey), "/Net/Block/Act");
    EXPECT_EQ(node->name(), "/blk/act/Relu");
  }
}

// torch::nn::Linear records aten::t + aten::addmm (2-d input) or aten::t + aten::matmul + aten::add_
// (n-d); trace_zoo_model's torch::jit::FuseLinear rewrites those into an aten::linear created in the
// root scope, so today these nodes are tagged as the root's. Enable once trace_zoo keeps scopes.
TEST(ConverterScopes, TorchNnLinearKeepsItsScope) {
  auto root = std::make_shared<NetImpl>();
  auto flat = root->register_module("flat", torch::nn::Linear(4, 3));
  auto seq = root->register_module("seq", torch::nn::Linear(4, 2));
  NetImpl* self = root.get();
  root->body = [self, flat, seq](const Tensors& xs) mutable {
    return Tensors{htp::zoo::call(*self, flat, xs[0]), htp::zoo::call(*self, seq, xs[1])};
  };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {2, 4}), input("s", {2, 5, 4})}, {"y", "z"}));
  std::set<std::string> scopes;
  for (const auto& node : model.graph().node()) scopes.insert(scope_of(node));
  EXPECT_EQ(scopes, (std::set<std::string>{"flat", "seq"}));
  EXPECT_EQ(scope_of(*producer(model, "y")), "flat");
  EXPECT_EQ(scope_of(*producer(model, "z")), "seq");
}

TEST(ConverterIO, InputsAndOutputsNamedPerSpec) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{xs[0] + xs[1], xs[0] * xs[1]}; };
  onnx::ModelProto model =
      convert_checked(zoo_model(root, {input("lhs", {2, 3}), input("rhs", {2, 3})}, {"sum", "product"}));
  EXPECT_EQ(names(model.graph().input()), (std::vector<std::string>{"lhs", "rhs"}));
  EXPECT_EQ(names(model.graph().output()), (std::vector<std::string>{"sum", "product"}));
  ASSERT_EQ(producer(model, "sum")->op_type(), "Add");
  ASSERT_EQ(producer(model, "product")->op_type(), "Mul");
  for (const auto& info : model.graph().input()) {
    EXPECT_EQ(info.type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
    ASSERT_EQ(info.type().tensor_type().shape().dim_size(), 2);
    EXPECT_EQ(info.type().tensor_type().shape().dim(0).dim_value(), 2);
    EXPECT_EQ(info.type().tensor_type().shape().dim(1).dim_value(), 3);
  }
}

TEST(ConverterIO, InputReturnedUnchangedGetsAnIdentity) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{xs[0]}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {2, 3})}, {"y"}));
  ASSERT_EQ(model.graph().node_size(), 1);
  const auto& node = model.graph().node(0);
  EXPECT_EQ(node.op_type(), "Identity");
  EXPECT_EQ(std::vector<std::string>(node.input().begin(), node.input().end()), std::vector<std::string>{"x"});
  EXPECT_EQ(std::vector<std::string>(node.output().begin(), node.output().end()), std::vector<std::string>{"y"});
  EXPECT_EQ(scope_of(node), "");
  EXPECT_EQ(names(model.graph().output()), std::vector<std::string>{"y"});
}

// convert_outputs renames the first output in place but the context keeps the old name, so the
// second output's Identity reads a name no node produces any more. Enable once fixed.
TEST(ConverterIO, OneTensorReturnedTwiceGetsTwoOutputs) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) {
    auto y = torch::relu(xs[0]);
    return Tensors{y, y};
  };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {2, 3})}, {"first", "second"}));
  EXPECT_EQ(names(model.graph().output()), (std::vector<std::string>{"first", "second"}));
  ASSERT_NE(producer(model, "first"), nullptr);
  ASSERT_NE(producer(model, "second"), nullptr);
  EXPECT_EQ(producer(model, "first")->op_type(), "Relu");
  EXPECT_EQ(producer(model, "second")->op_type(), "Identity");
}

TEST(ConverterIO, OutputCountMismatchIsAnExportError) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{torch::relu(xs[0]), torch::sigmoid(xs[0])}; };
  EXPECT_THROW(convert(zoo_model(root, {input("x", {2, 3})}, {"only_one"})), ExportError);
}

// A zoo model: scopes are modules of its tree, initializers are state_dict keys, and the unused
// num_batches_tracked buffers are not emitted.
TEST(ConverterZoo, Resnet18ScopesAndInitializers) {
  torch::manual_seed(0);
  htp::zoo::ZooModel model = htp::zoo::make_model("resnet18", htp::zoo::ZooOptions{{1, 3, 64, 64}});
  auto traced = htp::exporter::trace_zoo_model(model, example_inputs(model));
  onnx::ModelProto onnx_model = htp::exporter::convert_to_onnx(traced);
  std::set<std::string> state_dict;
  for (const auto& item : model.module->named_parameters()) state_dict.insert(item.key());
  for (const auto& item : model.module->named_buffers()) state_dict.insert(item.key());
  std::set<std::string> scopes;
  for (const auto& node : onnx_model.graph().node()) {
    const std::string scope = scope_of(node);
    EXPECT_TRUE(traced.modules.contains(scope)) << node.op_type() << " has scope '" << scope << "'";
    scopes.insert(scope);
  }
  EXPECT_TRUE(scopes.count("layer1.0.conv1"));
  EXPECT_TRUE(scopes.count("fc"));
  for (const auto& name : initializer_names(onnx_model)) {
    EXPECT_TRUE(state_dict.count(name)) << name;
    EXPECT_EQ(name.find("num_batches_tracked"), std::string::npos) << name;
  }
  EXPECT_TRUE(initializer_names(onnx_model).count("layer1.0.conv1.weight"));
  EXPECT_TRUE(initializer_names(onnx_model).count("bn1.running_var"));
}

// ---- converter semantics (structure only)

TEST(ConverterSemantics, AddWithAlphaEmitsMul) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{torch::add(xs[0], xs[1], /*alpha=*/2)}; };
  onnx::ModelProto model = convert(zoo_model(root, {input("x", {2, 3}), input("y", {2, 3})}, {"z"}));
  auto adds = nodes_of(model, "Add");
  auto muls = nodes_of(model, "Mul");
  ASSERT_EQ(adds.size(), 1u);
  ASSERT_EQ(muls.size(), 1u);
  EXPECT_EQ(adds[0]->input(0), "x");
  EXPECT_EQ(adds[0]->input(1), muls[0]->output(0));
  EXPECT_EQ(muls[0]->input(0), "y");
  const onnx::TensorProto& alpha = constant_tensor(model, muls[0]->input(1));
  EXPECT_EQ(alpha.data_type(), onnx::TensorProto::FLOAT);
  ASSERT_EQ(alpha.raw_data().size(), sizeof(float));
  float value = 0;
  std::memcpy(&value, alpha.raw_data().data(), sizeof(float));
  EXPECT_EQ(value, 2.0f);
}

TEST(ConverterSemantics, AddWithoutAlphaHasNoMul) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{torch::add(xs[0], xs[1])}; };
  onnx::ModelProto model = convert(zoo_model(root, {input("x", {2, 3}), input("y", {2, 3})}, {"z"}));
  EXPECT_EQ(nodes_of(model, "Add").size(), 1u);
  EXPECT_TRUE(nodes_of(model, "Mul").empty());
}

TEST(ConverterSemantics, ScalarAddOnInt64KeepsInt64) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{xs[0] + 1}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("ids", {2, 3}, torch::kInt64)}, {"out"}));
  auto adds = nodes_of(model, "Add");
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0]->input(0), "ids");
  EXPECT_EQ(constant_tensor(model, adds[0]->input(1)).data_type(), onnx::TensorProto::INT64);
  EXPECT_EQ(constant_ints(model, adds[0]->input(1)), std::vector<int64_t>{1});
  EXPECT_TRUE(nodes_of(model, "Cast").empty());
  EXPECT_EQ(model.graph().output(0).type().tensor_type().elem_type(), onnx::TensorProto::INT64);
}

TEST(ConverterSemantics, FlattenFromDimZeroIsReshapeToMinusOne) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{torch::flatten(xs[0], 0)}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {2, 3})}, {"y"}));
  auto reshapes = nodes_of(model, "Reshape");
  ASSERT_EQ(reshapes.size(), 1u);
  EXPECT_EQ(reshapes[0]->input(0), "x");
  EXPECT_EQ(constant_ints(model, reshapes[0]->input(1)), std::vector<int64_t>{-1});
  EXPECT_TRUE(nodes_of(model, "Flatten").empty());
}

TEST(ConverterSemantics, FlattenFromDimOneOf4dIsFlattenAxis1) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{torch::flatten(xs[0], 1)}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {1, 2, 3, 4})}, {"y"}));
  auto flattens = nodes_of(model, "Flatten");
  ASSERT_EQ(flattens.size(), 1u);
  const onnx::AttributeProto* axis = attribute(*flattens[0], "axis");
  ASSERT_NE(axis, nullptr);
  EXPECT_EQ(axis->i(), 1);
  EXPECT_TRUE(nodes_of(model, "Reshape").empty());
}

// The tracer records conv with padding="same" as aten::_convolution_mode, which has no converter
// yet (the string-padding branch of the conv converters is only reached through aten::convNd).
// Enable once aten::_convolution_mode is registered.
TEST(ConverterSemantics, ConvSamePaddingIsSameUpper) {
  auto root = std::make_shared<NetImpl>();
  auto conv = root->register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(torch::kSame)));
  NetImpl* self = root.get();
  root->body = [self, conv](const Tensors& xs) mutable { return Tensors{htp::zoo::call(*self, conv, xs[0])}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {1, 3, 8, 8})}, {"y"}));
  auto convs = nodes_of(model, "Conv");
  ASSERT_EQ(convs.size(), 1u);
  const onnx::AttributeProto* auto_pad = attribute(*convs[0], "auto_pad");
  ASSERT_NE(auto_pad, nullptr);
  EXPECT_EQ(auto_pad->s(), "SAME_UPPER");
  EXPECT_EQ(attribute(*convs[0], "pads"), nullptr);
  EXPECT_EQ(scope_of(*convs[0]), "conv");
  EXPECT_EQ(initializer_names(model), (std::set<std::string>{"conv.weight", "conv.bias"}));
}

TEST(ConverterSemantics, ConvExplicitPaddingIsPads) {
  auto root = std::make_shared<NetImpl>();
  auto conv = root->register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1).stride(2).bias(false)));
  NetImpl* self = root.get();
  root->body = [self, conv](const Tensors& xs) mutable { return Tensors{htp::zoo::call(*self, conv, xs[0])}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {1, 3, 8, 8})}, {"y"}));
  auto convs = nodes_of(model, "Conv");
  ASSERT_EQ(convs.size(), 1u);
  EXPECT_EQ(ints_attribute(*convs[0], "pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(ints_attribute(*convs[0], "strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(attribute(*convs[0], "auto_pad"), nullptr);
  EXPECT_EQ(convs[0]->input_size(), 2);
}

// Training mode normalizes with the batch's statistics (the running-stat update is a side effect
// the exported function does not return): per-channel ReduceMean over N and the spatial dims.
TEST(ConverterSemantics, BatchNormInTrainingModeUsesBatchStatistics) {
  auto root = std::make_shared<NetImpl>();
  auto bn = root->register_module("bn", torch::nn::BatchNorm2d(3));
  NetImpl* self = root.get();
  root->body = [self, bn](const Tensors& xs) mutable { return Tensors{htp::zoo::call(*self, bn, xs[0])}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {2, 3, 4, 4})}, {"y"}, /*eval=*/false));
  EXPECT_TRUE(nodes_of(model, "BatchNormalization").empty());
  auto means = nodes_of(model, "ReduceMean");
  ASSERT_EQ(means.size(), 2u);  // mean and biased variance
  for (const auto* mean : means) {
    EXPECT_EQ(ints_attribute(*mean, "axes"), (std::vector<int64_t>{0, 2, 3}));
    EXPECT_EQ(scope_of(*mean), "bn");
  }
  EXPECT_EQ(initializer_names(model).count("bn.running_mean"), 0u);
}

TEST(ConverterSemantics, BatchNormInEvalModeIsBatchNormalization) {
  auto root = std::make_shared<NetImpl>();
  auto bn = root->register_module("bn", torch::nn::BatchNorm2d(3));
  NetImpl* self = root.get();
  root->body = [self, bn](const Tensors& xs) mutable { return Tensors{htp::zoo::call(*self, bn, xs[0])}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {2, 3, 4, 4})}, {"y"}));
  auto bns = nodes_of(model, "BatchNormalization");
  ASSERT_EQ(bns.size(), 1u);
  EXPECT_EQ(std::vector<std::string>(bns[0]->input().begin(), bns[0]->input().end()),
            (std::vector<std::string>{"x", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}));
  EXPECT_EQ(initializer_names(model).count("bn.num_batches_tracked"), 0u);
}

TEST(ConverterSemantics, NegativeDimsAreNormalized) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) {
    return Tensors{torch::cat({xs[0], xs[0]}, -1), xs[1].transpose(-1, -2), xs[0].unsqueeze(-1)};
  };
  onnx::ModelProto model = convert_checked(
      zoo_model(root, {input("x", {2, 3}), input("t", {2, 3, 4})}, {"concat", "transposed", "unsqueezed"}));
  auto concats = nodes_of(model, "Concat");
  ASSERT_EQ(concats.size(), 1u);
  ASSERT_NE(attribute(*concats[0], "axis"), nullptr);
  EXPECT_EQ(attribute(*concats[0], "axis")->i(), 1);
  auto transposes = nodes_of(model, "Transpose");
  ASSERT_EQ(transposes.size(), 1u);
  EXPECT_EQ(ints_attribute(*transposes[0], "perm"), (std::vector<int64_t>{0, 2, 1}));
  auto unsqueezes = nodes_of(model, "Unsqueeze");
  ASSERT_EQ(unsqueezes.size(), 1u);
  EXPECT_EQ(constant_ints(model, unsqueezes[0]->input(1)), std::vector<int64_t>{2});
}

// ---- aten::cumsum

// CumSum's axis input: a 0-d int64 constant; its value, or -1 if it is not one.
int64_t cumsum_axis(const onnx::ModelProto& model, const onnx::NodeProto& cumsum) {
  const onnx::TensorProto& axis = constant_tensor(model, cumsum.input(1));
  EXPECT_EQ(axis.data_type(), onnx::TensorProto::INT64);
  EXPECT_EQ(axis.dims_size(), 0) << "CumSum's axis is a 0-d tensor";
  int64_t value = -1;
  if (axis.raw_data().size() == sizeof(value)) std::memcpy(&value, axis.raw_data().data(), sizeof(value));
  return value;
}

// The element type a Cast node converts to; -1 for a node that is not a Cast.
int64_t cast_target(const onnx::NodeProto* node) {
  if (!node || node->op_type() != "Cast" || !attribute(*node, "to")) return -1;
  return attribute(*node, "to")->i();
}

const onnx::NodeProto* consumer(const onnx::ModelProto& model, const std::string& value) {
  for (const auto& node : model.graph().node()) {
    for (const auto& input : node.input()) {
      if (input == value) return &node;
    }
  }
  return nullptr;
}

int32_t output_elem_type(const onnx::ModelProto& model, int index) {
  return model.graph().output(index).type().tensor_type().elem_type();
}

TEST(ConverterCumSum, FloatSumAlongANegativeDimIsOneCumSum) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) { return Tensors{torch::cumsum(xs[0], -1)}; };
  onnx::ModelProto model = convert_checked(zoo_model(root, {input("x", {2, 3, 4})}, {"y"}));
  auto cumsums = nodes_of(model, "CumSum");
  ASSERT_EQ(cumsums.size(), 1u);
  EXPECT_EQ(cumsums[0]->input(0), "x");
  EXPECT_EQ(cumsum_axis(model, *cumsums[0]), 2);
  EXPECT_EQ(cumsums[0]->attribute_size(), 0) << "exclusive and reverse keep their defaults";
  EXPECT_TRUE(nodes_of(model, "Cast").empty());
  EXPECT_EQ(output_elem_type(model, 0), onnx::TensorProto::FLOAT);
}

// RoBERTa's position ids sum an int32 mask, which torch sums as int64 (so does a bool one); ONNX Runtime's
// CumSum is given int64.
TEST(ConverterCumSum, Int32AndBoolAreSummedAsInt64) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) {
    const auto mask = xs[0].ne(1);
    return Tensors{torch::cumsum(mask.to(torch::kInt32), 1), torch::cumsum(mask, 0)};
  };
  onnx::ModelProto model =
      convert_checked(zoo_model(root, {input("ids", {2, 5}, torch::kInt64)}, {"from_int", "from_bool"}));
  auto cumsums = nodes_of(model, "CumSum");
  ASSERT_EQ(cumsums.size(), 2u);
  EXPECT_EQ(cumsum_axis(model, *cumsums[0]), 1);
  EXPECT_EQ(cumsum_axis(model, *cumsums[1]), 0);
  for (const auto* cumsum : cumsums) {
    EXPECT_EQ(cast_target(producer(model, cumsum->input(0))), onnx::TensorProto::INT64);
  }
  EXPECT_EQ(output_elem_type(model, 0), onnx::TensorProto::INT64);
  EXPECT_EQ(output_elem_type(model, 1), onnx::TensorProto::INT64);
}

TEST(ConverterCumSum, DtypeArgumentSetsTheResultType) {
  auto root = std::make_shared<NetImpl>();
  root->body = [](const Tensors& xs) {
    return Tensors{torch::cumsum(xs[0], 0, torch::kInt32), torch::cumsum(xs[1], 1, torch::kDouble)};
  };
  onnx::ModelProto model = convert_checked(
      zoo_model(root, {input("ids", {3, 2}, torch::kInt64), input("x", {2, 3})}, {"ints", "doubles"}));
  auto cumsums = nodes_of(model, "CumSum");
  ASSERT_EQ(cumsums.size(), 2u);
  // An int32 result is summed in int64 (no cast of the int64 input) and cast afterwards.
  EXPECT_EQ(cumsums[0]->input(0), "ids");
  EXPECT_EQ(cast_target(consumer(model, cumsums[0]->output(0))), onnx::TensorProto::INT32);
  EXPECT_EQ(output_elem_type(model, 0), onnx::TensorProto::INT32);
  // A double result: the float input is widened before the sum.
  EXPECT_EQ(cast_target(producer(model, cumsums[1]->input(0))), onnx::TensorProto::DOUBLE);
  EXPECT_EQ(consumer(model, cumsums[1]->output(0)), nullptr);
  EXPECT_EQ(output_elem_type(model, 1), onnx::TensorProto::DOUBLE);
}

// ---- recurrent nets

std::string string_attribute(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* attr = attribute(node, name);
  return attr ? attr->s() : "";
}

// A two-layer bidirectional batch_first GRU: one ONNX GRU per layer in torch's formula
// (linear_before_reset), weights kept under their state_dict names, and the evaluator's run of the
// file (itself checked against ATen's kernels) reproduces torch's output and h_n.
TEST(ConverterRecurrent, GruLayersAreOnnxGrusThatReproduceTorch) {
  auto root = std::make_shared<NetImpl>();
  auto gru = root->register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(3, 4).num_layers(2).bidirectional(true).batch_first(true)));
  NetImpl* self = root.get();
  root->body = [self, gru](const Tensors& xs) mutable {
    auto [y, h] = htp::zoo::call(*self, gru, xs[0]);
    return Tensors{y, h};
  };
  auto net = zoo_model(root, {input("x", {2, 5, 3})}, {"y", "h"});
  onnx::ModelProto model = convert_checked(net);
  auto grus = nodes_of(model, "GRU");
  ASSERT_EQ(grus.size(), 2u);
  for (const auto* node : grus) {
    EXPECT_EQ(string_attribute(*node, "direction"), "bidirectional");
    EXPECT_EQ(attribute(*node, "linear_before_reset")->i(), 1);
    EXPECT_EQ(attribute(*node, "hidden_size")->i(), 4);
  }
  for (const auto& node : model.graph().node()) EXPECT_EQ(scope_of(node), "gru") << node.op_type();
  for (const char* name : {"gru.weight_ih_l0", "gru.weight_hh_l1_reverse", "gru.bias_ih_l1", "gru.bias_hh_l0_reverse"}) {
    EXPECT_EQ(initializer_names(model).count(name), 1u) << name;
  }
  Tensors inputs = example_inputs(net);
  Tensors want = net.forward(inputs);
  auto got = htp::optimizer::run_graph(model, {{"x", inputs[0]}});
  EXPECT_TRUE(torch::allclose(got.at("y"), want[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(got.at("h"), want[1], 1e-5, 1e-5));
}

TEST(ConverterRecurrent, TrainingDropoutBetweenLayersAsksForEvalMode) {
  auto root = std::make_shared<NetImpl>();
  auto lstm = root->register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(3, 4).num_layers(2).dropout(0.5)));
  NetImpl* self = root.get();
  root->body = [self, lstm](const Tensors& xs) mutable { return Tensors{std::get<0>(htp::zoo::call(*self, lstm, xs[0]))}; };
  try {
    convert(zoo_model(root, {input("x", {5, 2, 3})}, {"y"}, /*eval=*/false));
    FAIL() << "expected an ExportError";
  } catch (const ExportError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("aten::lstm"), std::string::npos) << message;
    EXPECT_NE(message.find("'lstm'"), std::string::npos) << message;
    EXPECT_NE(message.find("eval mode"), std::string::npos) << message;
  }
}

// aten::lstm's packed overload (data, batch_sizes, ...), as a PackedSequence records it.
TEST(ConverterRecurrent, PackedSequencesAreRefusedWithTheReason) {
  auto root = std::make_shared<NetImpl>();
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(3, 4));
  auto packed = root->register_module("packed", fn("PackedLstm", [lstm](const torch::Tensor& data) {
    torch::Tensor zeros = torch::zeros({1, 2, 4});
    return std::get<0>(torch::lstm(data, torch::tensor({2, 2, 1}), {zeros, zeros}, lstm->all_weights(), true, 1, 0.0, false, false));
  }));
  packed->register_module("lstm", lstm);
  NetImpl* self = root.get();
  root->body = [self, packed](const Tensors& xs) mutable { return Tensors{htp::zoo::call(*self, packed, xs[0])}; };
  try {
    convert(zoo_model(root, {input("data", {5, 3})}, {"y"}));
    FAIL() << "expected an ExportError";
  } catch (const ExportError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("packed sequences"), std::string::npos) << message;
    EXPECT_NE(message.find("'packed'"), std::string::npos) << message;
  }
}

}  // namespace
