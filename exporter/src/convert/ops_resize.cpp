// Resampling and padding: upsample_* → Resize, grid_sampler → GridSample, pixel (un)shuffle →
// DepthToSpace / SpaceToDepth, constant/reflect/replicate padding → Pad, circular padding → Slice + Concat.
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

// aten::upsample_{bi,tri}linearNd / upsample_bicubic2d(input, output_size?, align_corners,
// scale_factors?) or (input, output_size, align_corners, scales...). Torch's bicubic uses
// a = -0.75, clamps taps at the border and maps half pixels without the 1-pixel-output special case
// of its linear modes.
Converter upsample_interpolating(const std::string& mode) {
  return [mode](ConversionContext& ctx, const Node* n) {
    bool align_corners = ctx.get_bool(n->input(2));
    std::string half_pixel = mode == "cubic" ? "half_pixel" : "pytorch_half_pixel";
    std::vector<Attr> attrs{{"mode", mode}, {"coordinate_transformation_mode", align_corners ? std::string("align_corners") : half_pixel}};
    if (mode == "cubic") attrs.push_back({"cubic_coeff_a", -0.75f});
    const Value* scales = n->inputs().size() == 4 && is_float_list(n->input(3)) ? n->input(3) : nullptr;
    ctx.bind(n->output(), resize(ctx, n, n->input(1), scales, attrs));
  };
}

// aten::grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners) → GridSample;
// torch's enums: bilinear/nearest/bicubic and zeros/border/reflection.
void grid_sampler(ConversionContext& ctx, const Node* n) {
  if (ctx.rank(n->input(0)) != 4) ctx.fail("only 4-D grid sampling exists in opset 17");
  const char* modes[] = {"bilinear", "nearest", "bicubic"};
  const char* paddings[] = {"zeros", "border", "reflection"};
  int64_t mode = ctx.get_int(n->input(2)), padding = ctx.get_int(n->input(3));
  if (mode < 0 || mode > 2 || padding < 0 || padding > 2) ctx.fail("unknown grid sampling mode");
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), ctx.op("GridSample", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)},
                               {{"mode", std::string(modes[mode])},
                                {"padding_mode", std::string(paddings[padding])},
                                {"align_corners", int64_t{ctx.get_bool(n->input(4))}}}));
}

// The last three dims (C, H, W) of `x` taken as [-1, channels, H, W], for the 4-D-only
// DepthToSpace / SpaceToDepth; `restore` puts the leading dims back around the new (C', H', W').
std::string as_planes(ConversionContext& ctx, const std::string& x, int64_t channels) {
  std::string hw = ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constant_ints({-2}), ctx.constant_ints({INT64_MAX})});
  return ctx.op("Reshape", {x, ctx.op("Concat", {ctx.constant_ints({-1, channels}), hw}, {{"axis", int64_t{0}}})});
}

std::string restore(ConversionContext& ctx, const std::string& original, const std::string& planes) {
  std::string leading = ctx.op("Slice", {ctx.op("Shape", {original}), ctx.constant_ints({0}), ctx.constant_ints({-3})});
  std::string hw = ctx.op("Slice", {ctx.op("Shape", {planes}), ctx.constant_ints({-2}), ctx.constant_ints({INT64_MAX})});
  return ctx.op("Reshape", {planes, ctx.op("Concat", {leading, ctx.constant_ints({-1}), hw}, {{"axis", int64_t{0}}})});
}

// aten::pixel_shuffle(x [.., C·r², H, W], r) → [.., C, H·r, W·r]: every group of r² channels
// becomes one r×r-blocked plane, which is DepthToSpace of that group alone.
void pixel_shuffle(ConversionContext& ctx, const Node* n) {
  int64_t r = ctx.get_int(n->input(1));
  std::string x = ctx.tensor(n->input(0));
  std::string planes = ctx.op("DepthToSpace", {as_planes(ctx, x, r * r)}, {{"blocksize", r}, {"mode", std::string("CRD")}});
  ctx.bind(n->output(), restore(ctx, x, planes));
}

// aten::pixel_unshuffle(x [.., C, H·r, W·r], r) → [.., C·r², H, W], channel order (c, row, col):
// SpaceToDepth of each plane alone.
void pixel_unshuffle(ConversionContext& ctx, const Node* n) {
  int64_t r = ctx.get_int(n->input(1));
  std::string x = ctx.tensor(n->input(0));
  std::string planes = ctx.op("SpaceToDepth", {as_planes(ctx, x, 1)}, {{"blocksize", r}});
  ctx.bind(n->output(), restore(ctx, x, planes));
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

// Circular padding: along each padded dim (torch's list runs from the last dim backwards), the
// last `begin` entries wrap to the front and the first `end` to the back.
std::string circular_pad(ConversionContext& ctx, const Node* n, const std::vector<int64_t>& pads) {
  std::string x = ctx.tensor(n->input(0));
  int64_t rank = ctx.rank(n->input(0));
  for (size_t i = 0; i + 1 < pads.size(); i += 2) {
    int64_t axis = rank - 1 - static_cast<int64_t>(i / 2);
    int64_t begin = pads[i], end = pads[i + 1];
    if (begin < 0 || end < 0) ctx.fail("negative circular padding is not supported");
    std::string axes = ctx.constant_ints({axis});
    std::vector<std::string> parts;
    if (begin > 0) parts.push_back(ctx.op("Slice", {x, ctx.constant_ints({-begin}), ctx.constant_ints({INT64_MAX}), axes}));
    parts.push_back(x);
    if (end > 0) parts.push_back(ctx.op("Slice", {x, ctx.constant_ints({0}), ctx.constant_ints({end}), axes}));
    if (parts.size() > 1) x = ctx.op("Concat", parts, {{"axis", axis}});
  }
  return x;
}

// aten::pad(input, pad, mode, value?)
void pad(ConversionContext& ctx, const Node* n) {
  std::string mode = ctx.constant(n->input(2))->toStringRef();
  if (mode == "circular") return ctx.bind(n->output(), circular_pad(ctx, n, ctx.get_ints(n->input(1))));
  if (mode == "replicate") mode = "edge";
  if (mode != "constant" && mode != "reflect" && mode != "edge") ctx.fail("padding mode '" + mode + "' is not supported");
  pad_with(ctx, n, n->input(1), mode, n->inputs().size() > 3 ? n->input(3) : nullptr);
}

}  // namespace

void register_resize_ops(ConverterRegistry& r) {
  for (const char* kind : {"aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d"}) r.add(kind, upsample_nearest);
  for (const char* kind : {"aten::upsample_linear1d", "aten::upsample_bilinear2d", "aten::upsample_trilinear3d"}) {
    r.add(kind, upsample_interpolating("linear"));
  }
  r.add("aten::upsample_bicubic2d", upsample_interpolating("cubic"));
  r.add("aten::_pad_circular", [](ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), circular_pad(ctx, n, ctx.get_ints(n->input(1)))); });
  r.add("aten::grid_sampler", grid_sampler);
  r.add("aten::grid_sampler_2d", grid_sampler);
  r.add("aten::pixel_shuffle", pixel_shuffle);
  r.add("aten::pixel_unshuffle", pixel_unshuffle);
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
