#include "htp/analysis/costs.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/shape_inference.h"
#include "htp/onnxio/tensor_data.h"

#include <onnx/defs/schema.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <set>
#include <unordered_set>

namespace htp::analysis {
namespace {

using Shape = std::vector<int64_t>;

struct TensorType {
  int32_t elem_type = 0;
  Shape dims;
};

// Bytes per element; 0 for strings and undefined types, which have no static size.
int64_t element_bytes(int32_t elem_type) { return static_cast<int64_t>(onnxio::element_size(elem_type)); }

std::optional<int64_t> checked_bytes(const TensorType& type) {
  const std::optional<int64_t> elements = onnxio::checked_product(type.dims);
  return elements ? onnxio::checked_mul(*elements, element_bytes(type.elem_type)) : std::nullopt;
}

double elements(const Shape& dims, size_t from = 0) {
  double count = 1;
  for (size_t i = from; i < dims.size(); ++i) count *= static_cast<double>(dims[i]);
  return count;
}

void bind_dims(onnx::ValueInfoProto& value, const std::map<std::string, int64_t>& dims) {
  if (!value.type().has_tensor_type() || !value.type().tensor_type().has_shape()) return;
  for (auto& dim : *value.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim()) {
    if (!dim.has_dim_param()) continue;
    const auto bound = dims.find(dim.dim_param());
    if (bound != dims.end()) dim.set_dim_value(bound->second);
  }
}

// onnxio's shape-inference copy with the symbolic dims named in `dims` set to their values.
onnx::ModelProto inference_copy(const onnx::ModelProto& model, const std::map<std::string, int64_t>& dims) {
  onnx::ModelProto copy = onnxio::shape_inference_copy(model);
  onnx::GraphProto& typed = *copy.mutable_graph();
  for (auto* values : {typed.mutable_input(), typed.mutable_output(), typed.mutable_value_info()}) {
    for (auto& value : *values) bind_dims(value, dims);
  }
  return copy;
}

// The element type and static shape of every tensor whose shape is fully known.
class TypeTable {
 public:
  explicit TypeTable(const onnx::ModelProto& inferred) {
    const onnx::GraphProto& graph = inferred.graph();
    for (const auto* values : {&graph.input(), &graph.value_info(), &graph.output()}) {
      for (const auto& value : *values) add(value);
    }
    for (const auto& tensor : graph.initializer()) {
      record(tensor.name(), {tensor.data_type(), Shape(tensor.dims().begin(), tensor.dims().end())});
    }
  }

  const TensorType* find(const std::string& name) const {
    const auto found = types_.find(name);
    return found == types_.end() ? nullptr : &found->second;
  }

  const std::unordered_map<std::string, TensorType>& all() const { return types_; }

 private:
  void add(const onnx::ValueInfoProto& value) {
    if (!value.type().has_tensor_type()) return;
    const auto& tensor = value.type().tensor_type();
    if (!tensor.has_shape()) return;
    TensorType type{tensor.elem_type(), {}};
    for (const auto& dim : tensor.shape().dim()) {
      if (!dim.has_dim_value() || dim.dim_value() < 0) return;
      type.dims.push_back(dim.dim_value());
    }
    record(value.name(), std::move(type));
  }

  // Declared sizes are untrusted: a shape whose byte count overflows int64 counts as unknown.
  void record(const std::string& name, TensorType type) {
    if (checked_bytes(type)) types_[name] = std::move(type);
  }

  std::unordered_map<std::string, TensorType> types_;
};

// TypeTable holds only types whose bytes fit.
int64_t tensor_bytes(const TensorType& type) { return checked_bytes(type).value_or(0); }

int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == name) return attribute.i();
  }
  return fallback;
}

Shape ints_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == name) return Shape(attribute.ints().begin(), attribute.ints().end());
  }
  return {};
}

// A node's static input and output shapes (every one is known when a formula runs).
class NodeShapes {
 public:
  NodeShapes(const onnx::NodeProto& node, const TypeTable& types) : node_(node), types_(types) {}

  bool all_known() const {
    for (const auto* names : {&node_.input(), &node_.output()}) {
      for (const auto& name : *names) {
        if (!name.empty() && types_.find(name) == nullptr) return false;
      }
    }
    return true;
  }

  const onnx::NodeProto& node() const { return node_; }
  const Shape& input(int index) const { return types_.find(node_.input(index))->dims; }
  const Shape& output(int index) const { return types_.find(node_.output(index))->dims; }
  bool has_input(int index) const { return index < node_.input_size() && !node_.input(index).empty(); }
  int present_inputs() const {
    int count = 0;
    for (const auto& name : node_.input()) count += name.empty() ? 0 : 1;
    return count;
  }

 private:
  const onnx::NodeProto& node_;
  const TypeTable& types_;
};

struct Compute {
  double macs = 0;
  double flops = 0;
};

Compute multiply_accumulates(double macs) { return {macs, 2 * macs}; }
Compute operations(double flops) { return {0, flops}; }

// Y[N, M, out...] = sum over C/group input channels and the kernel window; W is [M, C/group, k...].
Compute conv(const NodeShapes& s) { return multiply_accumulates(elements(s.output(0)) * elements(s.input(1), 1)); }

// Every input element is multiplied by the (M/group) x kernel weights it scatters to; W is [C, M/group, k...].
Compute conv_transpose(const NodeShapes& s) {
  return multiply_accumulates(elements(s.input(0)) * elements(s.input(1), 1));
}

Compute gemm(const NodeShapes& s) {
  const Shape& a = s.input(0);
  const int64_t inner = int_attribute(s.node(), "transA", 0) != 0 ? a[0] : a[1];
  return multiply_accumulates(elements(s.output(0)) * static_cast<double>(inner));
}

// Batched and broadcast: every output element is a dot product over A's last dim.
Compute matmul(const NodeShapes& s) {
  return multiply_accumulates(elements(s.output(0)) * static_cast<double>(s.input(0).back()));
}

Compute windowed_pool(const NodeShapes& s) {
  return operations(elements(s.output(0)) * elements(ints_attribute(s.node(), "kernel_shape")));
}

Compute per_input_element(const NodeShapes& s) { return operations(elements(s.input(0))); }
Compute per_output_element(const NodeShapes& s) { return operations(elements(s.output(0))); }

// Inference-mode batch norm folds its four parameters into one scale and one shift per channel.
Compute batch_norm(const NodeShapes& s) { return operations(2 * elements(s.input(0))); }

// Mean (1), centring (1), square (1), variance sum (1), scaling by 1/std (1), then 1 per affine
// parameter (scale, bias) the node has.
Compute statistics_norm(const NodeShapes& s) {
  return operations(elements(s.input(0)) * (5 + (s.has_input(1) ? 1 : 0) + (s.has_input(2) ? 1 : 0)));
}

// Max (1), subtract max (1), exp (1), sum (1), divide or log-subtract (1).
Compute softmax(const NodeShapes& s) { return operations(5 * elements(s.input(0))); }

// Sum/Max/Min of n inputs: n - 1 binary operations per output element; Mean adds one division.
Compute variadic(const NodeShapes& s) {
  const int extra = s.node().op_type() == "Mean" ? 1 : 0;
  return operations(elements(s.output(0)) * (s.present_inputs() - 1 + extra));
}

Compute no_compute(const NodeShapes&) { return {}; }

using Formula = std::function<Compute(const NodeShapes&)>;

const std::unordered_map<std::string, Formula>& formulas() {
  static const std::unordered_map<std::string, Formula> table = [] {
    std::unordered_map<std::string, Formula> table{
        {"Conv", conv},
        {"ConvTranspose", conv_transpose},
        {"Gemm", gemm},
        {"MatMul", matmul},
        {"MaxPool", windowed_pool},
        {"AveragePool", windowed_pool},
        {"LpPool", windowed_pool},
        {"GlobalAveragePool", per_input_element},
        {"GlobalMaxPool", per_input_element},
        {"GlobalLpPool", per_input_element},
        {"BatchNormalization", batch_norm},
        {"LayerNormalization", statistics_norm},
        {"InstanceNormalization", statistics_norm},
        {"Softmax", softmax},
        {"LogSoftmax", softmax},
        {"Sum", variadic},
        {"Mean", variadic},
        {"Max", variadic},
        {"Min", variadic},
    };
    // One operation per output element, transcendental functions included.
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "PRelu", "Relu", "LeakyRelu", "Elu",
                           "Selu", "Celu", "Gelu", "Abs", "Neg", "Reciprocal", "Sqrt", "Exp", "Log", "Sin",
                           "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
                           "Tanh", "Sigmoid", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish",
                           "ThresholdedRelu", "Shrink", "Erf", "Sign", "Floor", "Ceil", "Round", "Clip", "Not",
                           "And", "Or", "Xor", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                           "IsNaN", "IsInf", "BitShift", "Where"}) {
      table.emplace(op, per_output_element);
    }
    // One operation per input element.
    for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                           "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin",
                           "CumSum"}) {
      table.emplace(op, per_input_element);
    }
    // Data movement and type conversion: bytes only.
    for (const char* op : {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split", "Slice",
                           "Gather", "GatherElements", "GatherND", "Expand", "Tile", "Pad", "Identity", "Dropout",
                           "Cast", "CastLike", "Shape", "Size", "Constant", "ConstantOfShape", "Range",
                           "DepthToSpace", "SpaceToDepth", "ScatterND", "ScatterElements", "Resize", "Trilu",
                           "EyeLike", "OneHot"}) {
      table.emplace(op, no_compute);
    }
    return table;
  }();
  return table;
}

// Ops that read their inputs' shapes, not their values.
bool reads_only_shapes(const std::string& op_type) { return op_type == "Shape" || op_type == "Size"; }

class CostModel {
 public:
  CostModel(const onnx::GraphProto& graph, const TypeTable& types) : types_(types) {
    for (const auto& tensor : graph.initializer()) weights_.insert(tensor.name());
    for (const auto& node : graph.node()) {
      if (node.op_type() == "Constant") weights_.insert(node.output().begin(), node.output().end());
    }
  }

  NodeCost cost(const onnx::NodeProto& node) {
    NodeCost cost;
    // A Constant's value is counted where it is read, as weight bytes.
    if (node.op_type() == "Constant") return cost;
    const NodeShapes shapes(node, types_);
    if (!shapes.all_known()) {
      cost.known = false;
      return cost;
    }
    const auto formula = formulas().find(node.op_type());
    if (formula != formulas().end()) {
      const Compute compute = formula->second(shapes);
      cost.macs = compute.macs;
      cost.flops = compute.flops;
    } else if (unsupported_.insert(node.op_type()).second) {
      spdlog::warn("costs: no FLOP formula for {} (node {}); counting its bytes only", node.op_type(), node.name());
    }
    if (!reads_only_shapes(node.op_type())) count_reads(node, cost);
    for (const auto& name : node.output()) {
      if (!name.empty()) cost.bytes_written += tensor_bytes(*types_.find(name));
    }
    return cost;
  }

 private:
  // A tensor a node names twice (Mul(x, x)) is read once.
  void count_reads(const onnx::NodeProto& node, NodeCost& cost) const {
    std::set<std::string> read;
    for (const auto& name : node.input()) {
      if (name.empty() || !read.insert(name).second) continue;
      const int64_t bytes = tensor_bytes(*types_.find(name));
      (weights_.count(name) > 0 ? cost.weight_bytes_read : cost.activation_bytes_read) += bytes;
    }
  }

  const TypeTable& types_;
  std::unordered_set<std::string> weights_;
  std::unordered_set<std::string> unsupported_;
};

using onnxio::ShapeValues;

// Runs ONNX shape inference on `model`; returns the integer tensors data propagation computed (shape
// arithmetic: Shape, Gather, Concat, ...), each as a TensorShapeProto of its values.
ShapeValues infer_shapes(onnx::ModelProto& model) {
  try {
    return onnxio::infer_shapes(model);
  } catch (const Error& e) {
    throw Error(std::string("costs: ") + e.what());
  }
}

// The propagated values that are fully static, of static-shaped int32/int64 tensors that are not yet
// initializers, as initializers.
std::vector<onnx::TensorProto> static_values(const onnx::ModelProto& inferred, const ShapeValues& values) {
  std::unordered_set<std::string> initializers;
  for (const auto& tensor : inferred.graph().initializer()) initializers.insert(tensor.name());
  std::vector<onnx::TensorProto> found;
  for (const auto& value : inferred.graph().value_info()) {
    const auto propagated = values.find(value.name());
    if (propagated == values.end() || initializers.count(value.name()) > 0) continue;
    const auto& type = value.type().tensor_type();
    const int32_t elem_type = type.elem_type();
    if (elem_type != onnx::TensorProto::INT64 && elem_type != onnx::TensorProto::INT32) continue;
    if (!type.has_shape() || type.shape().dim_size() > 1) continue;
    const auto& data = propagated->second.dim();
    const bool all_static = std::all_of(data.begin(), data.end(), [](const auto& dim) { return dim.has_dim_value(); });
    const bool sized = type.shape().dim_size() == 0 ? data.size() == 1
                                                    : type.shape().dim(0).has_dim_value() && type.shape().dim(0).dim_value() == data.size();
    if (!all_static || !sized) continue;
    onnx::TensorProto& tensor = found.emplace_back();
    tensor.set_name(value.name());
    tensor.set_data_type(elem_type);
    if (type.shape().dim_size() == 1) tensor.add_dims(data.size());
    for (const auto& dim : data) {
      elem_type == onnx::TensorProto::INT64 ? tensor.add_int64_data(dim.dim_value())
                                            : tensor.add_int32_data(static_cast<int32_t>(dim.dim_value()));
    }
  }
  return found;
}

// Shape inference, repeated with the shape values it computed declared as initializers: the
// inference of Range, ConstantOfShape, Expand and others reads only initializer values, not the
// propagated ones, so positions computed from a sequence length need a second round.
onnx::ModelProto inferred_copy(const onnx::ModelProto& model, const std::map<std::string, int64_t>& dims) {
  constexpr int kMaxRounds = 8;
  const onnx::ModelProto base = inference_copy(model, dims);
  std::vector<onnx::TensorProto> known_values;
  for (int round = 0;; ++round) {
    onnx::ModelProto copy = base;
    for (const auto& tensor : known_values) *copy.mutable_graph()->add_initializer() = tensor;
    const ShapeValues values = infer_shapes(copy);
    std::vector<onnx::TensorProto> more = static_values(copy, values);
    if (more.empty() || round + 1 == kMaxRounds) return copy;
    std::move(more.begin(), more.end(), std::back_inserter(known_values));
  }
}

}  // namespace

double GraphCosts::total_macs() const {
  double total = 0;
  for (const auto& node : nodes) total += node.macs;
  return total;
}

double GraphCosts::total_flops() const {
  double total = 0;
  for (const auto& node : nodes) total += node.flops;
  return total;
}

GraphCosts compute_costs(const onnx::ModelProto& model, const std::map<std::string, int64_t>& dims) {
  const onnx::ModelProto inferred = inferred_copy(model, dims);
  const TypeTable types(inferred);
  CostModel costs(model.graph(), types);
  GraphCosts result;
  result.nodes.reserve(model.graph().node_size());
  for (const auto& node : model.graph().node()) result.nodes.push_back(costs.cost(node));
  for (const auto& [name, type] : types.all()) {
    if (element_bytes(type.elem_type) > 0) result.tensor_bytes[name] = tensor_bytes(type);
  }
  return result;
}

}  // namespace htp::analysis
