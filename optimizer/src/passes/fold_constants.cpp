// Evaluates nodes whose inputs are all constant (initializers, Constant outputs) with the ATen
// evaluator and replaces them by initializers; Constant nodes themselves become initializers.
//
// Size rule: a node folds only when its outputs take at most max(its inputs' bytes, 1 MiB), so
// ConstantOfShape/Expand/Tile/Range blow-ups stay nodes; for those four the output size is worked
// out from the constant inputs before anything is allocated. Above that, no output or temporary
// ever exceeds the fold limit (OptimizeOptions::fold_limit): outputs whose declared shapes are larger
// are not evaluated, and the evaluation runs under an AllocationCap. Nondeterministic ops (RandomNormal,
// RandomUniform(Like), Bernoulli, Multinomial) have no evaluator and never fold; nor do nodes the
// evaluator rejects (e.g. training-mode Dropout), which stay as they are.
#include "passes/folding.h"
#include "passes/passes.h"

#include "allocation_cap.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/optimizer/evaluator.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace htp::optimizer {
namespace {

constexpr int64_t kFreeGrowthBytes = int64_t{1} << 20;

int64_t bytes_of(const std::vector<at::Tensor>& values) {
  int64_t bytes = 0;
  for (const auto& value : values) {
    if (value.defined()) bytes += value.numel() * static_cast<int64_t>(value.element_size());
  }
  return bytes;
}

std::vector<int64_t> values_of(const at::Tensor& t) {
  at::Tensor longs = t.to(at::kLong).contiguous().reshape({-1});
  return {longs.data_ptr<int64_t>(), longs.data_ptr<int64_t>() + longs.numel()};
}

// Elements the output of a generating op will have (as a double: no overflow); nullopt for ops
// whose outputs are bounded by their inputs, and for malformed inputs the evaluator will reject.
std::optional<double> generated_elements(const onnx::NodeProto& node, const std::vector<at::Tensor>& inputs) {
  auto product = [](const std::vector<int64_t>& sizes) {
    double n = 1;
    for (int64_t s : sizes) n *= static_cast<double>(std::max<int64_t>(s, 0));
    return n;
  };
  const std::string& op = node.op_type();
  if (op == "ConstantOfShape" && inputs.size() == 1 && inputs[0].dim() == 1) return product(values_of(inputs[0]));
  if (op == "Tile" && inputs.size() == 2 && inputs[1].dim() == 1) {
    return static_cast<double>(inputs[0].numel()) * product(values_of(inputs[1]));
  }
  if (op == "Expand" && inputs.size() == 2 && inputs[1].dim() == 1) {
    // Right-aligned broadcast of the input's sizes and the requested ones.
    std::vector<int64_t> requested = values_of(inputs[1]);
    std::vector<int64_t> sizes = inputs[0].sizes().vec();
    if (requested.size() > sizes.size()) sizes.insert(sizes.begin(), requested.size() - sizes.size(), 1);
    for (size_t k = 0; k < requested.size(); ++k) {
      int64_t& size = sizes[sizes.size() - requested.size() + k];
      size = std::max(size, requested[k]);
    }
    return product(sizes);
  }
  if (op == "Range" && inputs.size() == 3 && inputs[0].numel() == 1 && inputs[1].numel() == 1 && inputs[2].numel() == 1) {
    const double start = inputs[0].item<double>(), limit = inputs[1].item<double>(), delta = inputs[2].item<double>();
    return delta == 0 ? 0 : std::max(std::ceil((limit - start) / delta), 0.0);
  }
  return std::nullopt;
}

// The bytes the node's outputs take by their declared static shapes (nullopt when one is not static,
// of unknown element size, or too large to count).
std::optional<int64_t> declared_output_bytes(const Graph& graph, const onnx::NodeProto& node) {
  int64_t total = 0;
  for (const auto& name : node.output()) {
    if (name.empty()) continue;
    const std::optional<TensorInfo> info = graph.tensor_info(name);
    if (!info || !info->is_static() || onnxio::element_size(info->elem_type) == 0) return std::nullopt;
    const std::optional<int64_t> elements = onnxio::checked_product(*info->dims);
    const std::optional<int64_t> bytes =
        elements ? onnxio::checked_mul(*elements, static_cast<int64_t>(onnxio::element_size(info->elem_type))) : std::nullopt;
    if (!bytes || __builtin_add_overflow(total, *bytes, &total)) return std::nullopt;
  }
  return total;
}

class FoldConstants : public Pass {
 public:
  explicit FoldConstants(int64_t fold_limit) : fold_limit_(fold_limit) {}
  const char* name() const override { return "FoldConstants"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* node : graph.nodes()) {
      if (graph.is_removed(node) || was_rejected(*node) || !can_evaluate(*node)) continue;
      std::vector<at::Tensor> inputs;
      if (!constant_inputs(graph, *node, inputs)) continue;
      std::optional<std::vector<at::Tensor>> outputs = evaluate(graph, *node, inputs);
      if (outputs && replace_with_initializers(graph, node, *outputs)) {
        changed = true;
      } else {
        // Its inputs are constants already, so later rounds would decide the same.
        rejected_[node] = node->SerializeAsString();
      }
    }
    return changed;
  }

 private:
  // By address and content: a node made later may reuse a removed node's address.
  bool was_rejected(const onnx::NodeProto& node) const {
    auto it = rejected_.find(&node);
    return it != rejected_.end() && it->second == node.SerializeAsString();
  }

  std::unordered_map<const onnx::NodeProto*, std::string> rejected_;
  int64_t fold_limit_;

  static bool constant_inputs(const Graph& graph, const onnx::NodeProto& node, std::vector<at::Tensor>& inputs) {
    for (const auto& name : node.input()) {
      if (!name.empty() && !graph.is_constant(name)) return false;
    }
    for (const auto& name : node.input()) inputs.push_back(name.empty() ? at::Tensor() : *graph.constant_value(name));
    return true;
  }

  std::optional<std::vector<at::Tensor>> evaluate(const Graph& graph, const onnx::NodeProto& node,
                                                  const std::vector<at::Tensor>& inputs) const {
    // A Constant holds its value already: only the fold limit applies to it.
    const int64_t limit = node.op_type() == "Constant" ? fold_limit_
                                                       : std::min(std::max(bytes_of(inputs), kFreeGrowthBytes), fold_limit_);
    // 8 bytes per element bounds every dtype the evaluator produces.
    if (auto elements = generated_elements(node, inputs); elements && *elements * 8 > static_cast<double>(limit)) {
      return std::nullopt;
    }
    if (auto declared = declared_output_bytes(graph, node); declared && *declared > limit) return std::nullopt;
    std::vector<at::Tensor> outputs;
    try {
      const AllocationCap cap(fold_limit_);
      outputs = evaluate_node(node, inputs, graph.opset());
    } catch (const Error& e) {
      spdlog::debug("optimizer: FoldConstants leaves a node as it is: {}", e.what());
      return std::nullopt;
    }
    if (bytes_of(outputs) > limit) return std::nullopt;
    return outputs;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fold_constants(int64_t fold_limit) { return std::make_unique<FoldConstants>(fold_limit); }

}  // namespace htp::optimizer
