// Pooling: max/avg pooling of any rank, adaptive pooling where it is a fixed window.
#include "convert/registry.h"

#include <algorithm>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// aten::max_poolNd(input, kernel_size, stride, padding, dilation, ceil_mode); an empty stride
// means stride = kernel_size.
void max_pool(ConversionContext& ctx, const Node* n) {
  size_t spatial = static_cast<size_t>(ctx.rank(n->input(0)) - 2);
  std::vector<int64_t> kernel = per_dim(ctx, n->input(1), spatial);
  std::vector<int64_t> stride = ctx.get_ints(n->input(2)).empty() ? kernel : per_dim(ctx, n->input(2), spatial);
  ctx.bind(n->output(0), ctx.op("MaxPool", {ctx.tensor(n->input(0))},
                                {{"kernel_shape", kernel},
                                 {"strides", stride},
                                 {"pads", symmetric_pads(per_dim(ctx, n->input(3), spatial))},
                                 {"dilations", per_dim(ctx, n->input(4), spatial)},
                                 {"ceil_mode", int64_t{ctx.get_bool(n->input(5))}}}));
}

// aten::avg_poolNd(input, kernel_size, stride, padding, ceil_mode, count_include_pad[, divisor_override])
void avg_pool(ConversionContext& ctx, const Node* n) {
  if (n->inputs().size() > 6 && !ctx.is_none(n->input(6))) ctx.fail("divisor_override is not supported");
  size_t spatial = static_cast<size_t>(ctx.rank(n->input(0)) - 2);
  std::vector<int64_t> kernel = per_dim(ctx, n->input(1), spatial);
  std::vector<int64_t> stride = ctx.get_ints(n->input(2)).empty() ? kernel : per_dim(ctx, n->input(2), spatial);
  bool count_include_pad = ctx.get_bool(n->input(5));
  ctx.bind(n->output(), ctx.op("AveragePool", {ctx.tensor(n->input(0))},
                               {{"kernel_shape", kernel},
                                {"strides", stride},
                                {"pads", symmetric_pads(per_dim(ctx, n->input(3), spatial))},
                                {"ceil_mode", int64_t{ctx.get_bool(n->input(4))}},
                                {"count_include_pad", int64_t{count_include_pad}}}));
}

// Adaptive pooling to size 1 is global pooling; to a size that divides the input it is a fixed
// window (kernel = stride = in / out). Other sizes have overlapping uneven windows ONNX lacks.
Converter adaptive_pool(const std::string& global_op, const std::string& window_op) {
  return [global_op, window_op](ConversionContext& ctx, const Node* n) {
    size_t spatial = static_cast<size_t>(ctx.rank(n->input(0)) - 2);
    std::vector<int64_t> out = per_dim(ctx, n->input(1), spatial);
    std::string x = ctx.tensor(n->input(0));
    if (std::all_of(out.begin(), out.end(), [](int64_t s) { return s == 1; })) {
      ctx.bind(n->output(0), ctx.op(global_op, {x}));
      return;
    }
    auto in = ctx.sizes(n->input(0));
    if (!in) ctx.fail("adaptive pooling to a size other than 1 needs static input sizes");
    std::vector<int64_t> window;
    for (size_t i = 0; i < spatial; ++i) {
      int64_t size = (*in)[i + 2];
      if (size % out[i] != 0) ctx.fail("adaptive pooling from " + std::to_string(size) + " to " + std::to_string(out[i]));
      window.push_back(size / out[i]);
    }
    ctx.bind(n->output(0), ctx.op(window_op, {x}, {{"kernel_shape", window}, {"strides", window}}));
  };
}

}  // namespace

void register_pooling_ops(ConverterRegistry& r) {
  for (const char* kind : {"aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d"}) r.add(kind, max_pool);
  for (const char* kind : {"aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d"}) r.add(kind, avg_pool);
  for (const char* kind : {"aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d"}) {
    r.add(kind, adaptive_pool("GlobalAveragePool", "AveragePool"));
  }
  for (const char* kind : {"aten::adaptive_max_pool1d", "aten::adaptive_max_pool2d", "aten::adaptive_max_pool3d"}) {
    r.add(kind, adaptive_pool("GlobalMaxPool", "MaxPool"));
  }
}

}  // namespace htp::exporter
