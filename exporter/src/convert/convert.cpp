#include "convert/convert.h"

#include "convert/registry.h"
#include "htp/exporter/errors.h"

#include <set>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// Nodes whose results are resolved statically or by their consumers, never emitted.
bool is_structural(const Node* node) {
  auto kind = node->kind();
  return kind == c10::prim::Constant || kind == c10::prim::ListConstruct || kind == c10::prim::TupleConstruct ||
         kind == c10::prim::DictConstruct || kind == c10::prim::GetAttr;
}

// Every (op, scope) pair of `block` and its nested blocks that no converter handles, once each.
void find_unsupported(const TracedGraph& traced, const torch::jit::Block* block, std::vector<UnsupportedOp>& missing,
                      std::set<std::pair<std::string, std::string>>& seen) {
  for (const Node* node : block->nodes()) {
    for (const torch::jit::Block* nested : node->blocks()) find_unsupported(traced, nested, missing, seen);
    if (is_convertible(node, traced.in_place_as_functional)) continue;
    UnsupportedOp op{node->kind().toQualString(), traced.scope_of(node)};
    if (seen.emplace(op.op, op.scope).second) missing.push_back(std::move(op));
  }
}

void check_supported(const TracedGraph& traced) {
  std::vector<UnsupportedOp> missing;
  std::set<std::pair<std::string, std::string>> seen;
  find_unsupported(traced, traced.graph->block(), missing, seen);
  if (!missing.empty()) throw UnsupportedOpsError(std::move(missing));
}

// Constants and constant lists are known before conversion; converters read them statically.
void bind_static_value(ConversionContext& ctx, const Node* node) {
  if (node->kind() == c10::prim::Constant) {
    ctx.bind_constant(node->output(), torch::jit::toIValue(node->output()).value());
    return;
  }
  if (node->kind() != c10::prim::ListConstruct) return;
  c10::impl::GenericList items(node->output()->type()->containedType(0));
  for (const Value* input : node->inputs()) {
    auto known = ctx.constant(input);
    if (!known || known->isTensor()) return;
    items.push_back(*known);
  }
  ctx.bind_constant(node->output(), items);
}

// A graph input or output: element type and shape, where a dim named in `dim_names` is symbolic
// (dim_param) and the others are the example's sizes. Without static sizes, the shape lists the
// value's dims with no size (the checker wants a shape on every graph input and output).
void add_value_info(onnx::ValueInfoProto& info, const std::string& name, at::ScalarType dtype, const Value* value,
                    const std::optional<std::vector<int64_t>>& sizes, const std::vector<std::string>& dim_names = {}) {
  info.set_name(name);
  auto* tensor_type = info.mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx_dtype(dtype));
  auto* shape = tensor_type->mutable_shape();
  if (!sizes) {
    auto type = value ? value->type()->cast<c10::TensorType>() : nullptr;
    if (type && type->dim()) {
      for (size_t i = 0; i < *type->dim(); ++i) shape->add_dim();
    } else {
      tensor_type->clear_shape();  // rank unknown too
    }
    return;
  }
  for (size_t i = 0; i < sizes->size(); ++i) {
    auto* dim = shape->add_dim();
    if (i < dim_names.size() && !dim_names[i].empty()) {
      dim->set_dim_param(dim_names[i]);
    } else {
      dim->set_dim_value((*sizes)[i]);
    }
  }
}

// Graph outputs in forward order, with tuples, lists and dicts (their values) flattened.
void collect_outputs(const Value* value, std::vector<const Value*>& outputs) {
  auto kind = value->node()->kind();
  if (kind == c10::prim::TupleConstruct || kind == c10::prim::ListConstruct) {
    for (const Value* input : value->node()->inputs()) collect_outputs(input, outputs);
    return;
  }
  if (kind == c10::prim::DictConstruct) {  // key, value, key, value, ...
    for (size_t i = 1; i < value->node()->inputs().size(); i += 2) collect_outputs(value->node()->input(i), outputs);
    return;
  }
  outputs.push_back(value);
}

void convert_outputs(ConversionContext& ctx, const TracedGraph& traced, onnx::GraphProto& graph) {
  std::vector<const Value*> outputs;
  for (const Value* output : traced.graph->outputs()) collect_outputs(output, outputs);
  if (outputs.size() != traced.output_names.size()) {
    throw ExportError("the model returns " + std::to_string(outputs.size()) + " outputs but " +
                      std::to_string(traced.output_names.size()) + " output names were given");
  }
  std::set<std::string> used;
  for (size_t i = 0; i < outputs.size(); ++i) {
    ctx.begin_node(outputs[i]->node(), "");
    std::string name = ctx.tensor(outputs[i]);
    if (!used.insert(name).second || name == traced.output_names[i]) name = ctx.op("Identity", {name});
    ctx.rename_output(name, traced.output_names[i]);
    ctx.bind(outputs[i], traced.output_names[i]);  // a later output of the same value reads the new name
    used.insert(traced.output_names[i]);
    const auto& dim_names = i < traced.output_dim_names.size() ? traced.output_dim_names[i] : std::vector<std::string>{};
    add_value_info(*graph.add_output(), traced.output_names[i], ctx.scalar_type(outputs[i]), outputs[i], ctx.sizes(outputs[i]), dim_names);
  }
}

// Runs one converter. What LibTorch or the protobuf code it calls throws is reported like a
// converter's own failure: naming the op and its module, on one line.
void convert_node(ConversionContext& ctx, const Converter& converter, const Node* node) {
  try {
    converter(ctx, node);
  } catch (const ExportError&) {
    throw;
  } catch (const c10::Error& e) {
    ctx.fail(first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    ctx.fail(first_line(e.what()));
  }
}

void convert_nodes(ConversionContext& ctx, const TracedGraph& traced, const torch::jit::Block* block);

// Returns `value` from the subgraph being converted, through an Identity of the current (the
// control-flow node's) scope, since an ONNX graph's outputs are names it makes. ONNX fixes one
// dtype per If output and per loop-carried value; `dtype` is that one.
void add_subgraph_output(ConversionContext& ctx, onnx::GraphProto& subgraph, const Value* value, at::ScalarType dtype,
                         const std::string& what) {
  if (ctx.scalar_type(value) != dtype) {
    ctx.fail(what + " is " + std::string(c10::toString(ctx.scalar_type(value))) + " on one path and " + c10::toString(dtype) +
             " on another, which ONNX cannot express");
  }
  add_value_info(*subgraph.add_output(), ctx.op("Identity", {ctx.tensor(value)}), dtype, value, std::nullopt);
}

// A prim::If whose condition is known only at run time (static ones are folded before): an ONNX
// If whose branches hold the converted nodes of its two blocks, each tagged with its own scope.
void convert_if(ConversionContext& ctx, const TracedGraph& traced, const Node* node) {
  const std::string scope = traced.scope_of(node);
  ctx.begin_node(node, scope);
  std::string condition = ctx.tensor_as(node->input(0), at::kBool);
  std::vector<Attr> branches;
  for (size_t b = 0; b < 2; ++b) {
    onnx::GraphProto branch;
    branch.set_name(b == 0 ? "then_branch" : "else_branch");
    ctx.enter_subgraph(branch);
    convert_nodes(ctx, traced, node->blocks()[b]);
    ctx.begin_node(node, scope);
    for (size_t i = 0; i < node->outputs().size(); ++i) {
      add_subgraph_output(ctx, branch, node->blocks()[b]->outputs()[i], ctx.scalar_type(node->blocks()[0]->outputs()[i]),
                          "output " + std::to_string(i));
    }
    ctx.leave_subgraph();
    branches.push_back({b == 0 ? "then_branch" : "else_branch", std::move(branch)});
  }
  std::vector<std::string> outputs = ctx.op("If", {condition}, node->outputs().size(), branches);
  for (size_t i = 0; i < outputs.size(); ++i) ctx.bind(node->output(i), outputs[i]);
}

// A prim::Loop whose trip count or condition is known only at run time (constant trip counts are
// unrolled before): an ONNX Loop, which has TorchScript's form. Both take a maximum trip count
// (INT64_MAX for a `while`), an initial condition and the carried values' initial values; the body
// gets the iteration number and the carried values and returns the next condition and carried
// values. ONNX's body also receives the incoming condition, which TorchScript's does not read.
void convert_loop(ConversionContext& ctx, const TracedGraph& traced, const Node* node) {
  const std::string scope = traced.scope_of(node);
  ctx.begin_node(node, scope);
  const torch::jit::Block* body = node->blocks()[0];
  std::vector<std::string> inputs{ctx.tensor_as(node->input(0), at::kLong), ctx.tensor_as(node->input(1), at::kBool)};
  std::vector<at::ScalarType> carried;
  for (size_t i = 2; i < node->inputs().size(); ++i) {
    carried.push_back(ctx.scalar_type(node->input(i)));
    inputs.push_back(ctx.tensor(node->input(i)));
  }
  onnx::GraphProto graph;
  graph.set_name("loop_body");
  ctx.enter_subgraph(graph);
  const std::vector<int64_t> scalar;
  std::string iteration = ctx.fresh_name("iteration");
  ctx.bind(body->inputs()[0], iteration);
  add_value_info(*graph.add_input(), iteration, at::kLong, nullptr, scalar);
  add_value_info(*graph.add_input(), ctx.fresh_name("condition"), at::kBool, nullptr, scalar);
  for (size_t i = 0; i < carried.size(); ++i) {
    std::string name = ctx.fresh_name("carried");
    ctx.bind(body->inputs()[i + 1], name);
    add_value_info(*graph.add_input(), name, carried[i], body->inputs()[i + 1], std::nullopt);
  }
  convert_nodes(ctx, traced, body);
  ctx.begin_node(node, scope);
  add_subgraph_output(ctx, graph, body->outputs()[0], at::kBool, "the loop condition");
  for (size_t i = 0; i < carried.size(); ++i) {
    add_subgraph_output(ctx, graph, body->outputs()[i + 1], carried[i], "loop-carried value " + std::to_string(i));
  }
  ctx.leave_subgraph();
  std::vector<std::string> outputs = ctx.op("Loop", inputs, node->outputs().size(), {{"body", std::move(graph)}});
  for (size_t i = 0; i < outputs.size(); ++i) ctx.bind(node->output(i), outputs[i]);
}

// Converts the nodes of `block` in order, nested blocks included.
void convert_nodes(ConversionContext& ctx, const TracedGraph& traced, const torch::jit::Block* block) {
  const auto& registry = ConverterRegistry::instance();
  for (const Node* node : block->nodes()) {
    if (is_structural(node)) {
      bind_static_value(ctx, node);
    } else if (node->kind() == c10::prim::If) {
      convert_node(ctx, [&](ConversionContext& c, const Node* n) { convert_if(c, traced, n); }, node);
    } else if (node->kind() == c10::prim::Loop) {
      convert_node(ctx, [&](ConversionContext& c, const Node* n) { convert_loop(c, traced, n); }, node);
    } else {
      ctx.begin_node(node, traced.scope_of(node));
      convert_node(ctx, *registry.find(node->kind().toQualString(), traced.in_place_as_functional), node);
    }
  }
}

}  // namespace

bool is_convertible(const torch::jit::Node* node, bool in_place_as_functional) {
  return is_structural(node) || node->kind() == c10::prim::If || node->kind() == c10::prim::Loop ||  // blocks: node by node
         ConverterRegistry::instance().find(node->kind().toQualString(), in_place_as_functional);
}

at::Tensor stored_as_float16(const std::string& name, const at::Tensor& value) {
  at::Tensor rounded = value.to(at::kHalf);
  if (rounded.isinf().logical_and(value.isfinite()).any().item<bool>()) {
    throw ExportError("parameter '" + name + "' holds values beyond float16's range (65504): --dtype float16 cannot store it");
  }
  return rounded;
}

onnx::ModelProto convert_to_onnx(const TracedGraph& traced, TracedWeights weights, StoredFloats stored) {
  check_supported(traced);
  onnx::ModelProto model;
  model.set_producer_name("htp-export");
  model.set_producer_version(HTP_VERSION);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpsetVersion);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(traced.modules.root().class_name);

  ConversionContext ctx(graph, weights == TracedWeights::kReleased, stored == StoredFloats::kFloat16);
  for (const GraphInput& input : traced.inputs) {
    add_value_info(*graph.add_input(), input.name, input.example.scalar_type(), nullptr, input.example.sizes().vec(), input.dim_names);
    ctx.bind(input.value, input.name);
  }
  for (const auto& [value, parameter] : traced.parameters) ctx.bind_parameter(value, parameter);

  convert_nodes(ctx, traced, traced.graph->block());
  convert_outputs(ctx, traced, graph);
  return model;
}

}  // namespace htp::exporter
