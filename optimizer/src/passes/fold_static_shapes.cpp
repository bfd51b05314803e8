// Turns shape queries the model's declared types already answer into constants: Shape (with its
// start/end) of a tensor whose dims in that range are all known, Size of a tensor of static shape,
// and Gather/Slice with constant indices that pick only known dims out of a Shape. A symbolic or
// unknown dim is never folded, so Shape→Gather→Unsqueeze→Concat→Reshape chains on dynamic axes
// stay intact and the model still runs at other sizes; FoldConstants then takes the rest of the
// static chains. Types come from value_info, which optimize() fills with ONNX shape inference.
#include "passes/folding.h"
#include "passes/passes.h"

#include "attributes.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/optimizer/evaluator.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace htp::optimizer {
namespace {

// Unknown dims are -1 here, as in TensorInfo; no real size is negative.
constexpr int64_t kUnknown = -1;

at::Tensor longs(const std::vector<int64_t>& values) {
  return at::tensor(at::ArrayRef<int64_t>(values), at::kLong);
}

// The dims a Shape node reports (start/end applied as opset 15 clamps them), unknown ones as -1;
// nullopt when not even the input's rank is known.
std::optional<std::vector<int64_t>> reported_dims(const Graph& graph, const onnx::NodeProto& shape) {
  auto info = graph.tensor_info(shape.input(0));
  if (!info || !info->dims) return std::nullopt;
  const std::vector<int64_t>& dims = *info->dims;
  const auto rank = static_cast<int64_t>(dims.size());
  auto clamp = [rank](int64_t bound) { return std::clamp(bound < 0 ? bound + rank : bound, int64_t{0}, rank); };
  const int64_t start = clamp(int_attribute(shape, "start", 0));
  const int64_t end = clamp(int_attribute(shape, "end", rank));
  if (start >= end) return std::vector<int64_t>{};
  return std::vector<int64_t>(dims.begin() + start, dims.begin() + end);
}

bool all_known(const std::vector<int64_t>& dims) {
  return std::none_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; });
}

std::optional<at::Tensor> static_shape(const Graph& graph, const onnx::NodeProto& node) {
  auto dims = reported_dims(graph, node);
  if (!dims || !all_known(*dims)) return std::nullopt;
  return longs(*dims);
}

std::optional<at::Tensor> static_size(const Graph& graph, const onnx::NodeProto& node) {
  auto info = graph.tensor_info(node.input(0));
  if (!info || !info->is_static()) return std::nullopt;
  const std::optional<int64_t> size = onnxio::checked_product(*info->dims);
  if (!size) return std::nullopt;  // declared dims whose product overflows int64: Size stays a node
  return at::scalar_tensor(*size, at::kLong);
}

// Gather or Slice of a Shape output with constant indices: evaluated on the reported dims with
// unknown ones marked; folds when no marked dim is picked.
std::optional<at::Tensor> picked_dims(const Graph& graph, const onnx::NodeProto& node) {
  if (node.input_size() == 0) return std::nullopt;
  const onnx::NodeProto* shape = graph.producer(node.input(0));
  if (!shape || shape->op_type() != "Shape" || !onnxio::is_default_domain(shape->domain()) || graph.is_removed(shape)) return std::nullopt;
  auto dims = reported_dims(graph, *shape);
  if (!dims) return std::nullopt;
  std::vector<at::Tensor> inputs{longs(*dims)};
  for (int k = 1; k < node.input_size(); ++k) {
    const std::string& name = node.input(k);
    if (name.empty()) {
      inputs.emplace_back();
      continue;
    }
    auto value = graph.constant_value(name);
    if (!value) return std::nullopt;
    inputs.push_back(*value);
  }
  at::Tensor picked;
  try {
    picked = evaluate_node(node, inputs, graph.opset()).at(0);
  } catch (const Error&) {
    return std::nullopt;  // invalid indices: left for the runtime to report
  }
  if (picked.numel() > 0 && picked.min().item<int64_t>() < 0) return std::nullopt;
  return picked;
}

class FoldStaticShapes : public Pass {
 public:
  const char* name() const override { return "FoldStaticShapes"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* node : graph.nodes()) {
      if (graph.is_removed(node) || !onnxio::is_default_domain(node->domain()) || node->output_size() != 1) continue;
      std::optional<at::Tensor> value = folded_value(graph, *node);
      if (value && replace_with_initializers(graph, node, {*value})) changed = true;
    }
    return changed;
  }

 private:
  static std::optional<at::Tensor> folded_value(const Graph& graph, const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (op == "Shape") return static_shape(graph, node);
    if (op == "Size") return static_size(graph, node);
    if (op == "Gather" || op == "Slice") return picked_dims(graph, node);
    return std::nullopt;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fold_static_shapes() { return std::make_unique<FoldStaticShapes>(); }

}  // namespace htp::optimizer
