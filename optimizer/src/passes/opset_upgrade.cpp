#include "passes/opset_upgrade.h"

#include "attributes.h"
#include "htp/onnxio/onnx_file.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <string>

namespace htp::optimizer {
namespace {

constexpr int64_t kOldestUpgradable = 13;

struct SemanticChange {
  const char* op_type;
  int64_t version;  // the opset whose version of the op behaves differently
  std::function<bool(const onnx::NodeProto&)> affects;
};

bool always(const onnx::NodeProto&) { return true; }

bool is_reduction_with_axes_attribute(const onnx::NodeProto& node) { return find_attribute(node, "axes") != nullptr; }

const std::vector<SemanticChange>& semantic_changes() {
  static const std::vector<SemanticChange> changes = [] {
    std::vector<SemanticChange> list{
        {"BatchNormalization", 14, [](const onnx::NodeProto& n) { return n.output_size() > 1; }},
        {"RoiAlign", 16, always},
        {"Split", 18, [](const onnx::NodeProto& n) { return n.input_size() < 2 || n.input(1).empty(); }},
        {"Resize", 18,
         [](const onnx::NodeProto& n) {
           const auto* mode = find_attribute(n, "coordinate_transformation_mode");
           return mode && mode->s() == "tf_half_pixel_for_nn";
         }},
        {"DFT", 20, always},
        {"GridSample", 20, always},
    };
    for (const char* reduce : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                               "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}) {
      list.push_back({reduce, 18, is_reduction_with_axes_attribute});
    }
    return list;
  }();
  return changes;
}

// The first node of `graph` (or its subgraphs) an upgrade from `from` to `to` would change.
const onnx::NodeProto* affected_node(const onnx::GraphProto& graph, int64_t from, int64_t to) {
  for (const auto& node : graph.node()) {
    if (onnxio::is_default_domain(node.domain())) {
      for (const auto& change : semantic_changes()) {
        if (node.op_type() == change.op_type && change.version > from && change.version <= to && change.affects(node)) {
          return &node;
        }
      }
    }
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_g()) {
        if (const auto* found = affected_node(attribute.g(), from, to)) return found;
      }
      for (const auto& subgraph : attribute.graphs()) {
        if (const auto* found = affected_node(subgraph, from, to)) return found;
      }
    }
  }
  return nullptr;
}

int64_t ir_version_for(int64_t opset) { return opset >= 19 ? 9 : opset >= 15 ? 8 : 7; }

}  // namespace

bool ensure_opset(Graph& graph, int64_t target) {
  const int64_t opset = graph.opset();
  if (opset >= target) return true;
  if (opset < kOldestUpgradable) return false;
  onnx::ModelProto& model = graph.model();
  if (const onnx::NodeProto* node = affected_node(model.graph(), opset, target)) {
    spdlog::debug("optimizer: opset {} stays: {} '{}' would change meaning at opset {}", opset, node->op_type(), node->name(), target);
    return false;
  }
  for (auto& entry : *model.mutable_opset_import()) {
    if (onnxio::is_default_domain(entry.domain())) entry.set_version(target);
  }
  if (model.ir_version() < ir_version_for(target)) model.set_ir_version(ir_version_for(target));
  spdlog::debug("optimizer: default-domain opset raised from {} to {}", opset, target);
  return true;
}

}  // namespace htp::optimizer
