// Removes ops that pass their first input through unchanged: Identity, inference-mode Dropout,
// single-input Concat, and Cast/Reshape/Transpose/Expand when the types and shapes the model
// declares prove them no-ops. Readers of the output read the input instead.
#include "passes/passes.h"

#include "attributes.h"

#include <ATen/ATen.h>

namespace htp::optimizer {
namespace {

bool is_false_constant(const Graph& graph, const std::string& tensor) {
  auto value = graph.constant_value(tensor);
  return value && value->numel() == 1 && !value->item<bool>();
}

bool dropout_is_identity(const Graph& graph, const onnx::NodeProto& node) {
  if (node.output_size() > 1 && !node.output(1).empty() && graph.use_count(node.output(1)) > 0) return false;
  if (int_attribute(node, "is_test", 1) == 0) return false;  // opset < 7 training mode
  // Opset 12+: the optional third input switches training on.
  return node.input_size() < 3 || node.input(2).empty() || is_false_constant(graph, node.input(2));
}

bool cast_is_identity(const Graph& graph, const onnx::NodeProto& node) {
  auto input = graph.tensor_info(node.input(0));
  return input && input->elem_type != 0 && input->elem_type == int_attribute(node, "to", 0);
}

bool transpose_is_identity(const Graph& graph, const onnx::NodeProto& node) {
  const auto order = transpose_order(node, graph.rank(node.input(0)));
  if (!order) return false;
  for (size_t axis = 0; axis < order->size(); ++axis) {
    if ((*order)[axis] != static_cast<int64_t>(axis)) return false;
  }
  return true;
}

// The static input shape, if `shape_input` is a constant describing exactly it.
bool reshape_is_identity(const Graph& graph, const onnx::NodeProto& node) {
  auto input = graph.tensor_info(node.input(0));
  auto shape = graph.constant_value(node.input(1));
  if (!input || !input->is_static() || !shape || shape->dim() != 1) return false;
  const std::vector<int64_t>& dims = *input->dims;
  if (shape->numel() != static_cast<int64_t>(dims.size())) return false;
  const bool allow_zero = int_attribute(node, "allowzero", 0) != 0;
  const at::Tensor target = shape->to(at::kLong);
  int64_t inferred = 0;
  for (size_t axis = 0; axis < dims.size(); ++axis) {
    const int64_t wanted = target[axis].item<int64_t>();
    if (wanted == -1) {
      ++inferred;
    } else if (!(wanted == dims[axis] || (wanted == 0 && !allow_zero))) {
      return false;
    }
  }
  // With every other dimension equal, a single -1 can only stand for the remaining one (unless a
  // zero-sized dimension makes it ambiguous, which ONNX rejects anyway).
  return inferred <= 1;
}

bool expand_is_identity(const Graph& graph, const onnx::NodeProto& node) {
  auto input = graph.tensor_info(node.input(0));
  auto shape = graph.constant_value(node.input(1));
  if (!input || !input->is_static() || !shape || shape->dim() != 1) return false;
  const std::vector<int64_t>& dims = *input->dims;
  if (shape->numel() > static_cast<int64_t>(dims.size())) return false;
  const at::Tensor target = shape->to(at::kLong);
  // Right-aligned broadcast: every target dim must be 1 or equal to the input's.
  const size_t offset = dims.size() - target.numel();
  for (int64_t axis = 0; axis < target.numel(); ++axis) {
    const int64_t wanted = target[axis].item<int64_t>();
    if (wanted != 1 && wanted != dims[offset + axis]) return false;
  }
  return true;
}

bool is_identity(const Graph& graph, const onnx::NodeProto& node) {
  if (!node.domain().empty() || node.input_size() == 0 || node.input(0).empty() || node.output_size() == 0) return false;
  const std::string& op = node.op_type();
  if (op == "Identity") return true;
  if (op == "Dropout") return dropout_is_identity(graph, node);
  if (op == "Concat") return node.input_size() == 1;
  if (op == "Cast") return cast_is_identity(graph, node);
  if (op == "Transpose") return transpose_is_identity(graph, node);
  if (op == "Reshape") return node.input_size() == 2 && reshape_is_identity(graph, node);
  if (op == "Expand") return node.input_size() == 2 && expand_is_identity(graph, node);
  return false;
}

class EliminateIdentity : public Pass {
 public:
  const char* name() const override { return "EliminateIdentity"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* node : graph.nodes()) {
      if (!is_identity(graph, *node)) continue;
      if (!graph.replace_all_uses(node->output(0), node->input(0))) continue;
      graph.remove_node(node);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_identity() { return std::make_unique<EliminateIdentity>(); }

}  // namespace htp::optimizer
