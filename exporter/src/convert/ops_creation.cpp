// Tensors made inside forward: arange, zeros/ones/full (and their _like / new_ forms), triu/tril,
// and the functional forms of fill_/zero_/copy_, which overwrite all of a tensor.
// Sizes may be runtime ints, so filled tensors use ConstantOfShape.
#include "convert/registry.h"

#include <ATen/ATen.h>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

std::string filled(ConversionContext& ctx, const Node* n, const std::string& shape, double value) {
  at::Tensor one = at::full({1}, value, at::TensorOptions().dtype(ctx.scalar_type(n->output())));
  return ctx.op("ConstantOfShape", {shape}, {{"value", one}});
}

Converter fill_sized(double value) {  // aten::zeros/ones/empty(size, dtype, layout, device, pin_memory)
  return [value](ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), filled(ctx, n, ctx.ints_tensor(n->input(0)), value)); };
}

Converter fill_like(double value) {  // aten::zeros_like/ones_like/empty_like(self, ...)
  return [value](ConversionContext& ctx, const Node* n) {
    ctx.bind(n->output(), filled(ctx, n, ctx.op("Shape", {ctx.tensor(n->input(0))}), value));
  };
}

Converter fill_new(double value) {  // aten::new_zeros/new_ones/new_empty(self, size, ...)
  return [value](ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), filled(ctx, n, ctx.ints_tensor(n->input(1)), value)); };
}

// full(size, fill), full_like(self, fill), new_full(self, size, fill): the fill value may be a
// runtime number, so it is expanded rather than baked into ConstantOfShape.
void full_with(ConversionContext& ctx, const Node* n, const std::string& shape, const Value* fill) {
  ctx.bind(n->output(), ctx.op("Expand", {ctx.tensor_as(fill, ctx.scalar_type(n->output())), shape}));
}

// full_like(self, fill, ...), fill(self, value), copy(self, src, non_blocking): the second input
// broadcast to self's shape, in the result's dtype.
void fill_self(ConversionContext& ctx, const Node* n) {
  full_with(ctx, n, ctx.op("Shape", {ctx.tensor(n->input(0))}), n->input(1));
}

// aten::arange(end, ...), (start, end, ...), (start, end, step, ...): the arity tells the form
// (dtype, layout, device and pin_memory always follow).
void arange(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  size_t numbers = n->inputs().size() - 4;
  std::string start = numbers >= 2 ? ctx.tensor_as(n->input(0), dtype) : ctx.scalar(0, dtype);
  std::string end = ctx.tensor_as(n->input(numbers >= 2 ? 1 : 0), dtype);
  std::string step = numbers == 3 ? ctx.tensor_as(n->input(2), dtype) : ctx.scalar(1, dtype);
  ctx.bind(n->output(), ctx.op("Range", {start, end, step}));
}

Converter triangle(int64_t upper) {  // aten::triu/tril(self, diagonal)
  return [upper](ConversionContext& ctx, const Node* n) {
    ctx.bind(n->output(), ctx.op("Trilu", {ctx.tensor(n->input(0)), ctx.tensor_as(n->input(1), at::kLong)}, {{"upper", upper}}));
  };
}

}  // namespace

void register_creation_ops(ConverterRegistry& r) {
  r.add("aten::zeros", fill_sized(0));
  r.add("aten::ones", fill_sized(1));
  r.add("aten::empty", fill_sized(0));
  r.add("aten::zeros_like", fill_like(0));
  r.add("aten::ones_like", fill_like(1));
  r.add("aten::empty_like", fill_like(0));
  r.add("aten::new_zeros", fill_new(0));
  r.add("aten::new_ones", fill_new(1));
  r.add("aten::new_empty", fill_new(0));
  r.add("aten::full", [](ConversionContext& ctx, const Node* n) { full_with(ctx, n, ctx.ints_tensor(n->input(0)), n->input(1)); });
  r.add("aten::full_like", fill_self);
  r.add("aten::new_full", [](ConversionContext& ctx, const Node* n) { full_with(ctx, n, ctx.ints_tensor(n->input(1)), n->input(2)); });
  r.add("aten::fill", fill_self);
  r.add("aten::copy", fill_self);
  r.add("aten::zero", fill_like(0));
  r.add("aten::scalar_tensor", [](ConversionContext& ctx, const Node* n) {
    ctx.bind(n->output(), ctx.tensor_as(n->input(0), ctx.scalar_type(n->output())));
  });
  r.add("aten::arange", arange);
  r.add("aten::triu", triangle(1));
  r.add("aten::tril", triangle(0));
}

}  // namespace htp::exporter
