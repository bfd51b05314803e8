// Makes readers of equal constants (same element type, dims and bytes) share the first one:
// initializers, then Constant nodes in graph order. An initializer is preferred as the survivor
// because it is visible to every node, wherever it sits in the order; a Constant node only to the
// nodes after it. Only constants whose type and dims another constant shares are read at all,
// inline raw bytes are compared where they lie, and only a prefix is hashed: distinct weights
// differ early, so the full comparison only runs for (near) duplicates.
#include "passes/passes.h"

#include "htp/onnxio/tensor_data.h"

#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace htp::optimizer {
namespace {

constexpr size_t kHashedBytes = 4096;

struct Candidate {
  std::string name;
  onnx::NodeProto* constant_node = nullptr;  // null for an initializer
};

// The constant's bytes; `storage` keeps them alive when they had to be decoded.
std::string_view bytes_of(const Graph& graph, const std::string& name, at::Tensor& storage) {
  const onnx::TensorProto* stored = graph.initializer(name);
  if (stored != nullptr && stored->has_raw_data() && stored->data_location() != onnx::TensorProto::EXTERNAL) {
    return stored->raw_data();
  }
  storage = *graph.constant_value(name);
  return {static_cast<const char*>(storage.data_ptr()), storage.nbytes()};
}

// The hash of the constant's first kHashedBytes, reading no more of an external-data weight than those.
size_t prefix_hash(const Graph& graph, const std::string& name) {
  const onnx::TensorProto* stored = graph.initializer(name);
  if (stored != nullptr && stored->data_location() == onnx::TensorProto::EXTERNAL) {
    char prefix[kHashedBytes];
    const uint64_t read = onnxio::read_external_data(*stored, graph.model_dir(), prefix, kHashedBytes);
    return std::hash<std::string_view>{}(std::string_view(prefix, read));
  }
  at::Tensor storage;
  return std::hash<std::string_view>{}(bytes_of(graph, name, storage).substr(0, kHashedBytes));
}

std::string type_key(const TensorInfo& info) {
  std::string key = std::to_string(info.elem_type);
  for (int64_t dim : *info.dims) key += "," + std::to_string(dim);
  return key;
}

class DeduplicateInitializers : public Pass {
 public:
  const char* name() const override { return "DeduplicateInitializers"; }

  bool run(Graph& graph) override {
    std::unordered_map<std::string, std::vector<Candidate>> by_type;
    auto collect = [&](const std::string& name, onnx::NodeProto* constant_node) {
      if (!graph.is_constant(name) || graph.is_graph_output(name)) return;
      auto info = graph.tensor_info(name);
      if (info && info->dims && info->elem_type != onnx::TensorProto::STRING) by_type[type_key(*info)].push_back({name, constant_node});
    };
    for (const std::string& name : graph.initializer_names()) collect(name, nullptr);
    for (onnx::NodeProto* node : graph.nodes()) {
      if (node->op_type() == "Constant" && node->domain().empty() && node->output_size() == 1) collect(node->output(0), node);
    }
    bool changed = false;
    for (auto& [key, candidates] : by_type) {
      if (candidates.size() > 1) changed = share_equal(graph, candidates) || changed;
    }
    return changed;
  }

 private:
  static bool share_equal(Graph& graph, const std::vector<Candidate>& candidates) {
    bool changed = false;
    std::unordered_map<size_t, std::vector<std::string>> survivors;  // by hash of the first bytes
    for (const Candidate& candidate : candidates) {
      std::vector<std::string>& same_hash = survivors[prefix_hash(graph, candidate.name)];
      bool shared = false;
      at::Tensor storage;  // the candidate's bytes, read at its first comparison
      std::optional<std::string_view> bytes;
      for (const std::string& survivor : same_hash) {
        if (!bytes) bytes = bytes_of(graph, candidate.name, storage);
        at::Tensor survivor_storage;
        if (bytes_of(graph, survivor, survivor_storage) != *bytes) continue;
        shared = graph.replace_all_uses(candidate.name, survivor);
        break;
      }
      if (!shared) {
        same_hash.push_back(candidate.name);
        continue;
      }
      if (candidate.constant_node != nullptr) {
        graph.remove_node(candidate.constant_node);
      } else {
        graph.remove_initializer(candidate.name);
      }
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_deduplicate_initializers() { return std::make_unique<DeduplicateInitializers>(); }

}  // namespace htp::optimizer
