#include "passes/conv_folding.h"

#include <ATen/ATen.h>

namespace htp::optimizer {
namespace {

std::string bias_name_for(const std::string& weight_name) {
  const std::string suffix = "weight";
  if (weight_name.size() >= suffix.size() &&
      weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return weight_name.substr(0, weight_name.size() - suffix.size()) + "bias";
  }
  return weight_name + "_bias";
}

}  // namespace

std::optional<ConvParameters> foldable_conv(const Graph& graph, const onnx::NodeProto* conv,
                                            const onnx::NodeProto& follower) {
  if (conv == nullptr || conv->op_type() != "Conv" || !conv->domain().empty() || conv->input_size() < 2) {
    return std::nullopt;
  }
  const std::string& output = conv->output(0);
  if (!graph.has_single_consumer(output) || !graph.can_replace_all_uses(follower.output(0), output)) return std::nullopt;
  auto weight = graph.constant_value(conv->input(1));
  if (!weight || !at::isFloatingType(weight->scalar_type()) || weight->dim() < 3) return std::nullopt;
  const bool has_bias = conv->input_size() > 2 && !conv->input(2).empty();
  std::optional<at::Tensor> bias = has_bias ? graph.constant_value(conv->input(2)) : at::zeros({weight->size(0)}, weight->options());
  if (!bias || bias->numel() != weight->size(0)) return std::nullopt;
  return ConvParameters{*weight, bias->reshape({-1}).to(at::kDouble)};
}

void ConvParameters::scale_weight(const at::Tensor& factor, bool divide) {
  const at::Tensor source = weight.contiguous();
  const at::Tensor factors = factor.to(at::kDouble).contiguous();
  at::Tensor scaled = at::empty_like(source);
  const int64_t channels = out_channels();
  const int64_t per_channel = channels == 0 ? 0 : source.numel() / channels;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, source.scalar_type(), "scale_weight", [&] {
    const scalar_t* in = source.data_ptr<scalar_t>();
    scalar_t* out = scaled.data_ptr<scalar_t>();
    const double* f = factors.data_ptr<double>();
    for (int64_t m = 0; m < channels; ++m) {
      const double by = f[m];
      const int64_t begin = m * per_channel;
      for (int64_t i = begin; i < begin + per_channel; ++i) {
        const double value = static_cast<double>(in[i]);
        out[i] = static_cast<scalar_t>(divide ? value / by : value * by);
      }
    }
  });
  weight = scaled;
  weight_changed = true;
}

void fold_into_conv(Graph& graph, onnx::NodeProto& conv, const ConvParameters& folded, onnx::NodeProto& follower,
                    const std::string& suffix) {
  const std::string old_weight = conv.input(1);
  const bool has_bias = conv.input_size() > 2 && !conv.input(2).empty();
  const std::string old_bias = has_bias ? conv.input(2) : "";
  if (folded.weight_changed) {
    graph.set_input(&conv, 1, graph.add_initializer(old_weight + suffix, folded.weight));
  }
  const std::string bias = graph.add_initializer((has_bias ? old_bias : bias_name_for(old_weight)) + suffix,
                                                 folded.bias.to(folded.dtype()));
  if (conv.input_size() < 3) conv.add_input("");
  graph.set_input(&conv, 2, bias);
  graph.replace_all_uses(follower.output(0), conv.output(0));
  Graph::record_fusion(conv, {&conv, &follower});
  graph.remove_node(&follower);
  graph.remove_constant_if_unused(old_weight);
  graph.remove_constant_if_unused(old_bias);
  for (const std::string& input : follower.input()) graph.remove_constant_if_unused(input);
}

}  // namespace htp::optimizer
