// Conv followed by Add, Sub, Mul or Div with a constant that is the same for every position of an
// output channel (shape broadcasting to [1, M or 1, 1, ...]) folds into the Conv's weight and bias:
// conv(x) + c -> b' = b + c;  conv(x) * c -> W' = W * c, b' = b * c (Sub and Div likewise, with
// the Conv output as the left operand). The Conv keeps its tags.
#include "passes/conv_folding.h"
#include "passes/passes.h"

#include <ATen/ATen.h>

namespace htp::optimizer {
namespace {

// `constant` as one value per output channel, if it broadcasts that way onto a rank-`rank` output
// without enlarging it.
std::optional<at::Tensor> per_channel(const at::Tensor& constant, int64_t rank, int64_t channels) {
  if (constant.dim() > rank) return std::nullopt;
  std::vector<int64_t> dims(rank - constant.dim(), 1);
  dims.insert(dims.end(), constant.sizes().begin(), constant.sizes().end());
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (dims[axis] != 1 && !(axis == 1 && dims[axis] == channels)) return std::nullopt;
  }
  return constant.reshape({-1}).to(at::kDouble).expand({channels});
}

class FuseConvAddMul : public Pass {
 public:
  const char* name() const override { return "FuseConvAddMul"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* node : graph.nodes()) {
      if (graph.is_removed(node) || !node->domain().empty() || node->input_size() != 2) continue;
      const std::string& op = node->op_type();
      if (op != "Add" && op != "Sub" && op != "Mul" && op != "Div") continue;
      // Add and Mul commute; Sub and Div only fold with the Conv on the left.
      const bool commutes = op == "Add" || op == "Mul";
      for (int side = 0; side < (commutes ? 2 : 1); ++side) {
        if (fuse(graph, *node, side)) {
          changed = true;
          break;
        }
      }
    }
    return changed;
  }

 private:
  static bool fuse(Graph& graph, onnx::NodeProto& node, int conv_side) {
    // The cheap checks first: the operand and the weight's shape, before any weight is read.
    onnx::NodeProto* conv = graph.producer(node.input(conv_side));
    if (conv == nullptr || conv->op_type() != "Conv" || conv->input_size() < 2) return false;
    auto weight = graph.tensor_info(conv->input(1));
    auto constant = graph.constant_value(node.input(1 - conv_side));
    if (!weight || !weight->dims || weight->dims->empty() || !constant) return false;
    const std::string& op = node.op_type();
    const int64_t rank = static_cast<int64_t>(weight->dims->size());
    auto values = per_channel(*constant, rank, weight->dims->front());
    if (!values || (op == "Div" && values->eq(0).any().item<bool>())) return false;
    auto parameters = foldable_conv(graph, conv, node);
    if (!parameters || constant->scalar_type() != parameters->dtype()) return false;
    if (op == "Add") parameters->bias = parameters->bias + *values;
    if (op == "Sub") parameters->bias = parameters->bias - *values;
    if (op == "Mul") {
      parameters->scale_weight(*values);
      parameters->bias = parameters->bias * *values;
    }
    if (op == "Div") {
      parameters->scale_weight(*values, /*divide=*/true);
      parameters->bias = parameters->bias / *values;
    }
    const bool scales = op == "Mul" || op == "Div";
    fold_into_conv(graph, *conv, *parameters, node, scales ? "_fused_mul" : "_fused_add");
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_conv_add_mul() { return std::make_unique<FuseConvAddMul>(); }

}  // namespace htp::optimizer
