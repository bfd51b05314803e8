// Pooling: max/avg pooling of any rank (batched or not, max with torch's indices), adaptive pooling
// to any output size, max unpooling, and embedding_bag (a pooling of embedding rows per bag).
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// The spatial rank from the op's name: "aten::max_pool2d_with_indices" → 2.
size_t spatial_dims(const ConversionContext& ctx, const Node* n) {
  std::string kind = n->kind().toQualString();
  size_t at = kind.find("pool");
  if (at == std::string::npos || at + 4 >= kind.size() || !std::isdigit(static_cast<unsigned char>(kind[at + 4]))) {
    ctx.fail("cannot tell the spatial rank of " + kind);
  }
  return static_cast<size_t>(kind[at + 4] - '0');
}

std::string scalar_long(ConversionContext& ctx, int64_t value) { return ctx.constant(at::scalar_tensor(value, at::kLong)); }

// Dim `axis` of `x`'s shape as a 0-d int64 tensor.
std::string dim_of(ConversionContext& ctx, const std::string& x, int64_t axis) {
  return ctx.op("Gather", {ctx.op("Shape", {x}), scalar_long(ctx, axis)}, {{"axis", int64_t{0}}});
}

std::string range(ConversionContext& ctx, const std::string& count) {
  return ctx.op("Range", {scalar_long(ctx, 0), count, scalar_long(ctx, 1)});
}

// Pools the input with a batch dim: torch also takes (C, spatial...) without one, which gets a
// batch of 1 that every output then loses.
void pool_batched(ConversionContext& ctx, const Node* n, const std::function<std::vector<std::string>(const std::string&)>& pool) {
  int64_t spatial = static_cast<int64_t>(spatial_dims(ctx, n));
  int64_t rank = ctx.rank(n->input(0));
  if (rank != spatial + 1 && rank != spatial + 2) ctx.fail("expected a " + std::to_string(spatial + 1) + "-D or " + std::to_string(spatial + 2) + "-D input");
  bool unbatched = rank == spatial + 1;
  std::string x = ctx.tensor(n->input(0));
  if (unbatched) x = ctx.op("Unsqueeze", {x, ctx.constant_ints({0})});
  auto outputs = pool(x);
  for (size_t i = 0; i < outputs.size(); ++i) {
    ctx.bind(n->output(i), unbatched ? ctx.op("Squeeze", {outputs[i], ctx.constant_ints({0})}) : outputs[i]);
  }
}

// ONNX MaxPool indices flatten N·C·spatial; torch's flatten each (n, c) plane's spatial dims only.
std::string plane_indices(ConversionContext& ctx, const std::string& x, const std::string& indices) {
  std::string spatial_shape = ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constant_ints({2}), ctx.constant_ints({INT64_MAX})});
  std::string plane = ctx.op("ReduceProd", {spatial_shape}, {{"keepdims", int64_t{1}}});
  return ctx.op("Mod", {indices, plane});
}

// aten::max_poolNd[_with_indices](input, kernel_size, stride, padding, dilation, ceil_mode); an
// empty stride means stride = kernel_size.
void max_pool(ConversionContext& ctx, const Node* n) {
  size_t spatial = spatial_dims(ctx, n);
  std::vector<int64_t> kernel = per_dim(ctx, n->input(1), spatial);
  std::vector<int64_t> stride = ctx.get_ints(n->input(2)).empty() ? kernel : per_dim(ctx, n->input(2), spatial);
  std::vector<Attr> attrs{{"kernel_shape", kernel},
                          {"strides", stride},
                          {"pads", symmetric_pads(per_dim(ctx, n->input(3), spatial))},
                          {"dilations", per_dim(ctx, n->input(4), spatial)},
                          {"ceil_mode", int64_t{ctx.get_bool(n->input(5))}}};
  size_t outputs = n->outputs().size();
  pool_batched(ctx, n, [&](const std::string& x) {
    auto pooled = ctx.op("MaxPool", {x}, outputs, attrs);
    if (outputs == 2) pooled[1] = plane_indices(ctx, x, pooled[1]);
    return pooled;
  });
}

// The number of input elements (padding excluded) in each window along one dim of an avg pool,
// shaped to broadcast against the pooled output: min(o·s - p + k, L) - max(o·s - p, 0).
std::string window_counts(ConversionContext& ctx, const std::string& x, const std::string& pooled, size_t dim, size_t spatial,
                          int64_t kernel, int64_t stride, int64_t pad) {
  int64_t axis = static_cast<int64_t>(dim) + 2;
  std::string start = ctx.op("Sub", {ctx.op("Mul", {range(ctx, dim_of(ctx, pooled, axis)), scalar_long(ctx, stride)}), scalar_long(ctx, pad)});
  std::string end = ctx.op("Min", {ctx.op("Add", {start, scalar_long(ctx, kernel)}), dim_of(ctx, x, axis)});
  std::string count = ctx.op("Sub", {end, ctx.op("Max", {start, scalar_long(ctx, 0)})});
  std::vector<int64_t> shape(spatial - dim, 1);
  shape[0] = -1;
  return ctx.op("Reshape", {count, ctx.constant_ints(shape)});
}

// aten::avg_poolNd(input, kernel_size, stride, padding, ceil_mode, count_include_pad[, divisor_override]).
// With divisor_override, the window sums (the padding-free average times the element count) are
// divided by it.
void avg_pool(ConversionContext& ctx, const Node* n) {
  size_t spatial = spatial_dims(ctx, n);
  std::vector<int64_t> kernel = per_dim(ctx, n->input(1), spatial);
  std::vector<int64_t> stride = ctx.get_ints(n->input(2)).empty() ? kernel : per_dim(ctx, n->input(2), spatial);
  std::vector<int64_t> padding = per_dim(ctx, n->input(3), spatial);
  bool divided = n->inputs().size() > 6 && !ctx.is_none(n->input(6));
  bool count_include_pad = !divided && ctx.get_bool(n->input(5));
  std::vector<Attr> attrs{{"kernel_shape", kernel},
                          {"strides", stride},
                          {"pads", symmetric_pads(padding)},
                          {"ceil_mode", int64_t{ctx.get_bool(n->input(4))}},
                          {"count_include_pad", int64_t{count_include_pad}}};
  at::ScalarType dtype = ctx.scalar_type(n->output());
  pool_batched(ctx, n, [&](const std::string& x) {
    std::string pooled = ctx.op("AveragePool", {x}, attrs);
    if (!divided) return std::vector<std::string>{pooled};
    std::string sums = pooled;
    for (size_t d = 0; d < spatial; ++d) {
      std::string counts = window_counts(ctx, x, pooled, d, spatial, kernel[d], stride[d], padding[d]);
      sums = ctx.op("Mul", {sums, ctx.cast(counts, dtype)});
    }
    return std::vector<std::string>{ctx.op("Div", {sums, ctx.scalar(static_cast<double>(ctx.get_int(n->input(6))), dtype)})};
  });
}

// Adaptive window membership [out, in]: input position j is in output window i when
// floor(i·in/out) ≤ j < ceil((i+1)·in/out), torch's windows (sizes known at run time).
std::string adaptive_windows(ConversionContext& ctx, const std::string& in, const std::string& out) {
  std::string i = ctx.op("Unsqueeze", {range(ctx, out), ctx.constant_ints({1})});
  std::string j = range(ctx, in);
  std::string start = ctx.op("Div", {ctx.op("Mul", {i, in}), out});
  std::string end_numerator = ctx.op("Add", {ctx.op("Mul", {ctx.op("Add", {i, scalar_long(ctx, 1)}), in}), ctx.op("Sub", {out, scalar_long(ctx, 1)})});
  std::string end = ctx.op("Div", {end_numerator, out});
  return ctx.op("And", {ctx.op("GreaterOrEqual", {j, start}), ctx.op("Less", {j, end})});
}

// `t` [out, in] shaped to line up with dims (axis, axis + 1) of a rank-`rank` + 1 tensor.
std::string trailing_ones(ConversionContext& ctx, const std::string& t, int64_t axis, int64_t rank) {
  std::vector<int64_t> axes;
  for (int64_t d = axis + 2; d <= rank; ++d) axes.push_back(d - axis);
  return axes.empty() ? t : ctx.op("Unsqueeze", {t, ctx.constant_ints(axes)});
}

struct AdaptiveMax {
  std::string values, indices;  // indices: flat over the dims pooled so far
};

// Adaptive average along `axis`: x [.., in, rest] times the window weights (membership / window
// size) [out, in], summed over in → [.., out, rest].
std::string adaptive_avg_axis(ConversionContext& ctx, const std::string& x, int64_t axis, int64_t rank, const std::string& out,
                              at::ScalarType dtype) {
  std::string windows = ctx.cast(adaptive_windows(ctx, dim_of(ctx, x, axis), out), dtype);
  std::string weights = ctx.op("Div", {windows, ctx.op("ReduceSum", {windows, ctx.constant_ints({1})}, {{"keepdims", int64_t{1}}})});
  std::string spread = ctx.op("Mul", {ctx.op("Unsqueeze", {x, ctx.constant_ints({axis})}), trailing_ones(ctx, weights, axis, rank)});
  return ctx.op("ReduceSum", {spread, ctx.constant_ints({axis + 1})}, {{"keepdims", int64_t{0}}});
}

// Adaptive max along `axis`, with the position of each window's first maximum (torch scans in
// row-major order and keeps the first; a NaN wins). `stride` is the flat size of the dims after
// `axis` already pooled, so the running index becomes position·stride + index there.
AdaptiveMax adaptive_max_axis(ConversionContext& ctx, const AdaptiveMax& x, int64_t axis, int64_t rank, const std::string& out,
                              const std::string& stride, at::ScalarType dtype) {
  std::string in = dim_of(ctx, x.values, axis);
  std::string windows = trailing_ones(ctx, adaptive_windows(ctx, in, out), axis, rank);
  std::string lowest = ctx.scalar(-std::numeric_limits<double>::infinity(), dtype);
  std::string masked = ctx.op("Where", {windows, ctx.op("Unsqueeze", {x.values, ctx.constant_ints({axis})}), lowest});
  std::string reduce_axis = ctx.constant_ints({axis + 1});
  std::string best = ctx.op("ReduceMax", {masked}, {{"axes", std::vector<int64_t>{axis + 1}}, {"keepdims", int64_t{1}}});
  std::string is_best = ctx.op("Or", {ctx.op("Equal", {masked, best}), ctx.op("IsNaN", {masked})});
  std::string hit = ctx.op("And", {is_best, windows});
  std::string positions = trailing_ones(ctx, ctx.op("Unsqueeze", {range(ctx, in), ctx.constant_ints({0})}), axis, rank);
  std::string first = ctx.op("ReduceMin", {ctx.op("Where", {hit, positions, in})}, {{"axes", std::vector<int64_t>{axis + 1}}, {"keepdims", int64_t{0}}});
  AdaptiveMax result{ctx.op("Squeeze", {best, reduce_axis}), first};
  if (!x.indices.empty()) {
    std::string inner = ctx.op("GatherElements", {x.indices, first}, {{"axis", axis}});
    result.indices = ctx.op("Add", {ctx.op("Mul", {first, stride}), inner});
  }
  return result;
}

// aten::adaptive_{avg,max}_poolNd(input, output_size): global pooling for size 1, a fixed window
// for static sizes that divide the input, else per dim window masks (any sizes, known at run time).
// The max form also returns torch's indices (flat per (n, c) plane).
Converter adaptive_pool(bool max) {
  return [max](ConversionContext& ctx, const Node* n) {
    size_t spatial = spatial_dims(ctx, n);
    at::ScalarType dtype = ctx.scalar_type(n->output(0));
    auto out = ctx.constant(n->input(1)) ? std::optional(per_dim(ctx, n->input(1), spatial)) : std::nullopt;
    auto in = ctx.sizes(n->input(0));
    bool with_indices = max && n->outputs().size() == 2;
    pool_batched(ctx, n, [&](const std::string& x) -> std::vector<std::string> {
      std::vector<int64_t> window;
      for (size_t d = 0; out && in && d < spatial; ++d) {
        int64_t size = (*in)[in->size() - spatial + d];
        if ((*out)[d] > 0 && size % (*out)[d] == 0) window.push_back(size / (*out)[d]);
      }
      if (window.size() == spatial) {
        if (!with_indices && std::all_of(out->begin(), out->end(), [](int64_t s) { return s == 1; })) {
          return {ctx.op(max ? "GlobalMaxPool" : "GlobalAveragePool", {x})};
        }
        auto pooled = ctx.op(max ? "MaxPool" : "AveragePool", {x}, with_indices ? 2 : 1, {{"kernel_shape", window}, {"strides", window}});
        if (with_indices) pooled[1] = plane_indices(ctx, x, pooled[1]);
        return pooled;
      }
      std::string sizes = ctx.ints_tensor(n->input(1));
      int64_t rank = static_cast<int64_t>(spatial) + 2;
      AdaptiveMax result{x, ""};
      std::string stride = scalar_long(ctx, 1);
      for (int64_t d = static_cast<int64_t>(spatial) - 1; d >= 0; --d) {
        int64_t axis = d + 2;
        std::string size = ctx.op("Gather", {sizes, scalar_long(ctx, d)}, {{"axis", int64_t{0}}});
        if (!max) {
          result.values = adaptive_avg_axis(ctx, result.values, axis, rank, size, dtype);
          continue;
        }
        std::string in_size = dim_of(ctx, result.values, axis);
        result = adaptive_max_axis(ctx, result, axis, rank, size, stride, dtype);
        stride = ctx.op("Mul", {stride, in_size});
      }
      if (with_indices) return {result.values, result.indices};
      return {result.values};
    });
  };
}

// aten::max_unpool2d(input, indices, output_size) / max_unpool3d(.., stride, padding): each plane's
// values scattered to their flat spatial indices in a zero plane of the output size.
void max_unpool(ConversionContext& ctx, const Node* n) {
  size_t spatial = spatial_dims(ctx, n);
  std::string x = ctx.tensor(n->input(0));
  std::string shape = ctx.op("Shape", {x});
  std::string leading = ctx.op("Slice", {shape, ctx.constant_ints({0}), ctx.constant_ints({-static_cast<int64_t>(spatial)})});
  std::string out_sizes = ctx.ints_tensor(n->input(2));
  if (ctx.list_length(n->input(2)) != spatial) ctx.fail("expected " + std::to_string(spatial) + " output sizes");
  std::string plane = ctx.op("ReduceProd", {out_sizes}, {{"keepdims", int64_t{1}}});
  std::string flat_shape = ctx.op("Concat", {leading, ctx.constant_ints({-1})}, {{"axis", int64_t{0}}});
  std::string values = ctx.op("Reshape", {x, flat_shape});
  std::string indices = ctx.op("Reshape", {ctx.tensor_as(n->input(1), at::kLong), flat_shape});
  std::string zeros_shape = ctx.op("Concat", {leading, plane}, {{"axis", int64_t{0}}});
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string zeros = ctx.op("ConstantOfShape", {zeros_shape}, {{"value", at::zeros({1}, at::TensorOptions().dtype(dtype))}});
  int64_t last = static_cast<int64_t>(ctx.rank(n->input(0)) - static_cast<int64_t>(spatial));
  std::string scattered = ctx.op("ScatterElements", {zeros, indices, values}, {{"axis", last}});
  ctx.bind(n->output(), ctx.op("Reshape", {scattered, ctx.op("Concat", {leading, out_sizes}, {{"axis", int64_t{0}}})}));
}

// aten::embedding_bag(weight, indices [L], offsets [B], scale_grad_by_freq, mode, sparse,
// per_sample_weights?, include_last_offset[, padding_idx?]): the rows of `indices` summed (mode 0),
// averaged (1) or maxed (2) per bag, bag b holding positions offsets[b] ≤ k < offsets[b + 1]
// (with include_last_offset the last offset only ends the last bag). Indices equal to padding_idx
// are left out; an empty bag gives zeros. Only the pooled rows are exported.
void embedding_bag(ConversionContext& ctx, const Node* n) {
  for (size_t i = 1; i < n->outputs().size(); ++i) {
    if (n->output(i)->hasUses()) ctx.fail("only the pooled output of embedding_bag is supported");
  }
  if (ctx.rank(n->input(1)) != 1) ctx.fail("expected 1-D indices with offsets");
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  int64_t mode = ctx.get_int(n->input(4));
  std::string indices = ctx.tensor_as(n->input(1), at::kLong);
  std::string offsets = ctx.tensor_as(n->input(2), at::kLong);
  std::string bags = dim_of(ctx, offsets, 0);
  if (ctx.get_bool(n->input(7))) bags = ctx.op("Sub", {bags, scalar_long(ctx, 1)});
  // bag of position k: the number of offsets ≤ k, minus one
  std::string positions = ctx.op("Unsqueeze", {range(ctx, dim_of(ctx, indices, 0)), ctx.constant_ints({1})});
  std::string started = ctx.cast(ctx.op("LessOrEqual", {offsets, positions}), at::kLong);
  std::string bag_of = ctx.op("Sub", {ctx.op("ReduceSum", {started, ctx.constant_ints({1})}, {{"keepdims", int64_t{0}}}), scalar_long(ctx, 1)});
  std::string member = ctx.op("Equal", {ctx.op("Unsqueeze", {range(ctx, bags), ctx.constant_ints({1})}), bag_of});  // [B, L]
  // padding_idx: None, or negative in _embedding_bag, for none
  if (n->inputs().size() > 8 && !ctx.is_none(n->input(8)) && ctx.get_int(n->input(8)) >= 0) {
    std::string kept = ctx.op("Not", {ctx.op("Equal", {indices, scalar_long(ctx, ctx.get_int(n->input(8)))})});
    member = ctx.op("And", {member, kept});
  }
  std::string rows = ctx.op("Gather", {ctx.tensor_as(n->input(0), dtype), indices}, {{"axis", int64_t{0}}});  // [L, D]
  if (!ctx.is_none(n->input(6))) {
    if (mode != 0) ctx.fail("per_sample_weights need mode 'sum'");
    rows = ctx.op("Mul", {rows, ctx.op("Unsqueeze", {ctx.tensor_as(n->input(6), dtype), ctx.constant_ints({1})})});
  }
  std::string weights = ctx.cast(member, dtype);
  std::string counts = ctx.op("ReduceSum", {weights, ctx.constant_ints({1})}, {{"keepdims", int64_t{1}}});  // [B, 1]
  if (mode == 0 || mode == 1) {
    std::string sums = ctx.op("MatMul", {weights, rows});
    if (mode == 0) return ctx.bind(n->output(0), sums);
    return ctx.bind(n->output(0), ctx.op("Div", {sums, ctx.op("Max", {counts, ctx.scalar(1, dtype)})}));
  }
  if (mode != 2) ctx.fail("unknown embedding_bag mode " + std::to_string(mode));
  std::string lowest = ctx.scalar(-std::numeric_limits<double>::infinity(), dtype);
  std::string masked = ctx.op("Where", {ctx.op("Unsqueeze", {member, ctx.constant_ints({2})}), ctx.op("Unsqueeze", {rows, ctx.constant_ints({0})}), lowest});
  std::string best = ctx.op("ReduceMax", {masked}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}});
  std::string zero = ctx.scalar(0, dtype);
  ctx.bind(n->output(0), ctx.op("Where", {ctx.op("Equal", {counts, zero}), zero, best}));
}

}  // namespace

void register_pooling_ops(ConverterRegistry& r) {
  for (const char* kind : {"aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d", "aten::max_pool1d_with_indices",
                           "aten::max_pool2d_with_indices", "aten::max_pool3d_with_indices"}) {
    r.add(kind, max_pool);
  }
  for (const char* kind : {"aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d"}) r.add(kind, avg_pool);
  for (const char* kind : {"aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d"}) r.add(kind, adaptive_pool(false));
  for (const char* kind : {"aten::adaptive_max_pool1d", "aten::adaptive_max_pool2d", "aten::adaptive_max_pool3d"}) r.add(kind, adaptive_pool(true));
  for (const char* kind : {"aten::max_unpool2d", "aten::max_unpool3d"}) r.add(kind, max_unpool);
  for (const char* kind : {"aten::embedding_bag", "aten::_embedding_bag"}) r.add(kind, embedding_bag);
}

}  // namespace htp::exporter
