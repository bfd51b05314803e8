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

void check_supported(const TracedGraph& traced) {
  std::vector<UnsupportedOp> missing;
  std::set<std::pair<std::string, std::string>> seen;
  for (const Node* node : traced.graph->nodes()) {
    if (is_convertible(node, traced.in_place_as_functional)) continue;
    UnsupportedOp op{node->kind().toQualString(), traced.scope_of(node)};
    if (seen.emplace(op.op, op.scope).second) missing.push_back(std::move(op));
  }
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
// (dim_param) and the others are the example's sizes.
void add_value_info(onnx::ValueInfoProto& info, const std::string& name, at::ScalarType dtype,
                    const std::optional<std::vector<int64_t>>& sizes, const std::vector<std::string>& dim_names = {}) {
  info.set_name(name);
  auto* tensor_type = info.mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx_dtype(dtype));
  if (!sizes) return;
  auto* shape = tensor_type->mutable_shape();
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
    add_value_info(*graph.add_output(), traced.output_names[i], ctx.scalar_type(outputs[i]), ctx.sizes(outputs[i]), dim_names);
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

}  // namespace

bool is_convertible(const torch::jit::Node* node, bool in_place_as_functional) {
  return is_structural(node) || ConverterRegistry::instance().find(node->kind().toQualString(), in_place_as_functional);
}

onnx::ModelProto convert_to_onnx(const TracedGraph& traced, TracedWeights weights) {
  check_supported(traced);
  onnx::ModelProto model;
  model.set_producer_name("htp-export");
  model.set_producer_version(HTP_VERSION);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpsetVersion);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(traced.modules.root().class_name);

  ConversionContext ctx(graph, weights == TracedWeights::kReleased);
  for (const GraphInput& input : traced.inputs) {
    add_value_info(*graph.add_input(), input.name, input.example.scalar_type(), input.example.sizes().vec(), input.dim_names);
    ctx.bind(input.value, input.name);
  }
  for (const auto& [value, parameter] : traced.parameters) ctx.bind_parameter(value, parameter.name, parameter.value);

  const auto& registry = ConverterRegistry::instance();
  for (const Node* node : traced.graph->nodes()) {
    if (is_structural(node)) {
      bind_static_value(ctx, node);
      continue;
    }
    ctx.begin_node(node, traced.scope_of(node));
    convert_node(ctx, *registry.find(node->kind().toQualString(), traced.in_place_as_functional), node);
  }
  convert_outputs(ctx, traced, graph);
  return model;
}

}  // namespace htp::exporter
