// State shared by the aten→ONNX converters while one TorchScript graph is converted.
#pragma once

#include "htp/optimizer/tensor_proto.h"
#include "traced_graph.h"

#include <onnx/onnx_pb.h>
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace htp::exporter {

struct Attr {
  std::string name;
  std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>, at::Tensor, std::vector<std::string>,
               onnx::GraphProto>
      value;
};

class ConversionContext {
 public:
  // With `release_parameters`, a parameter's tensor gives up its storage once it is an initializer. With
  // `float16_parameters`, float32 parameters are float16 initializers read through a Cast.
  ConversionContext(onnx::GraphProto& graph, bool release_parameters = false, bool float16_parameters = false)
      : graph_(graph), current_(&graph), release_parameters_(release_parameters), float16_parameters_(float16_parameters) {}

  // Nodes emitted between the two calls go to `subgraph` (a branch of an ONNX If): they may read
  // the enclosing graphs' tensors by name, and what they bind is forgotten on leaving, since
  // their names exist only inside it. Initializers always go to the main graph.
  void enter_subgraph(onnx::GraphProto& subgraph);
  void leave_subgraph();
  // A new tensor name, unique in the model (a subgraph's input).
  std::string fresh_name(const std::string& hint);

  // The aten node being converted: its scope goes on every node emitted until the next call,
  // and errors name it.
  void begin_node(const torch::jit::Node* node, std::string scope);
  const std::string& scope() const { return scope_; }
  [[noreturn]] void fail(const std::string& message) const;

  // ---- values
  void bind(const torch::jit::Value* value, std::string onnx_name) { tensors_[value] = std::move(onnx_name); }
  void bind_constant(const torch::jit::Value* value, c10::IValue constant) { constants_[value] = std::move(constant); }
  // A parameter is written as an initializer the first time a converter uses it.
  void bind_parameter(const torch::jit::Value* value, const Parameter& parameter);
  // The ONNX tensor holding `value`; constants (tensors and scalars) become Constant nodes.
  std::string tensor(const torch::jit::Value* value);
  // `value` as an ONNX tensor of `dtype` (a Cast is added when the traced dtype differs).
  std::string tensor_as(const torch::jit::Value* value, at::ScalarType dtype);
  std::optional<c10::IValue> constant(const torch::jit::Value* value) const;
  bool is_none(const torch::jit::Value* value) const;
  int64_t get_int(const torch::jit::Value* value) const;
  double get_double(const torch::jit::Value* value) const;
  bool get_bool(const torch::jit::Value* value) const;
  std::vector<int64_t> get_ints(const torch::jit::Value* value) const;
  // The elements of a list built by prim::ListConstruct (tensor lists for cat, stack, ...).
  std::vector<const torch::jit::Value*> list_elements(const torch::jit::Value* value) const;
  // The static length of a list: constant or built by prim::ListConstruct.
  size_t list_length(const torch::jit::Value* value) const;
  // A list of tensors as ONNX names: a prim::ListConstruct's elements, or what a list-producing
  // converter (split, chunk, unbind) bound with bind_list.
  void bind_list(const torch::jit::Value* value, std::vector<std::string> names) { lists_[value] = std::move(names); }
  std::vector<std::string> tensor_list(const torch::jit::Value* value);
  // An int list (sizes, shapes) as a 1-D int64 tensor: constant, built from runtime ints
  // (aten::size results), or a Shape.
  // `map_constant` rewrites the constant elements (expand's -1 → 1).
  std::string ints_tensor(const torch::jit::Value* value, const std::function<int64_t(int64_t)>& map_constant = {});

  // ---- types recorded by the trace
  at::ScalarType scalar_type(const torch::jit::Value* value) const;
  int64_t rank(const torch::jit::Value* value) const;
  // Static sizes, when every dimension is known.
  std::optional<std::vector<int64_t>> sizes(const torch::jit::Value* value) const;

  // ---- emission (every node gets htp.scope = scope())
  std::vector<std::string> op(const std::string& type, const std::vector<std::string>& inputs, size_t outputs,
                              const std::vector<Attr>& attrs = {});
  std::string op(const std::string& type, const std::vector<std::string>& inputs, const std::vector<Attr>& attrs = {});
  std::string constant(const at::Tensor& value);
  std::string constant_ints(const std::vector<int64_t>& values);
  std::string scalar(double value, at::ScalarType dtype);
  // Exact for every int64 (a double holds 53 bits; a `while` loop's trip count is INT64_MAX).
  std::string int_scalar(int64_t value, at::ScalarType dtype);
  std::string cast(const std::string& input, at::ScalarType dtype);
  void add_initializer(const Parameter& parameter);
  // Whether `parameter` is stored as float16 (and read through a Cast to float32).
  bool stores_float16(const Parameter& parameter) const {
    return float16_parameters_ && parameter.value.scalar_type() == at::kFloat;
  }
  // The float32 value of a float16 parameter: one Cast in the main graph, wherever it is read (a loop
  // body reads it without casting per iteration), scoped as the node that first reads it.
  std::string float32_view(const std::string& parameter);

  // A graph output name: renames the producing node's output when possible.
  void rename_output(const std::string& from, const std::string& to);

 private:
  static void rename_input(onnx::GraphProto& graph, const std::string& from, const std::string& to);

  onnx::GraphProto& graph_;
  onnx::GraphProto* current_;  // where op() emits
  struct Enclosing {
    onnx::GraphProto* graph;
    std::unordered_map<const torch::jit::Value*, std::string> tensors;
    std::unordered_map<const torch::jit::Value*, std::vector<std::string>> lists;
  };
  std::vector<Enclosing> enclosing_;
  const torch::jit::Node* node_ = nullptr;
  std::string scope_;
  std::unordered_map<const torch::jit::Value*, std::string> tensors_;
  std::unordered_map<const torch::jit::Value*, c10::IValue> constants_;
  std::unordered_map<const torch::jit::Value*, std::vector<std::string>> lists_;
  std::unordered_map<const torch::jit::Value*, Parameter> parameters_;
  std::unordered_map<std::string, size_t> name_counts_;
  std::unordered_set<std::string> initializers_;
  std::unordered_map<std::string, std::string> float32_views_;  // float16 parameter → its Cast's output
  bool release_parameters_;
  bool float16_parameters_;
};

using optimizer::onnx_dtype;
using optimizer::to_tensor_proto;

}  // namespace htp::exporter
