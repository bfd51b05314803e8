// Convolutions in every traced spelling: aten::_convolution, convolution, convNd, conv_transposeNd.
#include "convert/registry.h"

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

struct ConvArgs {
  const Value *input, *weight, *bias;
  const Value *stride, *padding, *dilation, *output_padding = nullptr;
  bool transposed = false;
  const Value* groups;
};

void emit_conv(ConversionContext& ctx, const Node* n, const ConvArgs& a) {
  size_t spatial = static_cast<size_t>(ctx.rank(a.input) - 2);
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::vector<std::string> inputs{ctx.tensor_as(a.input, dtype), ctx.tensor_as(a.weight, dtype)};
  if (!ctx.is_none(a.bias)) inputs.push_back(ctx.tensor_as(a.bias, dtype));
  std::vector<Attr> attrs{{"strides", per_dim(ctx, a.stride, spatial)},
                          {"dilations", per_dim(ctx, a.dilation, spatial)},
                          {"group", ctx.get_int(a.groups)}};
  auto padding = ctx.constant(a.padding);
  if (padding && padding->isString()) {  // conv2d(..., padding="same" | "valid")
    const std::string& mode = padding->toStringRef();
    if (mode != "same" && mode != "valid") ctx.fail("unknown padding mode '" + mode + "'");
    // torch pads "same" with the extra element at the end, which is SAME_UPPER.
    attrs.push_back({"auto_pad", std::string(mode == "same" ? "SAME_UPPER" : "VALID")});
  } else {
    attrs.push_back({"pads", symmetric_pads(per_dim(ctx, a.padding, spatial))});
  }
  if (a.transposed) {
    if (a.output_padding) attrs.push_back({"output_padding", per_dim(ctx, a.output_padding, spatial)});
    ctx.bind(n->output(), ctx.op("ConvTranspose", inputs, attrs));
  } else {
    ctx.bind(n->output(), ctx.op("Conv", inputs, attrs));
  }
}

// aten::_convolution / aten::convolution(input, weight, bias, stride, padding, dilation,
//                                       transposed, output_padding, groups, ...)
void convolution(ConversionContext& ctx, const Node* n) {
  ConvArgs a{n->input(0), n->input(1), n->input(2), n->input(3), n->input(4), n->input(5), n->input(7),
             ctx.get_bool(n->input(6)), n->input(8)};
  emit_conv(ctx, n, a);
}

// aten::convNd(input, weight, bias, stride, padding, dilation, groups)
void conv_nd(ConversionContext& ctx, const Node* n) {
  ConvArgs a{n->input(0), n->input(1), n->input(2), n->input(3), n->input(4), n->input(5), nullptr, false, n->input(6)};
  emit_conv(ctx, n, a);
}

// aten::conv_transposeNd(input, weight, bias, stride, padding, output_padding, groups, dilation)
void conv_transpose_nd(ConversionContext& ctx, const Node* n) {
  ConvArgs a{n->input(0), n->input(1), n->input(2), n->input(3), n->input(4), n->input(7), n->input(5), true, n->input(6)};
  emit_conv(ctx, n, a);
}

}  // namespace

void register_convolution_ops(ConverterRegistry& r) {
  r.add("aten::_convolution", convolution);
  r.add("aten::convolution", convolution);
  // aten::_convolution_mode is what conv2d(..., padding="same") records; its arguments are convNd's.
  for (const char* kind : {"aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::_convolution_mode"}) r.add(kind, conv_nd);
  for (const char* kind : {"aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d"}) {
    r.add(kind, conv_transpose_nd);
  }
}

}  // namespace htp::exporter
