// Conv followed by an inference BatchNormalization with constant statistics becomes one Conv:
// y = (conv(x) - mean) * scale / sqrt(var + eps) + bias  =>  W' = W * f, b' = (b - mean) * f + bias
// with f = scale / sqrt(var + eps) per output channel. The Conv keeps its tags.
#include "passes/conv_folding.h"
#include "passes/passes.h"

#include "attributes.h"

#include <ATen/ATen.h>

namespace htp::optimizer {
namespace {

bool is_inference_batch_norm(const Graph& graph, const onnx::NodeProto& node) {
  if (node.op_type() != "BatchNormalization" || !node.domain().empty() || node.input_size() != 5) return false;
  if (int_attribute(node, "training_mode", 0) != 0 || int_attribute(node, "is_test", 1) == 0) return false;
  if (int_attribute(node, "spatial", 1) != 1) return false;  // opset < 9: per-element statistics
  for (int i = 1; i < node.output_size(); ++i) {
    if (!node.output(i).empty() && graph.use_count(node.output(i)) > 0) return false;
  }
  return true;
}

class FuseConvBatchNorm : public Pass {
 public:
  const char* name() const override { return "FuseConvBatchNorm"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* norm : graph.nodes()) {
      if (graph.is_removed(norm) || !is_inference_batch_norm(graph, *norm)) continue;
      onnx::NodeProto* conv = graph.producer(norm->input(0));
      auto parameters = foldable_conv(graph, conv, *norm);
      if (!parameters) continue;
      std::vector<at::Tensor> statistics;  // scale, bias, mean, var
      for (int i = 1; i < 5; ++i) {
        auto value = graph.constant_value(norm->input(i));
        if (!value || value->numel() != parameters->out_channels()) break;
        statistics.push_back(value->reshape({-1}).to(at::kDouble));
      }
      if (statistics.size() != 4) continue;
      const double epsilon = float_attribute(*norm, "epsilon", 1e-5f);
      const at::Tensor factor = statistics[0] / (statistics[3] + epsilon).sqrt();
      parameters->scale_weight(factor);
      parameters->bias = (parameters->bias - statistics[2]) * factor + statistics[1];
      fold_into_conv(graph, *conv, *parameters, *norm, "_fused_bn");
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_conv_batch_norm() { return std::make_unique<FuseConvBatchNorm>(); }

}  // namespace htp::optimizer
