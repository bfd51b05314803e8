#include "convert/context.h"

#include "convert/convert.h"

#include "htp/exporter/errors.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/tagger.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace htp::exporter {

void ConversionContext::begin_node(const torch::jit::Node* node, std::string scope) {
  node_ = node;
  scope_ = std::move(scope);
}

void ConversionContext::enter_subgraph(onnx::GraphProto& subgraph) {
  enclosing_.push_back({current_, tensors_, lists_});
  current_ = &subgraph;
}

void ConversionContext::leave_subgraph() {
  current_ = enclosing_.back().graph;
  tensors_ = std::move(enclosing_.back().tensors);
  lists_ = std::move(enclosing_.back().lists);
  enclosing_.pop_back();
}

void ConversionContext::fail(const std::string& message) const {
  throw conversion_error(node_ ? node_->kind().toQualString() : "graph", scope_, message);
}

void ConversionContext::bind_parameter(const torch::jit::Value* value, const Parameter& parameter) { parameters_[value] = parameter; }

std::string ConversionContext::tensor(const torch::jit::Value* value) {
  if (auto it = tensors_.find(value); it != tensors_.end()) return it->second;
  if (auto it = parameters_.find(value); it != parameters_.end()) {
    add_initializer(it->second);
    // set_() swaps in an empty storage on the TensorImpl every holder shares, so the bytes go now.
    if (release_parameters_) it->second.value.set_();
    return tensors_[value] = stores_float16(it->second) ? float32_view(it->second.name) : it->second.name;
  }
  auto known = constant(value);
  if (!known) fail("value %" + value->debugName() + " has no ONNX tensor");
  if (known->isTensor()) return tensors_[value] = constant(known->toTensor());
  if (known->isInt()) return int_scalar(known->toInt(), at::kLong);
  if (known->isDouble()) return scalar(known->toDouble(), at::kDouble);
  if (known->isBool()) return scalar(known->toBool() ? 1.0 : 0.0, at::kBool);
  if (known->isIntList()) return constant_ints(known->toIntVector());
  fail("value %" + value->debugName() + " of type " + known->tagKind() + " cannot be a tensor");
}

std::string ConversionContext::tensor_as(const torch::jit::Value* value, at::ScalarType dtype) {
  auto known = constant(value);
  if (known && known->isInt()) return int_scalar(known->toInt(), dtype);
  if (known && (known->isDouble() || known->isBool())) return scalar(known->isDouble() ? known->toDouble() : known->toBool(), dtype);
  std::string name = tensor(value);
  return scalar_type(value) == dtype ? name : cast(name, dtype);
}

std::optional<c10::IValue> ConversionContext::constant(const torch::jit::Value* value) const {
  if (auto it = constants_.find(value); it != constants_.end()) return it->second;
  return std::nullopt;
}

bool ConversionContext::is_none(const torch::jit::Value* value) const {
  auto known = constant(value);
  return known && known->isNone();
}

int64_t ConversionContext::get_int(const torch::jit::Value* value) const {
  auto known = constant(value);
  if (!known || !known->isInt()) fail("expected a constant int for %" + value->debugName());
  return known->toInt();
}

double ConversionContext::get_double(const torch::jit::Value* value) const {
  auto known = constant(value);
  if (!known || !(known->isDouble() || known->isInt())) fail("expected a constant number for %" + value->debugName());
  return known->isDouble() ? known->toDouble() : static_cast<double>(known->toInt());
}

bool ConversionContext::get_bool(const torch::jit::Value* value) const {
  auto known = constant(value);
  if (!known || !(known->isBool() || known->isInt())) fail("expected a constant bool for %" + value->debugName());
  return known->isBool() ? known->toBool() : known->toInt() != 0;
}

std::vector<int64_t> ConversionContext::get_ints(const torch::jit::Value* value) const {
  auto known = constant(value);
  if (known && known->isIntList()) return known->toIntVector();
  if (known && known->isInt()) return {known->toInt()};
  fail("expected a constant int list for %" + value->debugName());
}

std::vector<const torch::jit::Value*> ConversionContext::list_elements(const torch::jit::Value* value) const {
  const torch::jit::Node* producer = value->node();
  if (producer->kind() != c10::prim::ListConstruct) fail("expected a list built by prim::ListConstruct");
  return {producer->inputs().begin(), producer->inputs().end()};
}

size_t ConversionContext::list_length(const torch::jit::Value* value) const {
  if (auto known = constant(value); known && known->isList()) return known->toListRef().size();
  return list_elements(value).size();
}

std::vector<std::string> ConversionContext::tensor_list(const torch::jit::Value* value) {
  if (auto it = lists_.find(value); it != lists_.end()) return it->second;
  std::vector<std::string> names;
  for (const torch::jit::Value* element : list_elements(value)) names.push_back(tensor(element));
  return names;
}

std::string ConversionContext::ints_tensor(const torch::jit::Value* value,
                                           const std::function<int64_t(int64_t)>& map_constant) {
  auto mapped = [&](int64_t x) { return map_constant ? map_constant(x) : x; };
  if (constant(value)) {
    std::vector<int64_t> values = get_ints(value);
    std::transform(values.begin(), values.end(), values.begin(), mapped);
    return constant_ints(values);
  }
  if (value->node()->kind() != c10::prim::ListConstruct) return tensor(value);
  std::vector<std::string> parts;
  std::string axes = constant_ints({0});
  for (const torch::jit::Value* element : list_elements(value)) {
    bool known = constant(element).has_value();
    parts.push_back(known ? constant_ints({mapped(get_int(element))}) : op("Unsqueeze", {tensor_as(element, at::kLong), axes}));
  }
  return op("Concat", parts, {{"axis", int64_t{0}}});
}

at::ScalarType ConversionContext::scalar_type(const torch::jit::Value* value) const {
  if (auto known = constant(value)) {
    if (known->isTensor()) return known->toTensor().scalar_type();
    if (known->isInt()) return at::kLong;
    if (known->isDouble()) return at::kDouble;
    if (known->isBool()) return at::kBool;
  }
  if (auto type = value->type()->cast<c10::TensorType>()) {
    if (auto dtype = type->scalarType()) return *dtype;
  }
  // Python numbers computed at run time (sizes and their arithmetic) are 0-d tensors in ONNX.
  switch (value->type()->kind()) {
    case c10::TypeKind::IntType: return at::kLong;
    case c10::TypeKind::FloatType: return at::kDouble;
    case c10::TypeKind::BoolType: return at::kBool;
    case c10::TypeKind::NumberType:  // aten::ScalarImplicit keeps its 0-d tensor's dtype
      if (value->node()->kind() == c10::aten::ScalarImplicit) return scalar_type(value->node()->input(0));
      [[fallthrough]];
    default: fail("dtype of %" + value->debugName() + " is unknown");
  }
}

int64_t ConversionContext::rank(const torch::jit::Value* value) const {
  if (auto type = value->type()->cast<c10::TensorType>()) {
    if (auto dim = type->dim()) return static_cast<int64_t>(*dim);
  }
  auto kind = value->type()->kind();
  if (kind == c10::TypeKind::IntType || kind == c10::TypeKind::FloatType || kind == c10::TypeKind::BoolType) return 0;
  fail("rank of %" + value->debugName() + " is unknown");
}

std::optional<std::vector<int64_t>> ConversionContext::sizes(const torch::jit::Value* value) const {
  if (auto type = value->type()->cast<c10::TensorType>()) {
    if (auto sizes = type->sizes().concrete_sizes()) return *sizes;
  }
  return std::nullopt;
}

std::string ConversionContext::fresh_name(const std::string& hint) {
  return "onnx::" + hint + "_" + std::to_string(name_counts_[hint]++);
}

std::vector<std::string> ConversionContext::op(const std::string& type, const std::vector<std::string>& inputs,
                                               size_t outputs, const std::vector<Attr>& attrs) {
  onnx::NodeProto* node = current_->add_node();
  node->set_op_type(type);
  for (const auto& input : inputs) node->add_input(input);
  std::vector<std::string> names;
  for (size_t i = 0; i < outputs; ++i) {
    names.push_back(fresh_name(type));
    node->add_output(names.back());
  }
  for (const auto& attr : attrs) {
    onnx::AttributeProto* proto = node->add_attribute();
    proto->set_name(attr.name);
    std::visit(
        [proto](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, int64_t>) {
            proto->set_type(onnx::AttributeProto::INT);
            proto->set_i(v);
          } else if constexpr (std::is_same_v<T, float>) {
            proto->set_type(onnx::AttributeProto::FLOAT);
            proto->set_f(v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            proto->set_type(onnx::AttributeProto::STRING);
            proto->set_s(v);
          } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            proto->set_type(onnx::AttributeProto::INTS);
            for (int64_t x : v) proto->add_ints(x);
          } else if constexpr (std::is_same_v<T, at::Tensor>) {
            proto->set_type(onnx::AttributeProto::TENSOR);
            to_tensor_proto(v, *proto->mutable_t());
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            proto->set_type(onnx::AttributeProto::STRINGS);
            for (const auto& x : v) proto->add_strings(x);
          } else if constexpr (std::is_same_v<T, onnx::GraphProto>) {
            proto->set_type(onnx::AttributeProto::GRAPH);
            *proto->mutable_g() = v;
          } else {
            proto->set_type(onnx::AttributeProto::FLOATS);
            for (float x : v) proto->add_floats(x);
          }
        },
        attr.value);
  }
  tagging::set_node_metadata(*node, tagging::kScopeKey, scope_);
  return names;
}

std::string ConversionContext::op(const std::string& type, const std::vector<std::string>& inputs,
                                  const std::vector<Attr>& attrs) {
  return op(type, inputs, 1, attrs).front();
}

std::string ConversionContext::constant(const at::Tensor& value) {
  return op("Constant", {}, {{"value", value}});
}

std::string ConversionContext::constant_ints(const std::vector<int64_t>& values) {
  return constant(at::tensor(values, at::kLong));
}

std::string ConversionContext::scalar(double value, at::ScalarType dtype) {
  return constant(at::scalar_tensor(value, at::TensorOptions().dtype(dtype)));
}

std::string ConversionContext::int_scalar(int64_t value, at::ScalarType dtype) {
  return constant(at::scalar_tensor(value, at::TensorOptions().dtype(dtype)));
}

std::string ConversionContext::cast(const std::string& input, at::ScalarType dtype) {
  return op("Cast", {input}, {{"to", static_cast<int64_t>(onnx_dtype(dtype))}});
}

std::string ConversionContext::float32_view(const std::string& parameter) {
  auto [it, added] = float32_views_.try_emplace(parameter);
  if (!added) return it->second;
  onnx::GraphProto* current = current_;
  current_ = &graph_;  // precedes the control-flow node whose subgraph is being built, if any
  it->second = cast(parameter, at::kFloat);
  current_ = current;
  return it->second;
}

void ConversionContext::add_initializer(const Parameter& parameter) {
  if (!initializers_.insert(parameter.name).second) return;  // one parameter reached through several values
  onnx::TensorProto* proto = graph_.add_initializer();
  proto->set_name(parameter.name);
  const bool float16 = stores_float16(parameter);
  if (!parameter.streamed) {
    to_tensor_proto(float16 ? stored_as_float16(parameter.name, parameter.value) : parameter.value, *proto);
    return;
  }
  proto->set_data_type(onnx_dtype(float16 ? at::kHalf : parameter.value.scalar_type()));
  for (int64_t size : parameter.value.sizes()) proto->add_dims(size);
}

void ConversionContext::rename_output(const std::string& from, const std::string& to) {
  bool produced = false;
  for (auto& node : *graph_.mutable_node()) {
    for (auto& output : *node.mutable_output()) {
      if (output == from) {
        output = to;
        produced = true;
      }
    }
  }
  if (!produced) {  // a graph input or initializer returned as is
    std::string copy = op("Identity", {from});
    rename_output(copy, to);
    return;
  }
  rename_input(graph_, from, to);
}

// Subgraphs read the enclosing graph's tensors by name, so their readers are renamed too.
void ConversionContext::rename_input(onnx::GraphProto& graph, const std::string& from, const std::string& to) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& input : *node.mutable_input()) {
      if (input == from) input = to;
    }
    for (auto& attribute : *node.mutable_attribute()) {
      if (attribute.has_g()) rename_input(*attribute.mutable_g(), from, to);
    }
  }
}

}  // namespace htp::exporter
