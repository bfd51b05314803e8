// Layout and shape ops: views, reshapes, transposes, flips, concatenation and stacking, and the
// ops that are the identity in an eval-mode trace (dropout, contiguous, clone, detach).
#include "convert/registry.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

void pass_through(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), ctx.tensor(n->input(0)));
}

// aten::dropout / feature_dropout / alpha_dropout(input, p, train)
void dropout(ConversionContext& ctx, const Node* n) {
  // p = 0 is the identity even in training mode (torchvision's Swin calls F.dropout that way).
  if (ctx.get_bool(n->input(2)) && ctx.get_double(n->input(1)) != 0.0) {
    ctx.fail("dropout in training mode; export the model in eval mode");
  }
  pass_through(ctx, n);
}

// aten::to / type_as and friends: whatever the overload, the trace records the result dtype.
void cast_to_output(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), ctx.tensor_as(n->input(0), ctx.scalar_type(n->output())));
}

void reshape(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), ctx.op("Reshape", {ctx.tensor(n->input(0)), ctx.ints_tensor(n->input(1))}));
}

// aten::flatten(input, start_dim, end_dim)
void flatten(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  if (rank == 0) {
    ctx.bind(n->output(), ctx.op("Reshape", {ctx.tensor(n->input(0)), ctx.constant_ints({1})}));
    return;
  }
  int64_t start = normalize_dim(ctx, ctx.get_int(n->input(1)), rank);
  int64_t end = normalize_dim(ctx, ctx.get_int(n->input(2)), rank);
  if (start == end) return pass_through(ctx, n);
  std::string x = ctx.tensor(n->input(0));
  if (start == 1 && end == rank - 1) {
    ctx.bind(n->output(), ctx.op("Flatten", {x}, {{"axis", int64_t{1}}}));
    return;
  }
  // Leading dims are copied (0), the flattened range is inferred (-1), trailing dims are static.
  std::vector<int64_t> shape(static_cast<size_t>(start), 0);
  shape.push_back(-1);
  auto sizes = ctx.sizes(n->input(0));
  if (end + 1 < rank && !sizes) ctx.fail("flatten before the last dim needs static trailing sizes");
  for (int64_t d = end + 1; d < rank; ++d) shape.push_back((*sizes)[d]);
  ctx.bind(n->output(), ctx.op("Reshape", {x, ctx.constant_ints(shape)}));
}

void transpose_with(ConversionContext& ctx, const Node* n, const std::vector<int64_t>& perm) {
  std::vector<int64_t> identity(perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  if (perm == identity) return pass_through(ctx, n);
  ctx.bind(n->output(), ctx.op("Transpose", {ctx.tensor(n->input(0))}, {{"perm", perm}}));
}

// aten::t: transpose of a matrix, the identity for rank < 2.
void t(ConversionContext& ctx, const Node* n) {
  if (ctx.rank(n->input(0)) < 2) return pass_through(ctx, n);
  transpose_with(ctx, n, {1, 0});
}

void transpose(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[normalize_dim(ctx, ctx.get_int(n->input(1)), rank)], perm[normalize_dim(ctx, ctx.get_int(n->input(2)), rank)]);
  transpose_with(ctx, n, perm);
}

void permute(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  std::vector<int64_t> perm;
  for (int64_t d : ctx.get_ints(n->input(1))) perm.push_back(normalize_dim(ctx, d, rank));
  transpose_with(ctx, n, perm);
}

void unsqueeze(ConversionContext& ctx, const Node* n) {
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)) + 1);
  ctx.bind(n->output(), ctx.op("Unsqueeze", {ctx.tensor(n->input(0)), ctx.constant_ints({axis})}));
}

// aten::squeeze(input[, dim]): torch leaves dims that are not of size 1 alone, so the dims to
// drop are read from the traced sizes.
void squeeze(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  auto sizes = ctx.sizes(n->input(0));
  if (!sizes) ctx.fail("squeeze needs static input sizes");
  std::vector<int64_t> axes;
  if (n->inputs().size() > 1) {
    for (int64_t d : ctx.get_ints(n->input(1))) {
      int64_t axis = normalize_dim(ctx, d, rank);
      if ((*sizes)[axis] == 1) axes.push_back(axis);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d) {
      if ((*sizes)[d] == 1) axes.push_back(d);
    }
  }
  if (axes.empty()) return pass_through(ctx, n);
  ctx.bind(n->output(), ctx.op("Squeeze", {ctx.tensor(n->input(0)), ctx.constant_ints(axes)}));
}

// aten::cat(tensors, dim); torch promotes mixed dtypes to the result's.
void cat(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->output()));
  std::vector<std::string> inputs;
  for (const Value* v : ctx.list_elements(n->input(0))) inputs.push_back(ctx.tensor_as(v, dtype));
  ctx.bind(n->output(), ctx.op("Concat", inputs, {{"axis", axis}}));
}

// aten::stack(tensors, dim): unsqueeze each at dim, then concatenate.
void stack(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t axis = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->output()));
  std::string axes = ctx.constant_ints({axis});
  std::vector<std::string> inputs;
  for (const Value* v : ctx.list_elements(n->input(0))) inputs.push_back(ctx.op("Unsqueeze", {ctx.tensor_as(v, dtype), axes}));
  ctx.bind(n->output(), ctx.op("Concat", inputs, {{"axis", axis}}));
}

// aten::view_as / reshape_as(self, other)
void reshape_as(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), ctx.op("Reshape", {ctx.tensor(n->input(0)), ctx.op("Shape", {ctx.tensor(n->input(1))})}));
}

// aten::unflatten(self, dim, sizes): the dims around `dim` are kept from the input's shape.
void unflatten(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  int64_t dim = normalize_dim(ctx, ctx.get_int(n->input(1)), rank);
  std::string x = ctx.tensor(n->input(0));
  std::string shape = ctx.op("Shape", {x});
  std::string before = ctx.op("Slice", {shape, ctx.constant_ints({0}), ctx.constant_ints({dim})});
  std::string after = ctx.op("Slice", {shape, ctx.constant_ints({dim + 1}), ctx.constant_ints({rank})});
  std::string target = ctx.op("Concat", {before, ctx.ints_tensor(n->input(2)), after}, {{"axis", int64_t{0}}});
  ctx.bind(n->output(), ctx.op("Reshape", {x, target}));
}

// aten::numpy_T: every dim reversed.
void reverse_dims(ConversionContext& ctx, const Node* n) {
  std::vector<int64_t> perm(static_cast<size_t>(ctx.rank(n->input(0))));
  std::iota(perm.rbegin(), perm.rend(), 0);
  transpose_with(ctx, n, perm);
}

// aten::mT / mH / matrix_H / adjoint: the last two dims swapped (real tensors: no conjugate);
// torch lets a scalar through.
void swap_last_two(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  if (rank == 0) return pass_through(ctx, n);
  if (rank < 2) ctx.fail("needs a tensor of at least 2 dims");
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[rank - 2], perm[rank - 1]);
  transpose_with(ctx, n, perm);
}

// aten::movedim / moveaxis(self, source, destination), each an int or an int list: the moved dims
// land at their destinations, the others keep their order in the remaining places.
void movedim(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  std::vector<int64_t> source = ctx.get_ints(n->input(1)), destination = ctx.get_ints(n->input(2));
  if (source.size() != destination.size()) ctx.fail("source and destination name different numbers of dims");
  std::vector<int64_t> perm(static_cast<size_t>(rank), -1);
  std::vector<bool> moved(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < source.size(); ++i) {
    int64_t from = normalize_dim(ctx, source[i], rank);
    perm[static_cast<size_t>(normalize_dim(ctx, destination[i], rank))] = from;
    moved[static_cast<size_t>(from)] = true;
  }
  int64_t next = 0;
  for (int64_t& slot : perm) {
    if (slot != -1) continue;
    while (moved[static_cast<size_t>(next)]) ++next;
    slot = next++;
  }
  transpose_with(ctx, n, perm);
}

// `x` reversed along `axes`: Slice from the last element backwards.
std::string emit_flip(ConversionContext& ctx, const std::string& x, const std::vector<int64_t>& axes) {
  if (axes.empty()) return x;
  std::vector<int64_t> starts(axes.size(), -1), ends(axes.size(), std::numeric_limits<int64_t>::min()), steps(axes.size(), -1);
  return ctx.op("Slice", {x, ctx.constant_ints(starts), ctx.constant_ints(ends), ctx.constant_ints(axes), ctx.constant_ints(steps)});
}

std::vector<int64_t> normalized_dims(const ConversionContext& ctx, const std::vector<int64_t>& dims, int64_t rank) {
  std::vector<int64_t> axes;
  for (int64_t d : dims) axes.push_back(normalize_dim(ctx, d, rank));
  return axes;
}

// aten::flip(self, dims)
void flip(ConversionContext& ctx, const Node* n) {
  auto axes = normalized_dims(ctx, ctx.get_ints(n->input(1)), ctx.rank(n->input(0)));
  ctx.bind(n->output(), emit_flip(ctx, ctx.tensor(n->input(0)), axes));
}

// aten::fliplr (dim 1, rank ≥ 2) and flipud (dim 0, rank ≥ 1).
Converter flip_dim(int64_t dim) {
  return [dim](ConversionContext& ctx, const Node* n) {
    if (ctx.rank(n->input(0)) <= dim) ctx.fail("needs a tensor of at least " + std::to_string(dim + 1) + " dims");
    ctx.bind(n->output(), emit_flip(ctx, ctx.tensor(n->input(0)), {dim}));
  };
}

// aten::rot90(self, k, dims): k quarter turns from dims[0] towards dims[1], as torch composes
// them: a flip of one dim, then a transpose of the two.
void rot90(ConversionContext& ctx, const Node* n) {
  int64_t rank = ctx.rank(n->input(0));
  auto dims = normalized_dims(ctx, ctx.get_ints(n->input(2)), rank);
  if (dims.size() != 2 || dims[0] == dims[1]) ctx.fail("rot90 needs two different dims");
  int64_t k = ((ctx.get_int(n->input(1)) % 4) + 4) % 4;
  std::string x = ctx.tensor(n->input(0));
  if (k == 0) return ctx.bind(n->output(), x);
  if (k == 2) return ctx.bind(n->output(), emit_flip(ctx, x, dims));
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[dims[0]], perm[dims[1]]);
  x = emit_flip(ctx, x, {k == 1 ? dims[1] : dims[0]});
  ctx.bind(n->output(), ctx.op("Transpose", {x}, {{"perm", perm}}));
}

// `x` of rank `rank` raised to at least `target` dims the way torch.atleast_{1,2,3}d does: a
// scalar becomes all ones, a vector a row (and for 3-D, [1, N, 1]), a matrix gains a last dim.
std::string at_least(ConversionContext& ctx, const std::string& x, int64_t rank, int64_t target) {
  if (rank >= target) return x;
  std::vector<int64_t> axes;
  if (rank == 0) {
    for (int64_t d = 0; d < target; ++d) axes.push_back(d);
  } else if (rank == 1) {
    axes = target == 2 ? std::vector<int64_t>{0} : std::vector<int64_t>{0, 2};
  } else {
    axes = {2};
  }
  return ctx.op("Unsqueeze", {x, ctx.constant_ints(axes)});
}

// aten::atleast_Nd(self) or (tensors) → tensors
Converter atleast(int64_t target) {
  return [target](ConversionContext& ctx, const Node* n) {
    if (n->output()->type()->kind() != c10::TypeKind::ListType) {
      return ctx.bind(n->output(), at_least(ctx, ctx.tensor(n->input(0)), ctx.rank(n->input(0)), target));
    }
    std::vector<std::string> raised;
    for (const Value* v : ctx.list_elements(n->input(0))) raised.push_back(at_least(ctx, ctx.tensor(v), ctx.rank(v), target));
    ctx.bind_list(n->output(), raised);
  };
}

// aten::hstack / vstack (row_stack) / dstack / column_stack(tensors): each tensor raised to the
// rank torch gives it, cast to the result dtype, then concatenated.
enum class StackKind { horizontal, vertical, depth, column };

void stack_family(ConversionContext& ctx, const Node* n, StackKind kind) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  auto elements = ctx.list_elements(n->input(0));
  if (elements.empty()) ctx.fail("needs at least one tensor");
  int64_t axis = kind == StackKind::vertical ? 0 : kind == StackKind::depth ? 2 : 1;
  if (kind == StackKind::horizontal && ctx.rank(elements[0]) <= 1) axis = 0;
  std::vector<std::string> parts;
  for (const Value* v : elements) {
    std::string x = ctx.tensor_as(v, dtype);
    int64_t rank = ctx.rank(v);
    if (kind == StackKind::column) {
      parts.push_back(rank <= 1 ? ctx.op("Reshape", {x, ctx.constant_ints({-1, 1})}) : x);
    } else {
      int64_t target = kind == StackKind::vertical ? 2 : kind == StackKind::depth ? 3 : 1;
      parts.push_back(at_least(ctx, x, rank, target));
    }
  }
  ctx.bind(n->output(), ctx.op("Concat", parts, {{"axis", axis}}));
}

// aten::_shape_as_tensor(self): the sizes as a 1-D int64 tensor (torchvision's detection transforms).
void shape_as_tensor(ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), ctx.op("Shape", {ctx.tensor(n->input(0))})); }

// aten::ravel(self)
void ravel(ConversionContext& ctx, const Node* n) { ctx.bind(n->output(), emit_flatten(ctx, ctx.tensor(n->input(0)))); }

}  // namespace

void register_shape_ops(ConverterRegistry& r) {
  r.add("aten::view_as", reshape_as);
  r.add("aten::reshape_as", reshape_as);
  r.add("aten::unflatten", unflatten);
  r.add("aten::swapaxes", transpose);
  r.add("aten::swapdims", transpose);
  // The in-place forms are registered too: in eval mode they write nothing, even through a view.
  for (const char* kind : {"aten::dropout", "aten::feature_dropout", "aten::alpha_dropout", "aten::feature_alpha_dropout",
                           "aten::dropout_", "aten::feature_dropout_", "aten::alpha_dropout_", "aten::feature_alpha_dropout_"}) {
    r.add(kind, dropout);
  }
  for (const char* kind : {"aten::contiguous", "aten::clone", "aten::detach"}) r.add(kind, pass_through);
  r.add("aten::to", cast_to_output);
  r.add("aten::type_as", cast_to_output);
  r.add("aten::view", reshape);
  r.add("aten::reshape", reshape);
  r.add("aten::flatten", flatten);
  r.add("aten::t", t);
  r.add("aten::transpose", transpose);
  r.add("aten::permute", permute);
  r.add("aten::unsqueeze", unsqueeze);
  r.add("aten::squeeze", squeeze);
  r.add("aten::cat", cat);
  r.add("aten::concat", cat);
  r.add("aten::stack", stack);
  r.add("aten::numpy_T", reverse_dims);
  for (const char* kind : {"aten::mT", "aten::mH", "aten::matrix_H", "aten::adjoint"}) r.add(kind, swap_last_two);
  r.add("aten::movedim", movedim);
  r.add("aten::moveaxis", movedim);
  r.add("aten::flip", flip);
  r.add("aten::fliplr", flip_dim(1));
  r.add("aten::flipud", flip_dim(0));
  r.add("aten::rot90", rot90);
  r.add("aten::atleast_1d", atleast(1));
  r.add("aten::atleast_2d", atleast(2));
  r.add("aten::atleast_3d", atleast(3));
  r.add("aten::hstack", [](ConversionContext& ctx, const Node* n) { stack_family(ctx, n, StackKind::horizontal); });
  r.add("aten::vstack", [](ConversionContext& ctx, const Node* n) { stack_family(ctx, n, StackKind::vertical); });
  r.add("aten::row_stack", [](ConversionContext& ctx, const Node* n) { stack_family(ctx, n, StackKind::vertical); });
  r.add("aten::dstack", [](ConversionContext& ctx, const Node* n) { stack_family(ctx, n, StackKind::depth); });
  r.add("aten::column_stack", [](ConversionContext& ctx, const Node* n) { stack_family(ctx, n, StackKind::column); });
  r.add("aten::ravel", ravel);
  r.add("aten::_shape_as_tensor", shape_as_tensor);
}

}  // namespace htp::exporter
