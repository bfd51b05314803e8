// Ops that make tensors or change only their dtype: Constant, ConstantOfShape, Range, EyeLike,
// OneHot, Cast, CastLike, Identity and inference-mode Dropout.
#include "evaluator/registry.h"

#include "htp/onnxio/error.h"
#include "htp/optimizer/tensor_proto.h"

#include <cmath>

namespace htp::optimizer::eval {
namespace {

at::ScalarType dtype_of(const NodeContext& ctx, int64_t onnx_type) {
  try {
    return aten_dtype(static_cast<int32_t>(onnx_type));
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
}

at::Tensor longs(const std::vector<int64_t>& values) {
  return at::tensor(at::ArrayRef<int64_t>(values), at::kLong);
}

std::vector<at::Tensor> constant(const NodeContext& ctx) {
  if (auto value = ctx.attr_tensor("value")) return single(*value);
  if (ctx.has_attribute("value_float")) return single(at::scalar_tensor(ctx.attr_float("value_float", 0), at::kFloat));
  if (ctx.has_attribute("value_int")) return single(at::scalar_tensor(ctx.attr_int("value_int", 0), at::kLong));
  if (ctx.has_attribute("value_floats")) {
    std::vector<float> values = ctx.attr_floats("value_floats");
    return single(at::tensor(at::ArrayRef<float>(values), at::kFloat));
  }
  if (ctx.has_attribute("value_ints")) return single(longs(ctx.attr_ints("value_ints")));
  ctx.fail("no value attribute the evaluator can hold (sparse and string constants are not supported)");
}

std::vector<at::Tensor> constant_of_shape(const NodeContext& ctx) {
  std::vector<int64_t> shape = ctx.ints_input(0);
  for (int64_t size : shape) {
    if (size < 0) ctx.fail("negative size in shape " + c10::str(shape));
  }
  at::Tensor value = ctx.attr_tensor("value").value_or(at::zeros({1}, at::kFloat));
  if (value.numel() != 1) ctx.fail("value must hold one element");
  return single(value.reshape({}).expand(shape).clone());
}

// n = max(ceil((limit - start) / delta), 0) elements start + i·delta, in the inputs' dtype.
std::vector<at::Tensor> range(const NodeContext& ctx) {
  const at::ScalarType dtype = ctx.input(0).scalar_type();
  if (at::isFloatingType(dtype)) {
    const double start = ctx.scalar_input(0), limit = ctx.scalar_input(1), delta = ctx.scalar_input(2);
    if (delta == 0) ctx.fail("delta is zero");
    const auto count = static_cast<int64_t>(std::max(std::ceil((limit - start) / delta), 0.0));
    return single((at::arange(count, at::kDouble) * delta + start).to(dtype));
  }
  const int64_t start = ctx.ints_input(0).at(0), limit = ctx.ints_input(1).at(0), delta = ctx.ints_input(2).at(0);
  if (delta == 0) ctx.fail("delta is zero");
  const int64_t span = limit - start;
  // Integer ceil division that rounds toward +inf for either sign of delta.
  const int64_t count = std::max<int64_t>(span / delta + ((span % delta != 0) && ((span > 0) == (delta > 0))), 0);
  return single((at::arange(count, at::kLong) * delta + start).to(dtype));
}

std::vector<at::Tensor> eye_like(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  if (x.dim() != 2) ctx.fail("needs a 2-D input");
  const at::ScalarType dtype = ctx.has_attribute("dtype") ? dtype_of(ctx, ctx.attr_int("dtype", 0)) : x.scalar_type();
  at::Tensor offset = at::arange(x.size(1), at::kLong).unsqueeze(0) - at::arange(x.size(0), at::kLong).unsqueeze(1);
  return single(offset.eq(ctx.attr_int("k", 0)).to(dtype));
}

// indices (negative ones count from depth; out-of-range ones match nothing), depth, values [off, on].
std::vector<at::Tensor> one_hot(const NodeContext& ctx) {
  at::Tensor indices = ctx.input(0).to(at::kLong);
  const auto depth = static_cast<int64_t>(ctx.scalar_input(1));
  const at::Tensor& values = ctx.input(2);
  if (values.numel() != 2) ctx.fail("values must hold [off, on]");
  const int64_t axis = ctx.normalize_axis(ctx.attr_int("axis", -1), indices.dim() + 1);
  indices = at::where(indices < 0, indices + depth, indices);
  at::Tensor hot = indices.unsqueeze(-1).eq(at::arange(depth, at::kLong)).movedim(-1, axis);
  at::Tensor flat = values.reshape({2});
  return single(at::where(hot, flat[1], flat[0]));
}

std::vector<at::Tensor> cast(const NodeContext& ctx) {
  return single(ctx.input(0).to(dtype_of(ctx, ctx.attr_int("to", 0))).clone());
}

std::vector<at::Tensor> cast_like(const NodeContext& ctx) {
  return single(ctx.input(0).to(ctx.input(1).scalar_type()).clone());
}

std::vector<at::Tensor> identity(const NodeContext& ctx) { return single(ctx.input(0)); }

// Inference only: the identity, with an all-true mask. Training mode with a nonzero ratio is random.
std::vector<at::Tensor> dropout(const NodeContext& ctx) {
  const at::Tensor& x = ctx.input(0);
  const bool training = ctx.has_input(2) && ctx.input(2).item<bool>();
  const double ratio = ctx.has_input(1) ? ctx.scalar_input(1) : ctx.attr_float("ratio", 0.5f);
  if (training && ratio != 0) ctx.fail("training mode with a nonzero ratio is random; only inference is evaluated");
  return {x, at::ones(x.sizes(), x.options().dtype(at::kBool))};
}

}  // namespace

void register_creation_ops(EvaluatorRegistry& registry) {
  registry.add("Constant", constant, HalfFloats::kNative);
  registry.add("ConstantOfShape", constant_of_shape, HalfFloats::kNative);
  registry.add("Range", range);
  registry.add("EyeLike", eye_like, HalfFloats::kNative);
  registry.add("OneHot", one_hot, HalfFloats::kNative);
  registry.add("Cast", cast, HalfFloats::kNative);
  registry.add("CastLike", cast_like, HalfFloats::kNative);
  registry.add("Identity", identity, HalfFloats::kNative);
  registry.add("Dropout", dropout, HalfFloats::kNative);
}

}  // namespace htp::optimizer::eval
