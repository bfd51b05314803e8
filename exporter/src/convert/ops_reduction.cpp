// Reductions over dimension lists (mean, sum, amax, amin).
#include "convert/registry.h"

namespace htp::exporter {
namespace {

using torch::jit::Node;

// aten::mean/sum.dim(input, dims, keepdim, dtype?) and the all-dims forms (input, dtype?).
// Opset 17 takes ReduceSum's axes as an input and the others' as an attribute.
Converter reduce(const std::string& onnx_op, bool axes_as_input) {
  return [onnx_op, axes_as_input](ConversionContext& ctx, const Node* n) {
    at::ScalarType dtype = ctx.scalar_type(n->output());
    std::string x = ctx.tensor_as(n->input(0), dtype);
    bool over_dims = n->inputs().size() >= 3 && ctx.constant(n->input(1)) && ctx.constant(n->input(1))->isIntList();
    std::vector<int64_t> axes;
    int64_t keepdims = 0;
    if (over_dims) {
      int64_t rank = ctx.rank(n->input(0));
      for (int64_t d : ctx.get_ints(n->input(1))) axes.push_back(normalize_dim(ctx, d, rank));
      keepdims = ctx.get_bool(n->input(2));
    }
    std::vector<Attr> attrs{{"keepdims", keepdims}};
    if (axes.empty()) {  // torch reduces every dim for an empty list
      ctx.bind(n->output(), ctx.op(onnx_op, {x}, attrs));
    } else if (axes_as_input) {
      ctx.bind(n->output(), ctx.op(onnx_op, {x, ctx.constant_ints(axes)}, attrs));
    } else {
      attrs.push_back({"axes", axes});
      ctx.bind(n->output(), ctx.op(onnx_op, {x}, attrs));
    }
  };
}

}  // namespace

void register_reduction_ops(ConverterRegistry& r) {
  r.add("aten::mean", reduce("ReduceMean", false));
  r.add("aten::sum", reduce("ReduceSum", true));
  r.add("aten::amax", reduce("ReduceMax", false));
  r.add("aten::amin", reduce("ReduceMin", false));
}

}  // namespace htp::exporter
