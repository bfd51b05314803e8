// Normalization layers. BatchNorm stays BatchNormalization: folding it is the optimizer's job.
#include "convert/registry.h"

#include <ATen/ATen.h>

namespace htp::exporter {
namespace {

using torch::jit::Node;

// aten::batch_norm(input, weight?, bias?, running_mean?, running_var?, training, momentum, eps, cudnn)
void batch_norm(ConversionContext& ctx, const Node* n) {
  if (ctx.get_bool(n->input(5))) ctx.fail("batch_norm in training mode; export the model in eval mode");
  if (ctx.is_none(n->input(3)) || ctx.is_none(n->input(4))) ctx.fail("batch_norm without running statistics");
  at::ScalarType dtype = ctx.scalar_type(n->output());
  auto channels = ctx.sizes(n->input(3));
  auto affine = [&](const torch::jit::Value* v, double fill) {
    if (!ctx.is_none(v)) return ctx.tensor_as(v, dtype);
    if (!channels) ctx.fail("channel count unknown");
    return ctx.constant(at::full(*channels, fill, at::TensorOptions().dtype(dtype)));
  };
  std::vector<std::string> inputs{ctx.tensor_as(n->input(0), dtype), affine(n->input(1), 1.0), affine(n->input(2), 0.0),
                                  ctx.tensor_as(n->input(3), dtype), ctx.tensor_as(n->input(4), dtype)};
  ctx.bind(n->output(), ctx.op("BatchNormalization", inputs,
                               {{"epsilon", static_cast<float>(ctx.get_double(n->input(7)))},
                                {"momentum", static_cast<float>(1.0 - ctx.get_double(n->input(6)))}}));
}

}  // namespace

void register_normalization_ops(ConverterRegistry& r) {
  r.add("aten::batch_norm", batch_norm);
}

}  // namespace htp::exporter
