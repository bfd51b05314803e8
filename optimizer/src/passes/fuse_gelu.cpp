// GELU written out with Erf, as exporters before opset 20 do,
//   Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)   or   Mul(Mul(x, 0.5), Add(Erf(Div(x, √2)), 1))
// (Mul by 1/√2 instead of Div by √2, operands of Add and Mul in either order) becomes Gelu(x),
// raising the opset to 20 when the model allows it (opset_upgrade.h; run after FuseLayerNorm,
// whose ReduceMeans would block the raise). Intermediate values may have no other reader. The fused
// node is tagged with the pattern's lowest common ancestor scope.
#include "passes/fusion_tags.h"
#include "passes/opset_upgrade.h"
#include "passes/passes.h"
#include "passes/pattern_matching.h"

#include <cmath>
#include <vector>

namespace htp::optimizer {
namespace {

struct GeluMatch {
  std::vector<onnx::NodeProto*> nodes;  // the last one's output is the result
  std::string x;
};

// x / √2 or x · (1/√2): returns x.
const std::string* scaled_input(const Graph& graph, const onnx::NodeProto* node) {
  if (is_op(node, "Div") && node->input_size() == 2 && is_constant_near(graph, &node->input(1), std::sqrt(2.0))) {
    return &node->input(0);
  }
  if (is_op(node, "Mul") && node->input_size() == 2) {
    for (int side = 0; side < 2; ++side) {
      if (is_constant_near(graph, &node->input(1 - side), 1 / std::sqrt(2.0))) return &node->input(side);
    }
  }
  return nullptr;
}

std::optional<GeluMatch> match(const Graph& graph, onnx::NodeProto* erf) {
  onnx::NodeProto* scale = graph.producer(erf->input(0));
  const std::string* x = scaled_input(graph, scale);
  if (!x || !graph.has_single_consumer(scale->output(0))) return std::nullopt;
  onnx::NodeProto* plus_one = single_reader(graph, erf->output(0));
  if (!is_op(plus_one, "Add") || !is_constant_near(graph, other_input(*plus_one, erf->output(0)), 1.0)) return std::nullopt;
  onnx::NodeProto* product = single_reader(graph, plus_one->output(0));
  if (!is_op(product, "Mul")) return std::nullopt;
  const std::string* factor = other_input(*product, plus_one->output(0));
  if (!factor) return std::nullopt;
  GeluMatch m{{scale, erf, plus_one}, *x};
  if (*factor == *x) {  // x · (1 + erf) · 0.5
    onnx::NodeProto* half = single_reader(graph, product->output(0));
    if (!is_op(half, "Mul") || !is_constant_near(graph, other_input(*half, product->output(0)), 0.5)) return std::nullopt;
    m.nodes.push_back(product);
    m.nodes.push_back(half);
    return m;
  }
  onnx::NodeProto* half = graph.producer(*factor);  // (x · 0.5) · (1 + erf)
  if (!is_op(half, "Mul") || !graph.has_single_consumer(half->output(0)) || !is_constant_near(graph, other_input(*half, *x), 0.5)) {
    return std::nullopt;
  }
  m.nodes = {half, scale, erf, plus_one, product};
  return m;
}

class FuseGelu : public Pass {
 public:
  const char* name() const override { return "FuseGelu"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* node : graph.nodes()) {
      if (graph.is_removed(node) || !is_op(node, "Erf")) continue;
      auto m = match(graph, node);
      if (!m || !ensure_opset(graph, 20)) continue;
      onnx::NodeProto* last = m->nodes.back();
      onnx::NodeProto gelu = graph.derived_node(*node, "Gelu");
      gelu.add_input(m->x);
      gelu.add_output(last->output(0));
      std::vector<const onnx::NodeProto*> pattern{node};  // the Erf is the principal
      for (onnx::NodeProto* fused : m->nodes) {
        if (fused != node) pattern.push_back(fused);
      }
      tag_fused_node(graph, gelu, pattern);
      for (onnx::NodeProto* fused : m->nodes) graph.remove_node(fused);
      graph.insert_node(std::move(gelu), last);
      for (onnx::NodeProto* fused : m->nodes) {
        for (const auto& input : fused->input()) graph.remove_constant_if_unused(input);
      }
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_gelu() { return std::make_unique<FuseGelu>(); }

}  // namespace htp::optimizer
