// Sizes that stay symbolic in a trace. In C++, `x.size(d)` is a plain integer, which the tracer
// bakes into the graph as a constant; a Size taken with Size::of records `aten::size` instead, and
// the view/reshape/expand/arange below hand it to the tracer (ArgumentStash) so the exported graph
// computes shapes from the runtime input: one export then runs at any batch and sequence length.
// Outside a trace everything behaves like the plain integer version.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace htp::zoo {

class Size {
 public:
  Size(int64_t constant);  // NOLINT: implicit, so constants mix with traced sizes in a shape list
  // x.size(dim) (negative dims count from the end), traced as aten::size while tracing.
  static Size of(const torch::Tensor& x, int64_t dim);
  // A size of `value` whose trace is the 0-dim int64 tensor `traced` (arithmetic on sizes).
  static Size traced_value(int64_t value, torch::Tensor traced);

  int64_t value() const { return value_; }
  // The traced 0-dim int64 tensor, or an undefined tensor for a constant.
  const torch::Tensor& traced() const { return traced_; }

  friend Size operator*(const Size& a, const Size& b);
  friend Size operator+(const Size& a, const Size& b);
  friend Size operator-(const Size& a, const Size& b);

 private:
  Size(int64_t value, torch::Tensor traced) : value_(value), traced_(std::move(traced)) {}
  int64_t value_;
  torch::Tensor traced_;
};

using Shape = std::vector<Size>;

torch::Tensor view(const torch::Tensor& x, const Shape& shape);
torch::Tensor reshape(const torch::Tensor& x, const Shape& shape);
torch::Tensor expand(const torch::Tensor& x, const Shape& shape);
// x.slice(dim, start, end): `end` may be a traced size (position ids of the runtime length).
torch::Tensor slice(const torch::Tensor& x, int64_t dim, int64_t start, const Size& end);
// torch.arange(end) with int64 values.
torch::Tensor arange(const Size& end, const torch::TensorOptions& options = torch::kLong);

}  // namespace htp::zoo
