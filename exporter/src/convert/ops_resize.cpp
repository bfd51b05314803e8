// Resampling and padding: upsample_* → Resize, constant/reflect/replicate padding → Pad.
#include "convert/registry.h"

#include <ATen/ATen.h>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

bool is_float_list(const Value* v) {
  auto list = v->type()->cast<c10::ListType>();
  return list && list->getElementType()->kind() == c10::TypeKind::FloatType;
}

// Resize to the given spatial sizes (batch and channels kept) or by the given scales.
std::string resize(ConversionContext& ctx, const Node* n, const Value* output_size, const Value* scales,
                   const std::vector<Attr>& attrs) {
  std::string x = ctx.tensor(n->input(0));
  if (scales && !ctx.is_none(scales)) {
    auto factors = ctx.constant(scales)->toDoubleVector();
    std::vector<float> all{1.0f, 1.0f};
    for (double f : factors) all.push_back(static_cast<float>(f));
    return ctx.op("Resize", {x, "", ctx.constant(at::tensor(all))}, attrs);
  }
  std::string leading = ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constant_ints({0}), ctx.constant_ints({2})});
  std::string sizes = ctx.op("Concat", {leading, ctx.ints_tensor(output_size)}, {{"axis", int64_t{0}}});
  return ctx.op("Resize", {x, "", "", sizes}, attrs);
}

// aten::upsample_nearestNd(input, output_size?, scale_factors?) or (input, output_size, scales...)
void upsample_nearest(ConversionContext& ctx, const Node* n) {
  std::vector<Attr> attrs{{"mode", std::string("nearest")},
                          {"coordinate_transformation_mode", std::string("asymmetric")},
                          {"nearest_mode", std::string("floor")}};
  const Value* scales = n->inputs().size() == 3 && is_float_list(n->input(2)) ? n->input(2) : nullptr;
  ctx.bind(n->output(), resize(ctx, n, n->input(1), scales, attrs));
}

// aten::upsample_{bi,tri}linearNd(input, output_size?, align_corners, scale_factors?) or
// (input, output_size, align_corners, scales...)
void upsample_linear(ConversionContext& ctx, const Node* n) {
  bool align_corners = ctx.get_bool(n->input(2));
  std::vector<Attr> attrs{{"mode", std::string("linear")},
                          {"coordinate_transformation_mode", std::string(align_corners ? "align_corners" : "pytorch_half_pixel")}};
  const Value* scales = n->inputs().size() == 4 && is_float_list(n->input(3)) ? n->input(3) : nullptr;
  ctx.bind(n->output(), resize(ctx, n, n->input(1), scales, attrs));
}

// torch lists pads from the last dim backwards, (begin, end) per dim; ONNX wants all begins then
// all ends, for every dim. The torch list may be built at run time, so the reordering is a
// Gather from it, with one zero appended for the dims torch leaves unpadded.
std::string onnx_pads(ConversionContext& ctx, const Node* n, const Value* pad) {
  int64_t rank = ctx.rank(n->input(0));
  int64_t given = static_cast<int64_t>(ctx.list_length(pad));
  std::vector<int64_t> order(static_cast<size_t>(2 * rank), given);  // `given` indexes the zero
  for (int64_t i = 0; i + 1 < given && i / 2 < rank; i += 2) {
    int64_t dim = rank - 1 - i / 2;
    order[static_cast<size_t>(dim)] = i;
    order[static_cast<size_t>(dim + rank)] = i + 1;
  }
  std::string padded = ctx.op("Concat", {ctx.ints_tensor(pad), ctx.constant_ints({0})}, {{"axis", int64_t{0}}});
  return ctx.op("Gather", {padded, ctx.constant_ints(order)}, {{"axis", int64_t{0}}});
}

void pad_with(ConversionContext& ctx, const Node* n, const Value* pad, const std::string& mode, const Value* value) {
  std::vector<std::string> inputs{ctx.tensor(n->input(0)), onnx_pads(ctx, n, pad)};
  if (mode == "constant" && value && !ctx.is_none(value)) inputs.push_back(ctx.tensor_as(value, ctx.scalar_type(n->output())));
  ctx.bind(n->output(), ctx.op("Pad", inputs, {{"mode", mode}}));
}

// aten::pad(input, pad, mode, value?)
void pad(ConversionContext& ctx, const Node* n) {
  std::string mode = ctx.constant(n->input(2))->toStringRef();
  if (mode == "replicate") mode = "edge";
  if (mode != "constant" && mode != "reflect" && mode != "edge") ctx.fail("padding mode '" + mode + "' is not supported");
  pad_with(ctx, n, n->input(1), mode, n->inputs().size() > 3 ? n->input(3) : nullptr);
}

}  // namespace

void register_resize_ops(ConverterRegistry& r) {
  for (const char* kind : {"aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d"}) r.add(kind, upsample_nearest);
  for (const char* kind : {"aten::upsample_linear1d", "aten::upsample_bilinear2d", "aten::upsample_trilinear3d"}) r.add(kind, upsample_linear);
  r.add("aten::constant_pad_nd", [](ConversionContext& ctx, const Node* n) { pad_with(ctx, n, n->input(1), "constant", n->input(2)); });
  r.add("aten::pad", pad);
  for (const char* kind : {"aten::reflection_pad1d", "aten::reflection_pad2d", "aten::reflection_pad3d"}) {
    r.add(kind, [](ConversionContext& ctx, const Node* n) { pad_with(ctx, n, n->input(1), "reflect", nullptr); });
  }
  for (const char* kind : {"aten::replication_pad1d", "aten::replication_pad2d", "aten::replication_pad3d"}) {
    r.add(kind, [](ConversionContext& ctx, const Node* n) { pad_with(ctx, n, n->input(1), "edge", nullptr); });
  }
}

}  // namespace htp::exporter
