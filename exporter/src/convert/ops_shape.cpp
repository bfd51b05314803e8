// Layout and shape ops: views, reshapes, transposes, concatenation, and the ops that are the
// identity in an eval-mode trace (dropout, contiguous, clone, detach).
#include "convert/registry.h"

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
}

}  // namespace htp::exporter
