#include "evaluator/registry.h"

#include "attributes.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/optimizer/evaluator.h"
#include "htp/optimizer/tensor_proto.h"

namespace htp::optimizer {
namespace eval {
namespace {

std::string node_label(const onnx::NodeProto& node) {
  std::string label = node.name().empty() ? "<unnamed>" : node.name();
  if (node.name().empty() && node.output_size() > 0) label += " producing '" + node.output(0) + "'";
  else label = "'" + label + "'";
  return label + " (" + (node.domain().empty() ? "" : node.domain() + ".") + node.op_type() + ")";
}

bool is_half(const at::Tensor& t) {
  return t.defined() && (t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16);
}

}  // namespace

const at::Tensor& NodeContext::input(size_t index) const {
  if (!has_input(index)) fail("input " + std::to_string(index) + " is missing");
  return inputs_[index];
}

std::vector<int64_t> NodeContext::ints_input(size_t index) const {
  const at::Tensor& value = input(index);
  if (value.dim() > 1) fail("input " + std::to_string(index) + " must be a scalar or 1-D, got rank " + std::to_string(value.dim()));
  if (at::isFloatingType(value.scalar_type()) || value.scalar_type() == at::kBool) {
    fail("input " + std::to_string(index) + " must be an integer tensor");
  }
  at::Tensor longs = value.to(at::kLong).contiguous().reshape({-1});
  const int64_t* data = longs.data_ptr<int64_t>();
  return {data, data + longs.numel()};
}

double NodeContext::scalar_input(size_t index) const {
  const at::Tensor& value = input(index);
  if (value.numel() != 1) fail("input " + std::to_string(index) + " must hold one value, got " + std::to_string(value.numel()));
  return value.to(at::kDouble).item<double>();
}

bool NodeContext::wants_output(size_t index) const {
  return index < output_count() && !node_.output(static_cast<int>(index)).empty();
}

const onnx::AttributeProto* NodeContext::attribute(const std::string& name) const {
  return find_attribute(node_, name);
}

int64_t NodeContext::attr_int(const std::string& name, int64_t fallback) const {
  return int_attribute(node_, name, fallback);
}

float NodeContext::attr_float(const std::string& name, float fallback) const {
  return float_attribute(node_, name, fallback);
}

std::string NodeContext::attr_string(const std::string& name, const std::string& fallback) const {
  const auto* a = attribute(name);
  return a ? a->s() : fallback;
}

std::vector<int64_t> NodeContext::attr_ints(const std::string& name, std::vector<int64_t> fallback) const {
  return ints_attribute(node_, name).value_or(std::move(fallback));
}

std::vector<float> NodeContext::attr_floats(const std::string& name) const {
  const auto* a = attribute(name);
  return a ? std::vector<float>(a->floats().begin(), a->floats().end()) : std::vector<float>{};
}

std::optional<at::Tensor> NodeContext::attr_tensor(const std::string& name) const {
  const auto* a = attribute(name);
  if (!a) return std::nullopt;
  if (!a->has_t()) fail("attribute '" + name + "' holds no tensor");
  return from_tensor_proto(a->t());
}

std::optional<std::vector<int64_t>> NodeContext::axes(size_t index) const {
  if (has_input(index)) return ints_input(index);
  if (has_attribute("axes")) return attr_ints("axes");
  return std::nullopt;
}

int64_t NodeContext::normalize_axis(int64_t axis, int64_t rank) const {
  if (axis < -rank || axis >= rank) {
    fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

void NodeContext::fail(const std::string& message) const {
  throw Error("cannot evaluate node " + node_label(node_) + ": " + message);
}

const EvaluatorRegistry& EvaluatorRegistry::instance() {
  static const EvaluatorRegistry registry = [] {
    EvaluatorRegistry r;
    register_activation_ops(r);
    register_convolution_ops(r);
    register_creation_ops(r);
    register_elementwise_ops(r);
    register_indexing_ops(r);
    register_linear_ops(r);
    register_logic_ops(r);
    register_normalization_ops(r);
    register_pooling_ops(r);
    register_recurrent_ops(r);
    register_reduction_ops(r);
    register_resize_ops(r);
    register_shape_ops(r);
    return r;
  }();
  return registry;
}

void EvaluatorRegistry::add(const std::string& op_type, OpEvaluator evaluate, HalfFloats half_floats) {
  entries_[op_type] = Entry{std::move(evaluate), half_floats};
}

const EvaluatorRegistry::Entry* EvaluatorRegistry::find(const std::string& op_type) const {
  auto it = entries_.find(op_type);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<int64_t> broadcast_shapes(const NodeContext& ctx, at::IntArrayRef a, at::IntArrayRef b) {
  std::vector<int64_t> shape(std::max(a.size(), b.size()), 1);
  for (size_t k = 0; k < shape.size(); ++k) {
    int64_t da = k < shape.size() - a.size() ? 1 : a[k - (shape.size() - a.size())];
    int64_t db = k < shape.size() - b.size() ? 1 : b[k - (shape.size() - b.size())];
    if (da != db && da != 1 && db != 1) {
      ctx.fail("shapes " + c10::str(a) + " and " + c10::str(b) + " do not broadcast");
    }
    shape[k] = da == 1 ? db : da;
  }
  return shape;
}

}  // namespace eval

bool can_evaluate(const onnx::NodeProto& node) {
  return onnxio::is_default_domain(node.domain()) && eval::EvaluatorRegistry::instance().find(node.op_type()) != nullptr;
}

std::vector<at::Tensor> evaluate_node(const onnx::NodeProto& node, const std::vector<at::Tensor>& inputs,
                                      int64_t opset) {
  const eval::EvaluatorRegistry::Entry* entry =
      onnxio::is_default_domain(node.domain()) ? eval::EvaluatorRegistry::instance().find(node.op_type()) : nullptr;
  if (!entry) throw Error("cannot evaluate node " + eval::node_label(node) + ": no evaluator for this op type");

  std::vector<at::Tensor> widened = inputs;
  std::optional<at::ScalarType> half_dtype;
  if (entry->half_floats == eval::HalfFloats::kWiden) {
    for (auto& value : widened) {
      if (!eval::is_half(value)) continue;
      if (!half_dtype) half_dtype = value.scalar_type();
      value = value.to(at::kFloat);
    }
  }
  eval::NodeContext ctx(node, widened, opset);
  std::vector<at::Tensor> outputs;
  try {
    outputs = entry->evaluate(ctx);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    ctx.fail(e.what_without_backtrace());
  } catch (const std::exception& e) {  // e.g. a missing element of an empty input
    ctx.fail(e.what());
  }
  outputs.resize(ctx.output_count());
  for (size_t k = 0; k < outputs.size(); ++k) {
    if (!ctx.wants_output(k)) {
      outputs[k] = at::Tensor();
      continue;
    }
    if (!outputs[k].defined()) ctx.fail("output " + std::to_string(k) + " is not produced");
    if (half_dtype && outputs[k].scalar_type() == at::kFloat) outputs[k] = outputs[k].to(*half_dtype);
  }
  return outputs;
}

int64_t default_opset(const onnx::ModelProto& model) {
  if (const int64_t version = onnxio::default_opset(model)) return version;
  throw Error("the model imports no default-domain (ai.onnx) opset");
}

}  // namespace htp::optimizer
