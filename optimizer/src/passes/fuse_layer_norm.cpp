// The decomposed layer norm exporters write before opset 17,
//   mean = ReduceMean(x, trailing axes)    d = Sub(x, mean)    var = ReduceMean(Pow(d, 2) | Mul(d, d))
//   y = Div(d, Sqrt(Add(var, eps)))        [Mul(y, scale)]     [Add(·, bias)]
// becomes LayerNormalization(x, scale, bias) over those axes, raising the opset to 17 when the
// model allows it (opset_upgrade.h). scale and bias must be constants that broadcast to exactly the
// normalized shape (missing ones become ones / no bias); intermediate values may have no other
// reader. The fused node is tagged with the pattern's lowest common ancestor scope.
#include "passes/fusion_tags.h"
#include "passes/opset_upgrade.h"
#include "passes/passes.h"
#include "passes/pattern_matching.h"

#include "attributes.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace htp::optimizer {
namespace {

// A ReduceMean's axes (attribute, or constant input from opset 18) as negative trailing axes
// [-k, ..., -1] with keepdims; nullopt otherwise. `rank` is -1 when unknown.
std::optional<int64_t> trailing_axes(const Graph& graph, const onnx::NodeProto& reduce, int64_t rank) {
  if (int_attribute(reduce, "keepdims", 1) != 1) return std::nullopt;
  std::optional<std::vector<int64_t>> axes = ints_attribute(reduce, "axes");
  if (!axes && reduce.input_size() > 1 && !reduce.input(1).empty()) {
    auto value = graph.constant_value(reduce.input(1));
    if (!value) return std::nullopt;
    at::Tensor longs = value->to(at::kLong).reshape({-1});
    axes = std::vector<int64_t>(longs.data_ptr<int64_t>(), longs.data_ptr<int64_t>() + longs.numel());
  }
  if (!axes || axes->empty()) return std::nullopt;
  std::vector<int64_t> negative;
  for (int64_t axis : *axes) {
    if (axis >= 0 && rank < 0) return std::nullopt;
    negative.push_back(axis >= 0 ? axis - rank : axis);
  }
  std::sort(negative.begin(), negative.end());
  const auto count = static_cast<int64_t>(negative.size());
  for (int64_t k = 0; k < count; ++k) {
    if (negative[static_cast<size_t>(k)] != k - count) return std::nullopt;
  }
  return count;
}

struct LayerNormMatch {
  std::vector<onnx::NodeProto*> nodes;  // in graph order; the last one's output is the result
  std::string x;
  int64_t axes = 0;  // normalizes the last `axes` dims
  double epsilon = 0;
  std::string scale;  // constants, "" when absent
  std::string bias;
};

std::optional<LayerNormMatch> match(const Graph& graph, onnx::NodeProto* mean) {
  LayerNormMatch m;
  m.x = mean->input(0);
  auto info = graph.tensor_info(m.x);
  const int64_t rank = info && info->dims ? static_cast<int64_t>(info->dims->size()) : -1;
  auto axes = trailing_axes(graph, *mean, rank);
  if (!axes) return std::nullopt;
  m.axes = *axes;
  onnx::NodeProto* sub = single_reader(graph, mean->output(0));
  if (!is_op(sub, "Sub") || sub->input_size() != 2 || sub->input(0) != m.x || sub->input(1) != mean->output(0)) return std::nullopt;
  const std::string& centered = sub->output(0);
  // d feeds the square and the division, nothing else.
  const auto& readers = graph.consumers(centered);
  if (graph.is_graph_output(centered) || graph.use_count(centered) != readers.size()) return std::nullopt;
  onnx::NodeProto* square = nullptr;
  onnx::NodeProto* div = nullptr;
  for (onnx::NodeProto* reader : readers) {
    if (is_op(reader, "Div") && reader->input(0) == centered && reader->input(1) != centered) div = reader;
    else square = reader;
  }
  if (!div || !square) return std::nullopt;
  const bool pow_two = is_op(square, "Pow") && square->input(0) == centered && constant_scalar(graph, square->input(1)) == 2.0;
  const bool times_itself = is_op(square, "Mul") && square->input(0) == centered && square->input(1) == centered;
  if (!pow_two && !times_itself) return std::nullopt;
  if (readers.size() != (times_itself ? 3u : 2u)) return std::nullopt;
  onnx::NodeProto* variance = single_reader(graph, square->output(0));
  if (!is_op(variance, "ReduceMean") || trailing_axes(graph, *variance, rank) != m.axes) return std::nullopt;
  onnx::NodeProto* add_eps = single_reader(graph, variance->output(0));
  if (!is_op(add_eps, "Add")) return std::nullopt;
  const std::string* eps = other_input(*add_eps, variance->output(0));
  auto epsilon = eps ? constant_scalar(graph, *eps) : std::nullopt;
  if (!epsilon) return std::nullopt;
  m.epsilon = *epsilon;
  onnx::NodeProto* sqrt = single_reader(graph, add_eps->output(0));
  if (!is_op(sqrt, "Sqrt") || single_reader(graph, sqrt->output(0)) != div || div->input(1) != sqrt->output(0)) return std::nullopt;
  m.nodes = {mean, sub, square, variance, add_eps, sqrt, div};
  // Optional affine part: Mul by a constant, then Add of a constant.
  onnx::NodeProto* next = single_reader(graph, div->output(0));
  if (is_op(next, "Mul")) {
    const std::string* scale = other_input(*next, div->output(0));
    if (scale && graph.is_constant(*scale)) {
      m.scale = *scale;
      m.nodes.push_back(next);
      next = single_reader(graph, next->output(0));
    }
  }
  if (is_op(next, "Add")) {
    const std::string* bias = other_input(*next, m.nodes.back()->output(0));
    if (bias && graph.is_constant(*bias)) {
      m.bias = *bias;
      m.nodes.push_back(next);
    }
  }
  return m;
}

// `value` broadcast to `shape` when it broadcasts to exactly that shape; nullopt otherwise.
std::optional<at::Tensor> as_normalized_shape(const at::Tensor& value, const std::vector<int64_t>& shape) {
  if (value.dim() > static_cast<int64_t>(shape.size())) return std::nullopt;
  for (int64_t k = 1; k <= value.dim(); ++k) {
    const int64_t size = value.size(-k);
    if (size != 1 && size != shape[shape.size() - static_cast<size_t>(k)]) return std::nullopt;
  }
  return value.expand(shape).contiguous();
}

class FuseLayerNorm : public Pass {
 public:
  const char* name() const override { return "FuseLayerNorm"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* node : graph.nodes()) {
      if (graph.is_removed(node) || !is_op(node, "ReduceMean")) continue;
      auto m = match(graph, node);
      if (m && fuse(graph, *m)) changed = true;
    }
    return changed;
  }

 private:
  static bool fuse(Graph& graph, const LayerNormMatch& m) {
    // LayerNormalization wants scale (and bias) of the normalized shape, so that must be known.
    auto info = graph.tensor_info(m.x);
    if (!info || !info->dims || static_cast<int64_t>(info->dims->size()) < m.axes) return false;
    const std::vector<int64_t> normalized(info->dims->end() - m.axes, info->dims->end());
    if (std::any_of(normalized.begin(), normalized.end(), [](int64_t d) { return d < 0; })) return false;
    const at::ScalarType dtype = info->elem_type == onnx::TensorProto::DOUBLE  ? at::kDouble
                                 : info->elem_type == onnx::TensorProto::FLOAT16 ? at::kHalf
                                 : info->elem_type == onnx::TensorProto::BFLOAT16 ? at::kBFloat16
                                 : info->elem_type == onnx::TensorProto::FLOAT    ? at::kFloat
                                                                                  : at::ScalarType::Undefined;
    if (dtype == at::ScalarType::Undefined) return false;
    std::optional<at::Tensor> scale = m.scale.empty() ? at::ones(normalized, dtype) : graph.constant_value(m.scale).value();
    std::optional<at::Tensor> bias = m.bias.empty() ? std::nullopt : graph.constant_value(m.bias);
    if (scale) scale = as_normalized_shape(scale->to(dtype), normalized);
    if (bias) bias = as_normalized_shape(bias->to(dtype), normalized);
    if (!scale || (!m.bias.empty() && !bias)) return false;
    if (!ensure_opset(graph, 17)) return false;

    onnx::NodeProto* last = m.nodes.back();
    onnx::NodeProto norm = graph.derived_node(*m.nodes.front(), "LayerNormalization");
    norm.add_input(m.x);
    norm.add_input(reuse_or_add(graph, m.scale, *scale, norm.name() + ".scale"));
    if (bias) norm.add_input(reuse_or_add(graph, m.bias, *bias, norm.name() + ".bias"));
    norm.add_output(last->output(0));
    set_int_attribute(norm, "axis", -m.axes);
    auto* epsilon = norm.add_attribute();
    epsilon->set_name("epsilon");
    epsilon->set_type(onnx::AttributeProto::FLOAT);
    epsilon->set_f(static_cast<float>(m.epsilon));
    tag_fused_node(graph, norm, {m.nodes.begin(), m.nodes.end()});
    for (onnx::NodeProto* node : m.nodes) graph.remove_node(node);
    graph.insert_node(std::move(norm), last);
    // Constants only the pattern read (eps, the exponent, a reshaped scale) go with it.
    for (onnx::NodeProto* node : m.nodes) {
      for (const auto& input : node->input()) graph.remove_constant_if_unused(input);
    }
    return true;
  }

  // The constant's own name when it already has the normalized shape, else a new initializer.
  static std::string reuse_or_add(Graph& graph, const std::string& name, const at::Tensor& value, const std::string& base) {
    if (!name.empty()) {
      auto info = graph.tensor_info(name);
      if (info && info->dims && *info->dims == value.sizes().vec() && info->elem_type != 0 &&
          graph.constant_value(name)->scalar_type() == value.scalar_type()) {
        return name;
      }
    }
    return graph.add_initializer(base, value);
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_layer_norm() { return std::make_unique<FuseLayerNorm>(); }

}  // namespace htp::optimizer
