// Python values computed while the model runs: sizes (aten::size) and their arithmetic, list
// and tuple plumbing. Runtime ints are 0-d int64 tensors, runtime int lists 1-D ones, so shape
// arithmetic stays live in the ONNX graph instead of being frozen to the example's sizes.
#include "convert/registry.h"

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

bool is_tensor_list(const Value* value) {
  auto list = value->type()->cast<c10::ListType>();
  return list && list->getElementType()->kind() == c10::TypeKind::TensorType;
}

// aten::size(x) → Shape; aten::size(x, dim) → one element of it.
void size(ConversionContext& ctx, const Node* n) {
  std::string shape = ctx.op("Shape", {ctx.tensor(n->input(0))});
  if (n->inputs().size() == 1) return ctx.bind(n->output(), shape);
  int64_t dim = normalize_dim(ctx, ctx.get_int(n->input(1)), ctx.rank(n->input(0)));
  ctx.bind(n->output(), ctx.op("Gather", {shape, ctx.scalar(static_cast<double>(dim), at::kLong)}, {{"axis", int64_t{0}}}));
}

// aten::Int / Float / Bool / ScalarImplicit and prim::NumToTensor: a number changes type, or
// becomes a 0-d tensor, which it already is in ONNX.
void number_cast(ConversionContext& ctx, const Node* n) {
  ctx.bind(n->output(), ctx.tensor_as(n->input(0), ctx.scalar_type(n->output())));
}

void getitem(ConversionContext& ctx, const Node* n) {
  if (is_tensor_list(n->input(0))) {
    auto items = ctx.tensor_list(n->input(0));
    int64_t index = ctx.get_int(n->input(1));
    if (index < 0) index += static_cast<int64_t>(items.size());
    if (index < 0 || index >= static_cast<int64_t>(items.size())) ctx.fail("list index out of range");
    return ctx.bind(n->output(), items[static_cast<size_t>(index)]);
  }
  std::string index = ctx.tensor_as(n->input(1), at::kLong);
  ctx.bind(n->output(), ctx.op("Gather", {ctx.ints_tensor(n->input(0)), index}, {{"axis", int64_t{0}}}));
}

// The length of a list is static: a ListConstruct's arity or, for a shape, the tensor's rank.
void len(ConversionContext& ctx, const Node* n) {
  const Node* producer = n->input(0)->node();
  if (producer->kind() == c10::prim::ListConstruct) {
    return ctx.bind_constant(n->output(), static_cast<int64_t>(producer->inputs().size()));
  }
  if (producer->kind() == c10::aten::size && producer->inputs().size() == 1) {
    return ctx.bind_constant(n->output(), ctx.rank(producer->input(0)));
  }
  if (auto known = ctx.constant(n->input(0)); known && known->isList()) {
    return ctx.bind_constant(n->output(), static_cast<int64_t>(known->toListRef().size()));
  }
  ctx.fail("length of a list built at run time");
}

void list_unpack(ConversionContext& ctx, const Node* n) {
  if (is_tensor_list(n->input(0))) {
    auto items = ctx.tensor_list(n->input(0));
    if (items.size() != n->outputs().size()) ctx.fail("list has " + std::to_string(items.size()) + " elements");
    for (size_t i = 0; i < items.size(); ++i) ctx.bind(n->output(i), items[i]);
    return;
  }
  if (auto known = ctx.constant(n->input(0)); known && known->isList()) {
    for (size_t i = 0; i < n->outputs().size(); ++i) ctx.bind_constant(n->output(i), known->toListRef()[i]);
    return;
  }
  std::string list = ctx.ints_tensor(n->input(0));
  for (size_t i = 0; i < n->outputs().size(); ++i) {
    ctx.bind(n->output(i), ctx.op("Gather", {list, ctx.scalar(static_cast<double>(i), at::kLong)}, {{"axis", int64_t{0}}}));
  }
}

void tuple_unpack(ConversionContext& ctx, const Node* n) {
  const Node* producer = n->input(0)->node();
  if (producer->kind() != c10::prim::TupleConstruct) ctx.fail("tuple not built by prim::TupleConstruct");
  for (size_t i = 0; i < n->outputs().size(); ++i) {
    const Value* element = producer->input(i);
    if (auto known = ctx.constant(element)) {
      ctx.bind_constant(n->output(i), *known);
    } else if (is_tensor_list(element)) {
      ctx.bind_list(n->output(i), ctx.tensor_list(element));
    } else {
      ctx.bind(n->output(i), ctx.tensor(element));
    }
  }
}

}  // namespace

void register_scalar_ops(ConverterRegistry& r) {
  r.add("aten::size", size);
  for (const char* kind : {"aten::Int", "aten::Float", "aten::Bool", "aten::ScalarImplicit", "prim::NumToTensor"}) {
    r.add(kind, number_cast);
  }
  r.add("aten::__getitem__", getitem);
  r.add("aten::len", len);
  r.add("aten::dim", [](ConversionContext& ctx, const Node* n) { ctx.bind_constant(n->output(), ctx.rank(n->input(0))); });
  r.add("prim::dtype", [](ConversionContext& ctx, const Node* n) {
    ctx.bind_constant(n->output(), static_cast<int64_t>(ctx.scalar_type(n->input(0))));
  });
  r.add("prim::device", [](ConversionContext& ctx, const Node* n) { ctx.bind_constant(n->output(), c10::Device(c10::kCPU)); });
  r.add("prim::ListUnpack", list_unpack);
  r.add("prim::TupleUnpack", tuple_unpack);
}

}  // namespace htp::exporter
