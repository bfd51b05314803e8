// Chains of reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze) collapse into their last op:
// only the final shape matters.
//  - Reshape(B(x), s) reads x directly when s is constant and cannot copy a dimension of B's
//    output (no 0 entries, or allowzero=1).
//  - Unsqueeze(Unsqueeze(x)) and Squeeze(Squeeze(x)) merge their axes when x's rank is known.
//  - Otherwise, when the chain's output shape is static, the last op becomes Reshape(x, shape).
// B itself goes once nothing else reads it.
#include "passes/passes.h"

#include "attributes.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <set>

namespace htp::optimizer {
namespace {

bool is_reshape_like(const onnx::NodeProto* node) {
  if (node == nullptr || !node->domain().empty() || node->input_size() == 0) return false;
  const std::string& op = node->op_type();
  return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze";
}

bool reshape_reads_only_element_count(const Graph& graph, const onnx::NodeProto& reshape) {
  if (reshape.op_type() != "Reshape" || reshape.input_size() != 2) return false;
  if (int_attribute(reshape, "allowzero", 0) != 0) return graph.is_constant(reshape.input(1));
  auto shape = graph.constant_value(reshape.input(1));
  return shape && !shape->eq(0).any().item<bool>();
}

// Squeeze/Unsqueeze axes: an input since opset 13, an attribute before. Nullopt when not constant
// or absent (Squeeze without axes removes every 1, which depends on the shape).
std::optional<std::vector<int64_t>> axes_of(const Graph& graph, const onnx::NodeProto& node) {
  if (node.input_size() >= 2 && !node.input(1).empty()) {
    auto axes = graph.constant_value(node.input(1));
    if (!axes) return std::nullopt;
    const at::Tensor flat = axes->to(at::kLong).reshape({-1}).contiguous();
    return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
  }
  return ints_attribute(node, "axes");
}

void set_axes(Graph& graph, onnx::NodeProto& node, const std::vector<int64_t>& axes) {
  if (node.input_size() >= 2 && !node.input(1).empty()) {
    const std::string old = node.input(1);
    const std::string name = graph.add_initializer(node.output(0) + "_axes", at::tensor(axes, at::kLong));
    graph.set_input(&node, 1, name);
    graph.remove_constant_if_unused(old);
  } else {
    set_ints_attribute(node, "axes", axes);
  }
}

std::optional<std::set<int64_t>> normalized(const std::vector<int64_t>& axes, int64_t rank) {
  std::set<int64_t> result;
  for (int64_t axis : axes) {
    const int64_t positive = axis < 0 ? axis + rank : axis;
    if (positive < 0 || positive >= rank || !result.insert(positive).second) return std::nullopt;
  }
  return result;
}

// The axes one Unsqueeze/Squeeze applies for `inner` followed by `outer`, or nullopt.
std::optional<std::vector<int64_t>> merged_axes(const std::string& op, int64_t rank, const std::vector<int64_t>& inner,
                                                const std::vector<int64_t>& outer) {
  const int64_t count = static_cast<int64_t>(inner.size() + outer.size());
  if (op == "Unsqueeze") {
    auto first = normalized(inner, rank + static_cast<int64_t>(inner.size()));
    auto second = normalized(outer, rank + count);
    if (!first || !second) return std::nullopt;
    // The intermediate dims fill the final positions `outer` leaves free, in order.
    std::vector<int64_t> free;
    for (int64_t axis = 0; axis < rank + count; ++axis) {
      if (second->count(axis) == 0) free.push_back(axis);
    }
    std::set<int64_t> merged = *second;
    for (int64_t axis : *first) merged.insert(free[axis]);
    return std::vector<int64_t>(merged.begin(), merged.end());
  }
  auto first = normalized(inner, rank);
  auto second = normalized(outer, rank - static_cast<int64_t>(inner.size()));
  if (!first || !second) return std::nullopt;
  // The intermediate dims are the input dims `inner` keeps, in order.
  std::vector<int64_t> kept;
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (first->count(axis) == 0) kept.push_back(axis);
  }
  std::set<int64_t> merged = *first;
  for (int64_t axis : *second) merged.insert(kept[axis]);
  return std::vector<int64_t>(merged.begin(), merged.end());
}

class MergeReshapeChains : public Pass {
 public:
  const char* name() const override { return "MergeReshapeChains"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* outer : graph.nodes()) {
      if (graph.is_removed(outer) || !is_reshape_like(outer)) continue;
      onnx::NodeProto* inner = graph.producer(outer->input(0));
      if (!is_reshape_like(inner)) continue;
      onnx::NodeProto* result = merge(graph, *inner, *outer);
      if (result == nullptr) continue;
      if (graph.use_count(inner->output(0)) == 0) {
        Graph::record_fusion(*result, {outer, inner});
        graph.remove_node(inner);
        for (int i = 1; i < inner->input_size(); ++i) graph.remove_constant_if_unused(inner->input(i));
      }
      changed = true;
    }
    return changed;
  }

 private:
  // Rewrites `outer` (or replaces it) to read `inner`'s input; returns the node now computing
  // `outer`'s output, or nullptr when the chain cannot be merged.
  static onnx::NodeProto* merge(Graph& graph, onnx::NodeProto& inner, onnx::NodeProto& outer) {
    const std::string source = inner.input(0);
    if (reshape_reads_only_element_count(graph, outer)) {
      graph.set_input(&outer, 0, source);
      return &outer;
    }
    const std::string& op = outer.op_type();
    if (op == inner.op_type() && (op == "Squeeze" || op == "Unsqueeze")) {
      auto source_info = graph.tensor_info(source);
      auto inner_axes = axes_of(graph, inner);
      auto outer_axes = axes_of(graph, outer);
      if (source_info && source_info->dims && inner_axes && outer_axes) {
        if (auto axes = merged_axes(op, static_cast<int64_t>(source_info->dims->size()), *inner_axes, *outer_axes)) {
          graph.set_input(&outer, 0, source);
          set_axes(graph, outer, *axes);
          return &outer;
        }
      }
    }
    auto result = graph.tensor_info(outer.output(0));
    if (!result || !result->is_static() || !graph.has_single_consumer(inner.output(0))) return nullptr;
    onnx::NodeProto reshape = graph.derived_node(outer, "Reshape");
    reshape.add_input(source);
    reshape.add_input(graph.add_initializer(outer.output(0) + "_shape", at::tensor(*result->dims, at::kLong)));
    reshape.add_output(outer.output(0));
    graph.remove_node(&outer);
    const std::vector<std::string> old_inputs(outer.input().begin() + 1, outer.input().end());
    onnx::NodeProto* stored = graph.insert_node(std::move(reshape), &outer);
    for (const std::string& input : old_inputs) graph.remove_constant_if_unused(input);
    return stored;
  }
};

}  // namespace

std::unique_ptr<Pass> make_merge_reshape_chains() { return std::make_unique<MergeReshapeChains>(); }

}  // namespace htp::optimizer
