#include "htp/optimizer/optimize.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/shape_inference.h"
#include "pass.h"
#include "pass_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <unordered_set>

namespace htp::optimizer {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void check_known(const std::vector<std::string>& requested, const std::vector<std::string>& known) {
  for (const auto& name : requested) {
    if (!contains(known, name)) throw Error("unknown optimizer pass '" + name + "'");
  }
}

std::vector<std::unique_ptr<Pass>> selected_passes(const OptimizeOptions& options) {
  if (options.fold_limit < 0) throw Error("the fold limit must not be negative");
  const std::vector<std::string> known = pass_names();
  check_known(options.enabled, known);
  check_known(options.disabled, known);
  std::vector<std::unique_ptr<Pass>> passes;
  for (auto& pass : canonical_passes(options)) {
    const bool enabled = options.enabled.empty() || contains(options.enabled, pass->name());
    if (enabled && !contains(options.disabled, pass->name())) passes.push_back(std::move(pass));
  }
  return passes;
}

// Declares the types and shapes ONNX shape inference finds (value_info, and graph outputs' shapes
// as value_info), for the passes that need a rank or a static shape; returns the names that were
// declared before. A model inference cannot handle is optimized without the extra types.
std::unordered_set<std::string> infer_types(onnx::ModelProto& model) {
  std::unordered_set<std::string> declared;
  for (const auto& value : model.graph().value_info()) declared.insert(value.name());
  // A copy, so that nothing inference writes (subgraph types, graph output shapes) reaches the output.
  onnx::ModelProto typed = onnxio::shape_inference_copy(model);
  try {
    onnxio::infer_shapes(typed);
  } catch (const Error& e) {
    spdlog::warn("optimizer: optimizing without inferred shapes: {}", e.what());
    return declared;
  }
  for (auto* values : {typed.mutable_graph()->mutable_value_info(), typed.mutable_graph()->mutable_output()}) {
    for (auto& value : *values) {
      if (declared.count(value.name()) == 0) *model.mutable_graph()->add_value_info() = std::move(value);
    }
  }
  return declared;
}

// Drops the value_info entries inference added: the output declares what the input did.
void drop_inferred_types(onnx::GraphProto& graph, const std::unordered_set<std::string>& declared) {
  auto* values = graph.mutable_value_info();
  int kept = 0;
  for (int i = 0; i < values->size(); ++i) {
    if (declared.count(values->Get(i).name()) > 0) values->SwapElements(kept++, i);
  }
  values->DeleteSubrange(kept, values->size() - kept);
}

}  // namespace

std::vector<std::string> pass_names() {
  std::vector<std::string> names;
  for (const auto& pass : canonical_passes()) names.emplace_back(pass->name());
  return names;
}

OptimizeReport optimize(onnx::ModelProto& model, const OptimizeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PassManager manager(selected_passes(options));
  OptimizeReport report;
  report.nodes_before = model.graph().node_size();
  report.initializers_before = model.graph().initializer_size();
  const std::unordered_set<std::string> declared = infer_types(model);
  {
    Graph graph(model, options.model_dir);
    manager.run(graph, options.max_rounds, report);
    graph.finish();
  }
  drop_inferred_types(*model.mutable_graph(), declared);
  report.nodes_after = model.graph().node_size();
  report.initializers_after = model.graph().initializer_size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

nlohmann::json to_json(const OptimizeReport& report) {
  auto passes = nlohmann::json::array();
  for (const auto& pass : report.passes) {
    passes.push_back({{"name", pass.name},
                      {"runs", pass.runs},
                      {"changed_runs", pass.changed_runs},
                      {"nodes_removed", pass.nodes_removed},
                      {"nodes_added", pass.nodes_added},
                      {"initializers_removed", pass.initializers_removed},
                      {"initializers_added", pass.initializers_added},
                      {"seconds", pass.seconds}});
  }
  return {{"nodes_before", report.nodes_before},
          {"nodes_after", report.nodes_after},
          {"initializers_before", report.initializers_before},
          {"initializers_after", report.initializers_after},
          {"rounds", report.rounds},
          {"seconds", report.seconds},
          {"passes", passes}};
}

}  // namespace htp::optimizer
