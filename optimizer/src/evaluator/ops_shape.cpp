// Shape and layout ops: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat,
// Split, Slice, Expand, Tile, Pad, DepthToSpace, SpaceToDepth. They move data only, so every dtype
// runs natively.
#include "evaluator/registry.h"

#include <algorithm>
#include <numeric>
#include <set>

namespace htp::optimizer::eval {
namespace {

at::Tensor longs(const std::vector<int64_t>& values) {
  return at::tensor(at::ArrayRef<int64_t>(values), at::kLong);
}

// Shape's start/end (opset 15): negative values count from the end, then both clamp to [0, rank].
std::vector<at::Tensor> shape(const NodeContext& ctx) {
  std::vector<int64_t> sizes = ctx.input(0).sizes().vec();
  const auto rank = static_cast<int64_t>(sizes.size());
  auto clamp_bound = [rank](int64_t bound) { return std::clamp(bound < 0 ? bound + rank : bound, int64_t{0}, rank); };
  const int64_t start = clamp_bound(ctx.attr_int("start", 0));
  const int64_t end = clamp_bound(ctx.attr_int("end", rank));
  if (start >= end) return single(at::empty({0}, at::kLong));
  return single(longs({sizes.begin() + start, sizes.begin() + end}));
}

std::vector<at::Tensor> size(const NodeContext& ctx) {
  return single(at::scalar_tensor(ctx.input(0).numel(), at::kLong));
}

// 0 copies the input's size at that index (unless allowzero), one -1 is inferred.
std::vector<at::Tensor> reshape(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  std::vector<int64_t> target = ctx.ints_input(1);
  const bool allow_zero = ctx.attr_int("allowzero", 0) != 0;
  int inferred = 0;
  for (size_t k = 0; k < target.size(); ++k) {
    if (target[k] == 0 && !allow_zero) {
      if (static_cast<int64_t>(k) >= x.dim()) ctx.fail("shape " + c10::str(target) + " copies a dim the input lacks");
      target[k] = x.size(static_cast<int64_t>(k));
    }
    if (target[k] == -1) ++inferred;
    else if (target[k] < 0) ctx.fail("invalid size in shape " + c10::str(target));
  }
  if (inferred > 1) ctx.fail("shape " + c10::str(target) + " has more than one -1");
  if (allow_zero && inferred && std::count(target.begin(), target.end(), 0)) ctx.fail("allowzero shape with both 0 and -1");
  return single(x.reshape(target));
}

std::vector<at::Tensor> flatten(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t rank = x.dim();
  int64_t axis = ctx.attr_int("axis", 1);
  if (axis < -rank || axis > rank) ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  if (axis < 0) axis += rank;
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.size(d);
  int64_t inner = 1;
  for (int64_t d = axis; d < rank; ++d) inner *= x.size(d);
  return single(x.reshape({outer, inner}));
}

std::vector<int64_t> normalized_axes(const NodeContext& ctx, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> result;
  for (int64_t axis : axes) result.push_back(ctx.normalize_axis(axis, rank));
  std::sort(result.begin(), result.end());
  if (std::adjacent_find(result.begin(), result.end()) != result.end()) ctx.fail("repeated axis in " + c10::str(axes));
  return result;
}

std::vector<at::Tensor> squeeze(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  auto axes = ctx.axes(1);
  std::vector<int64_t> kept;
  std::vector<int64_t> squeezed = axes ? normalized_axes(ctx, *axes, x.dim()) : std::vector<int64_t>{};
  for (int64_t d = 0; d < x.dim(); ++d) {
    const bool listed = std::binary_search(squeezed.begin(), squeezed.end(), d);
    if (listed && x.size(d) != 1) ctx.fail("cannot squeeze axis " + std::to_string(d) + " of size " + std::to_string(x.size(d)));
    if (!listed && (axes || x.size(d) != 1)) kept.push_back(x.size(d));
  }
  return single(x.reshape(kept));
}

// Axes index the output, whose rank is the input's plus the number of axes.
std::vector<at::Tensor> unsqueeze(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  auto axes = ctx.axes(1);
  if (!axes) ctx.fail("no axes");
  const int64_t out_rank = x.dim() + static_cast<int64_t>(axes->size());
  std::vector<int64_t> inserted = normalized_axes(ctx, *axes, out_rank);
  std::vector<int64_t> sizes;
  int64_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) {
    sizes.push_back(std::binary_search(inserted.begin(), inserted.end(), d) ? 1 : x.size(next++));
  }
  return single(x.reshape(sizes));
}

std::vector<at::Tensor> transpose(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  std::vector<int64_t> perm(static_cast<size_t>(x.dim()));
  std::iota(perm.rbegin(), perm.rend(), 0);
  perm = ctx.attr_ints("perm", perm);
  if (static_cast<int64_t>(perm.size()) != x.dim()) ctx.fail("perm " + c10::str(perm) + " does not match rank " + std::to_string(x.dim()));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k < sorted.size(); ++k) {
    if (sorted[k] != static_cast<int64_t>(k)) ctx.fail("perm " + c10::str(perm) + " is not a permutation");
  }
  // A view: whoever stores it (to_tensor_proto) copies it once, straight into place.
  return single(x.permute(perm));
}

std::vector<at::Tensor> concat(const NodeContext& ctx) {
  std::vector<at::Tensor> parts;
  for (size_t k = 0; k < ctx.input_count(); ++k) parts.push_back(ctx.input(k));
  if (parts.empty()) ctx.fail("no inputs");
  const int64_t rank = parts[0].dim();
  for (const auto& part : parts) {
    if (part.dim() != rank) ctx.fail("inputs of ranks " + std::to_string(rank) + " and " + std::to_string(part.dim()));
  }
  return single(at::cat(parts, ctx.normalize_axis(ctx.attr_int("axis", 0), rank)));
}

// Sizes from the split input (opset 13) or attribute (before); else equal parts, one per output,
// the last one smaller when the size does not divide (opset 18's num_outputs rule).
std::vector<at::Tensor> split(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", 0), x.dim());
  const int64_t length = x.size(axis);
  std::vector<int64_t> sizes = ctx.has_input(1) ? ctx.ints_input(1) : ctx.attr_ints("split");
  if (sizes.empty()) {
    const auto parts = static_cast<int64_t>(ctx.has_attribute("num_outputs") ? ctx.attr_int("num_outputs", 1) : ctx.output_count());
    const int64_t chunk = (length + parts - 1) / parts;
    for (int64_t k = 0; k < parts; ++k) sizes.push_back(std::max<int64_t>(std::min(chunk, length - k * chunk), 0));
  }
  if (std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != length) {
    ctx.fail("split sizes " + c10::str(sizes) + " do not add up to " + std::to_string(length));
  }
  if (sizes.size() != ctx.output_count()) ctx.fail(std::to_string(sizes.size()) + " split sizes for " + std::to_string(ctx.output_count()) + " outputs");
  std::vector<at::Tensor> outputs;
  for (const auto& part : at::split_with_sizes(x, sizes, axis)) outputs.push_back(part.contiguous());
  return outputs;
}

// Slices one axis as ONNX clamps: start to [0, dim] ([0, dim-1] for negative steps), end to
// [0, dim] ([-1, dim-1] for negative steps), after adding dim to negative values.
at::Tensor slice_axis(const NodeContext& ctx, const at::Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  const int64_t dim = x.size(axis);
  if (step == 0) ctx.fail("step is zero");
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp(start, int64_t{0}, dim);
    end = std::clamp(end, int64_t{0}, dim);
    return x.slice(axis, start, std::max(start, end), step);
  }
  start = std::clamp(start, int64_t{0}, dim - 1);
  end = std::clamp(end, int64_t{-1}, dim - 1);
  const int64_t count = start > end ? (start - end - step - 1) / -step : 0;
  return x.index_select(axis, at::arange(count, at::kLong) * step + start);
}

std::vector<at::Tensor> slice(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  // Before opset 10 starts, ends and axes were attributes.
  const bool attributes = ctx.opset() < 10;
  std::vector<int64_t> starts = attributes ? ctx.attr_ints("starts") : ctx.ints_input(1);
  std::vector<int64_t> ends = attributes ? ctx.attr_ints("ends") : ctx.ints_input(2);
  auto axes = attributes ? (ctx.has_attribute("axes") ? std::optional(ctx.attr_ints("axes")) : std::nullopt)
                         : (ctx.has_input(3) ? std::optional(ctx.ints_input(3)) : std::nullopt);
  std::vector<int64_t> steps = !attributes && ctx.has_input(4) ? ctx.ints_input(4) : std::vector<int64_t>(starts.size(), 1);
  if (!axes) {
    axes.emplace(starts.size());
    std::iota(axes->begin(), axes->end(), 0);
  }
  if (ends.size() != starts.size() || axes->size() != starts.size() || steps.size() != starts.size()) {
    ctx.fail("starts, ends, axes and steps differ in length");
  }
  normalized_axes(ctx, *axes, x.dim());
  at::Tensor result = x;
  for (size_t k = 0; k < starts.size(); ++k) {
    result = slice_axis(ctx, result, ctx.normalize_axis((*axes)[k], x.dim()), starts[k], ends[k], steps[k]);
  }
  return single(result.contiguous());
}

// Broadcasts both ways: the result has the broadcast of the input's shape and the given one.
std::vector<at::Tensor> expand(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  return single(x.expand(broadcast_shapes(ctx, x.sizes(), ctx.ints_input(1))).contiguous());
}

std::vector<at::Tensor> tile(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  std::vector<int64_t> repeats = ctx.ints_input(1);
  if (static_cast<int64_t>(repeats.size()) != x.dim()) ctx.fail("repeats " + c10::str(repeats) + " do not match rank " + std::to_string(x.dim()));
  for (int64_t r : repeats) {
    if (r < 0) ctx.fail("negative repeat in " + c10::str(repeats));
  }
  return single(x.repeat(repeats));
}

// Index of each output position along one axis for edge, reflect and wrap padding.
at::Tensor padding_indices(const NodeContext& ctx, const std::string& mode, int64_t dim, int64_t begin, int64_t end) {
  at::Tensor positions = at::arange(-begin, dim + end, at::kLong);
  if (dim == 0) ctx.fail("cannot " + mode + "-pad an empty axis");
  if (mode == "edge") return positions.clamp(0, dim - 1);
  if (mode == "wrap") return positions.remainder(dim);
  if (dim == 1) return at::zeros_like(positions);
  const int64_t period = 2 * (dim - 1);
  at::Tensor folded = positions.remainder(period);
  return at::where(folded >= dim, period - folded, folded);
}

std::vector<at::Tensor> pad(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t rank = x.dim();
  const bool attributes = ctx.opset() < 11;
  std::vector<int64_t> pads = attributes ? ctx.attr_ints("pads") : ctx.ints_input(1);
  std::vector<int64_t> axes(static_cast<size_t>(rank));
  std::iota(axes.begin(), axes.end(), 0);
  if (!attributes && ctx.has_input(3)) axes = normalized_axes(ctx, ctx.ints_input(3), rank);
  const auto n = static_cast<int64_t>(axes.size());
  if (static_cast<int64_t>(pads.size()) != 2 * n) ctx.fail("pads " + c10::str(pads) + " need 2 values per axis");
  const std::string mode = ctx.attr_string("mode", "constant");
  if (mode == "constant") {
    at::Scalar value = attributes ? at::Scalar(ctx.attr_float("value", 0)) : at::Scalar(0);
    if (!attributes && ctx.has_input(2)) {
      if (ctx.input(2).numel() != 1) ctx.fail("constant_value must hold one value");
      value = ctx.input(2).item();
    }
    // constant_pad_nd lists (begin, end) from the last axis backward; negative values crop.
    std::vector<int64_t> torch_pads(static_cast<size_t>(2 * rank), 0);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t from_end = rank - 1 - axes[k];
      torch_pads[2 * from_end] = pads[k];
      torch_pads[2 * from_end + 1] = pads[k + n];
    }
    return single(at::constant_pad_nd(x, torch_pads, value));
  }
  if (mode != "edge" && mode != "reflect" && mode != "wrap") ctx.fail("unknown mode '" + mode + "'");
  at::Tensor result = x;
  for (int64_t k = 0; k < n; ++k) {
    if (pads[k] == 0 && pads[k + n] == 0) continue;
    result = result.index_select(axes[k], padding_indices(ctx, mode, x.size(axes[k]), pads[k], pads[k + n]));
  }
  return single(result.contiguous());
}

int64_t block_size(const NodeContext& ctx, const at::Tensor& x) {
  if (x.dim() != 4) ctx.fail("needs a 4-D input");
  const int64_t block = ctx.attr_int("blocksize", 0);
  if (block <= 0) ctx.fail("blocksize must be positive");
  return block;
}

std::vector<at::Tensor> depth_to_space(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t b = block_size(ctx, x);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (c % (b * b) != 0) ctx.fail("channels not divisible by blocksize²");
  const bool crd = ctx.attr_string("mode", "DCR") == "CRD";
  at::Tensor blocks = crd ? x.reshape({n, c / (b * b), b, b, h, w}).permute({0, 1, 4, 2, 5, 3})
                          : x.reshape({n, b, b, c / (b * b), h, w}).permute({0, 3, 4, 1, 5, 2});
  return single(blocks.reshape({n, c / (b * b), h * b, w * b}));
}

std::vector<at::Tensor> space_to_depth(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const int64_t b = block_size(ctx, x);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (h % b != 0 || w % b != 0) ctx.fail("spatial size not divisible by blocksize");
  at::Tensor blocks = x.reshape({n, c, h / b, b, w / b, b}).permute({0, 3, 5, 1, 2, 4});
  return single(blocks.reshape({n, c * b * b, h / b, w / b}));
}

}  // namespace

void register_shape_ops(EvaluatorRegistry& registry) {
  registry.add("Shape", shape, HalfFloats::kNative);
  registry.add("Size", size, HalfFloats::kNative);
  registry.add("Reshape", reshape, HalfFloats::kNative);
  registry.add("Flatten", flatten, HalfFloats::kNative);
  registry.add("Squeeze", squeeze, HalfFloats::kNative);
  registry.add("Unsqueeze", unsqueeze, HalfFloats::kNative);
  registry.add("Transpose", transpose, HalfFloats::kNative);
  registry.add("Concat", concat, HalfFloats::kNative);
  registry.add("Split", split, HalfFloats::kNative);
  registry.add("Slice", slice, HalfFloats::kNative);
  registry.add("Expand", expand, HalfFloats::kNative);
  registry.add("Tile", tile, HalfFloats::kNative);
  registry.add("Pad", pad, HalfFloats::kNative);
  registry.add("DepthToSpace", depth_to_space, HalfFloats::kNative);
  registry.add("SpaceToDepth", space_to_depth, HalfFloats::kNative);
}

}  // namespace htp::optimizer::eval
