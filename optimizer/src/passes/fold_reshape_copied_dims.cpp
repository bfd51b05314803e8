// A Reshape whose target is assembled at run time from its own input's sizes, as exporters write
// view(x.size(0), x.size(1), heads, -1):
//   Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), Unsqueeze(Gather(Shape(x), 1)), [heads, -1]))
// gets a constant target instead, [0, 0, heads, -1]: a piece that is x's own dim at the same position
// becomes 0, which Reshape (allowzero 0) reads as "copy that dim", so the file still runs at any size.
// Every other piece must be a constant. A dim of another tensor counts as x's when shape inference
// gave both the same dim_param. Pieces may be Shape (with start/end), Gather of a Shape by constant
// indices, Unsqueeze of such a scalar, or constants. The assembly goes too where nothing else reads it.
#include "passes/passes.h"
#include "passes/pattern_matching.h"

#include "attributes.h"
#include "htp/onnxio/onnx_file.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace htp::optimizer {
namespace {

// One entry of the target shape: a constant, or dim `index` of `tensor` at run time.
struct Piece {
  std::optional<int64_t> constant;
  std::string tensor;
  int64_t index = 0;
};
using Pieces = std::vector<Piece>;

std::optional<int64_t> rank_of(const Graph& graph, const std::string& tensor) {
  auto info = graph.tensor_info(tensor);
  if (!info || !info->dims) return std::nullopt;
  return static_cast<int64_t>(info->dims->size());
}

std::optional<std::vector<int64_t>> constant_ints(const Graph& graph, const std::string& tensor) {
  auto value = graph.constant_value(tensor);
  if (!value || !at::isIntegralType(value->scalar_type(), /*includeBool=*/false) || value->dim() > 1) return std::nullopt;
  at::Tensor flat = value->to(at::kLong).contiguous().reshape({-1});
  return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
}

// The dims Shape(x)[start:end] reports, as pieces; needs x's rank.
std::optional<Pieces> shape_pieces(const Graph& graph, const onnx::NodeProto& shape) {
  const auto rank = rank_of(graph, shape.input(0));
  if (!rank) return std::nullopt;
  auto clamp = [&](int64_t bound) { return std::clamp(bound < 0 ? bound + *rank : bound, int64_t{0}, *rank); };
  const int64_t start = clamp(int_attribute(shape, "start", 0));
  const int64_t end = clamp(int_attribute(shape, "end", *rank));
  Pieces pieces;
  for (int64_t i = start; i < end; ++i) pieces.push_back({std::nullopt, shape.input(0), i});
  return pieces;
}

// Gather(Shape(x), constant indices) along axis 0: the picked dims, in order.
std::optional<Pieces> gathered_pieces(const Graph& graph, const onnx::NodeProto& gather) {
  if (gather.input_size() != 2 || int_attribute(gather, "axis", 0) != 0) return std::nullopt;
  const onnx::NodeProto* shape = graph.producer(gather.input(0));
  auto indices = constant_ints(graph, gather.input(1));
  if (!is_op(shape, "Shape") || !indices) return std::nullopt;
  // Without start/end, a non-negative index is the dim itself; the rank is needed for anything else.
  const bool plain = find_attribute(*shape, "start") == nullptr && find_attribute(*shape, "end") == nullptr;
  if (plain && std::all_of(indices->begin(), indices->end(), [](int64_t index) { return index >= 0; })) {
    Pieces pieces;
    for (int64_t index : *indices) pieces.push_back({std::nullopt, shape->input(0), index});
    return pieces;
  }
  auto dims = shape_pieces(graph, *shape);
  if (!dims) return std::nullopt;
  const auto count = static_cast<int64_t>(dims->size());
  Pieces pieces;
  for (int64_t index : *indices) {
    if (index < -count || index >= count) return std::nullopt;
    pieces.push_back((*dims)[index < 0 ? index + count : index]);
  }
  return pieces;
}

// The pieces one Concat input stands for.
std::optional<Pieces> pieces_of(const Graph& graph, const std::string& tensor) {
  if (auto values = constant_ints(graph, tensor)) {
    Pieces pieces;
    for (int64_t value : *values) pieces.push_back({value, "", 0});
    return pieces;
  }
  const onnx::NodeProto* node = graph.producer(tensor);
  if (is_op(node, "Shape")) return shape_pieces(graph, *node);
  if (is_op(node, "Gather")) return gathered_pieces(graph, *node);
  if (is_op(node, "Unsqueeze")) {
    // A scalar made 1-d: axes [0] (input from opset 13, attribute before).
    auto axes = node->input_size() > 1 ? constant_ints(graph, node->input(1)) : ints_attribute(*node, "axes");
    const onnx::NodeProto* scalar = graph.producer(node->input(0));
    if (!axes || *axes != std::vector<int64_t>{0} || !is_op(scalar, "Gather")) return std::nullopt;
    return gathered_pieces(graph, *scalar);
  }
  return std::nullopt;
}

std::string dim_param(const Graph& graph, const std::string& tensor, int64_t index) {
  auto info = graph.tensor_info(tensor);
  if (!info || index >= static_cast<int64_t>(info->dim_params.size())) return "";
  return info->dim_params[index];
}

// Whether `piece` is always the size of dim `position` of `data` (then data has that dim).
bool copies_dim(const Graph& graph, const Piece& piece, const std::string& data, int64_t position) {
  if (piece.constant) return false;
  if (piece.tensor == data) return piece.index == position;
  const std::string name = dim_param(graph, piece.tensor, piece.index);
  return !name.empty() && name == dim_param(graph, data, position);
}

// The constant target, or nullopt when some piece is neither a constant nor data's dim at its place.
std::optional<std::vector<int64_t>> constant_target(const Graph& graph, const onnx::NodeProto& reshape,
                                                    const onnx::NodeProto& concat) {
  const std::string& data = reshape.input(0);
  std::vector<int64_t> target;
  for (const auto& input : concat.input()) {
    auto pieces = pieces_of(graph, input);
    if (!pieces) return std::nullopt;
    for (const Piece& piece : *pieces) {
      const auto position = static_cast<int64_t>(target.size());
      if (piece.constant) {
        target.push_back(*piece.constant);
      } else if (copies_dim(graph, piece, data, position)) {
        target.push_back(0);
      } else {
        return std::nullopt;
      }
    }
  }
  return target;
}

// Removes the nodes that computed `tensor` and whatever fed only them, now that nothing reads it.
void remove_unread_producers(Graph& graph, const std::string& tensor) {
  std::vector<std::string> pending{tensor};
  while (!pending.empty()) {
    const std::string name = pending.back();
    pending.pop_back();
    onnx::NodeProto* node = graph.producer(name);
    if (node == nullptr) {
      graph.remove_constant_if_unused(name);
      continue;
    }
    if (graph.is_removed(node) || !onnxio::is_standard_domain(node->domain()) || graph.is_read(*node)) continue;
    graph.remove_node(node);
    for (const auto& input : node->input()) {
      if (!input.empty()) pending.push_back(input);
    }
  }
}

class FoldReshapeCopiedDims : public Pass {
 public:
  const char* name() const override { return "FoldReshapeCopiedDims"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* reshape : graph.nodes()) {
      if (graph.is_removed(reshape) || !is_op(reshape, "Reshape") || reshape->input_size() != 2) continue;
      if (int_attribute(*reshape, "allowzero", 0) != 0) continue;
      const std::string shape = reshape->input(1);
      const onnx::NodeProto* concat = graph.producer(shape);
      if (!is_op(concat, "Concat")) continue;
      auto target = constant_target(graph, *reshape, *concat);
      if (!target) continue;
      const auto length = static_cast<int64_t>(target->size());
      const std::string name = graph.add_initializer(shape + "_copied_dims", at::tensor(*target, at::kLong).reshape({length}));
      graph.set_input(reshape, 1, name);
      if (graph.use_count(shape) == 0) remove_unread_producers(graph, shape);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fold_reshape_copied_dims() { return std::make_unique<FoldReshapeCopiedDims>(); }

}  // namespace htp::optimizer
