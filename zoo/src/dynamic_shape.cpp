#include "dynamic_shape.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/torch.h>

namespace htp::zoo {
namespace {

namespace tracer = torch::jit::tracer;

// The traced value of a size: its traced tensor, or the constant as a 0-dim int64 tensor (the
// tracer records it as a constant) when the other operand of an arithmetic op is traced.
torch::Tensor as_tensor(const Size& size) {
  return size.traced().defined() ? size.traced() : torch::tensor(size.value(), torch::kLong);
}

Size combine(const Size& a, const Size& b, int64_t value, torch::Tensor (*op)(const torch::Tensor&, const torch::Tensor&)) {
  if (!a.traced().defined() && !b.traced().defined()) return Size(value);
  return Size::traced_value(value, op(as_tensor(a), as_tensor(b)));
}

// Hands the traced elements of `shape` to the next op's int[] argument `arg` (the op schema's
// name: `size` for view/expand, `shape` for reshape); returns the plain integers for the call.
std::vector<int64_t> stash_shape(const char* arg, const Shape& shape) {
  std::vector<int64_t> values;
  for (const Size& size : shape) values.push_back(size.value());
  if (!tracer::isTracing()) return values;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i].traced().defined()) tracer::ArgumentStash::stashIntArrayRefElem(arg, shape.size(), i, shape[i].traced());
  }
  return values;
}

// Hands a traced int to the next op's scalar argument `arg`.
void stash_int(const char* arg, const Size& size) {
  if (tracer::isTracing() && size.traced().defined()) {
    tracer::ArgumentStash::stashValue(arg, 0, size.traced(), c10::IntType::get());
  }
}

}  // namespace

Size::Size(int64_t constant) : value_(constant) {}

Size Size::traced_value(int64_t value, torch::Tensor traced) { return Size(value, std::move(traced)); }

Size Size::of(const torch::Tensor& x, int64_t dim) {
  int64_t value = x.size(dim);
  if (!tracer::isTracing()) return Size(value);
  return Size(value, tracer::getSizeOf(x, dim < 0 ? dim + x.dim() : dim));
}

Size operator*(const Size& a, const Size& b) { return combine(a, b, a.value() * b.value(), [](const torch::Tensor& x, const torch::Tensor& y) { return x * y; }); }
Size operator+(const Size& a, const Size& b) { return combine(a, b, a.value() + b.value(), [](const torch::Tensor& x, const torch::Tensor& y) { return x + y; }); }
Size operator-(const Size& a, const Size& b) { return combine(a, b, a.value() - b.value(), [](const torch::Tensor& x, const torch::Tensor& y) { return x - y; }); }

torch::Tensor view(const torch::Tensor& x, const Shape& shape) { return x.view(stash_shape("size", shape)); }

torch::Tensor reshape(const torch::Tensor& x, const Shape& shape) { return x.reshape(stash_shape("shape", shape)); }

torch::Tensor expand(const torch::Tensor& x, const Shape& shape) { return x.expand(stash_shape("size", shape)); }

torch::Tensor slice(const torch::Tensor& x, int64_t dim, int64_t start, const Size& end) {
  stash_int("end", end);
  return x.slice(dim, start, end.value());
}

torch::Tensor arange(const Size& end, const torch::TensorOptions& options) {
  stash_int("end", end);
  return torch::arange(end.value(), options);
}

}  // namespace htp::zoo
