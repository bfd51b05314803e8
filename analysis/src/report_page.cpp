#include "htp/analysis/report_page.h"

#include "htp/analysis/costs.h"
#include "htp/analysis/partition.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/reports.h"
#include "htp/tagging/tagger.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <string_view>
#include <unordered_map>

namespace htp::analysis {
namespace {

// The page template, analysis/src/report_page.html, as a string literal generated at configure time.
constexpr std::string_view kPageTemplate =
#include "report_page_html.inc"
    ;
constexpr std::string_view kDataPlaceholder = "__HTP_REPORT_DATA__";

struct ModuleFigures {
  int64_t params = 0, param_bytes = 0, bytes_moved = 0;
  double flops = 0;
  std::map<std::string, int> ops;
  std::map<std::string, double> op_flops;
  std::map<std::string, int> sources{{"direct", 0}, {"inherited", 0}, {"fallback", 0}};
  nlohmann::json partitions = nlohmann::json::array();
};

std::vector<ModuleFigures> module_figures(const onnx::ModelProto& model, const ModuleLayout& layout,
                                          const std::map<std::string, int64_t>& dims) {
  std::vector<ModuleFigures> figures(layout.modules.size());
  // A model ONNX shape inference rejects still gets its tree, counts and runtime, without costs.
  GraphCosts costs;
  try {
    costs = compute_costs(model, dims);
  } catch (const Error& e) {
    spdlog::warn("report: no FLOPs, bytes or partitions: {}", e.what());
  }
  std::unordered_map<const onnx::NodeProto*, size_t> main_index;
  for (int i = 0; i < model.graph().node_size(); ++i) main_index.emplace(&model.graph().node(i), static_cast<size_t>(i));
  for (size_t i = 0; i < layout.nodes.size(); ++i) {
    auto& module = figures[layout.node_module[i]];
    ++module.ops[layout.nodes[i]->op_type()];
    if (auto source = tagging::node_metadata(*layout.nodes[i], tagging::kSourceKey); source && module.sources.count(*source)) {
      ++module.sources[*source];
    }
    if (auto it = main_index.find(layout.nodes[i]); it != main_index.end() && it->second < costs.nodes.size()) {
      const NodeCost& cost = costs.nodes[it->second];
      module.flops += cost.flops;
      module.op_flops[layout.nodes[i]->op_type()] += cost.flops;
      module.bytes_moved += cost.activation_bytes_read + cost.weight_bytes_read + cost.bytes_written;
    }
  }
  for (const auto& initializer : model.graph().initializer()) {
    const auto numel = onnxio::checked_product(initializer.dims());
    const auto bytes = numel ? onnxio::checked_mul(*numel, static_cast<int64_t>(onnxio::element_size(initializer.data_type())))
                             : std::nullopt;
    if (!bytes) continue;
    auto& module = figures[static_cast<size_t>(layout.owner_of(initializer.name()))];
    module.params += *numel;
    module.param_bytes += *bytes;
  }
  if (layout.tagged && !costs.nodes.empty()) {
    const Partition partition = partition_model(model, costs, FusionUnit{}, device_profile("cpu-core"));
    for (const auto& subgraph : partition.subgraphs) {
      figures[static_cast<size_t>(layout.owner_of(subgraph.unit))].partitions.push_back(
          {{"pattern", subgraph.pattern},
           {"ops", subgraph.ops.size()},
           {"flops", subgraph.flops},
           {"intensity", subgraph.intensity},
           {"bottleneck", bottleneck_name(subgraph.bottleneck)}});
    }
  }
  return figures;
}

nlohmann::json or_null(const RuntimeProfile* profile, double value) { return profile ? nlohmann::json(value) : nlohmann::json(); }

}  // namespace

nlohmann::json report_data(const onnx::ModelProto& model, const ModuleLayout& layout, const std::string& file_name,
                           const std::map<std::string, int64_t>& dims, const RuntimeProfile* profile) {
  const std::vector<ModuleFigures> figures = module_figures(model, layout, dims);
  const size_t count = layout.modules.size();
  std::vector<int64_t> subtree_nodes(count), subtree_params(count);
  std::vector<double> subtree_flops(count);
  for (size_t m = count; m-- > 0;) {
    for (const auto& [op, n] : figures[m].ops) subtree_nodes[m] += n;
    subtree_params[m] += figures[m].params;
    subtree_flops[m] += figures[m].flops;
    if (const int parent = layout.modules[m].parent; parent >= 0) {
      subtree_nodes[parent] += subtree_nodes[m];
      subtree_params[parent] += subtree_params[m];
      subtree_flops[parent] += subtree_flops[m];
    }
  }

  nlohmann::json modules = nlohmann::json::array();
  for (size_t m = 0; m < count; ++m) {
    const auto& module = layout.modules[m];
    const auto& own = figures[m];
    int nodes = 0;
    for (const auto& [op, n] : own.ops) nodes += n;
    const RuntimeProfile::Module* times = profile ? &profile->modules[m] : nullptr;
    modules.push_back({{"scope", module.scope},
                       {"class", module.class_name},
                       {"parent", module.parent},
                       {"depth", module.depth},
                       {"children", module.children},
                       {"nodes", nodes},
                       {"subtree_nodes", subtree_nodes[m]},
                       {"ops", own.ops},
                       {"params", own.params},
                       {"param_bytes", own.param_bytes},
                       {"subtree_params", subtree_params[m]},
                       {"flops", own.flops},
                       {"subtree_flops", subtree_flops[m]},
                       {"bytes_moved", own.bytes_moved},
                       {"sources", own.sources},
                       {"partitions", own.partitions},
                       {"exclusive_us", or_null(profile, times ? times->exclusive_us : 0)},
                       {"inclusive_us", or_null(profile, times ? times->inclusive_us : 0)},
                       {"share", or_null(profile, times ? profile->share(times->inclusive_us) : 0)}});
  }

  std::map<std::string, std::pair<int, double>> op_counts;  // op type → nodes, FLOPs
  for (size_t m = 0; m < count; ++m) {
    for (const auto& [op, n] : figures[m].ops) op_counts[op].first += n;
    for (const auto& [op, flops] : figures[m].op_flops) op_counts[op].second += flops;
  }
  nlohmann::json op_types = nlohmann::json::array();
  if (profile) {
    for (const auto& op : profile->op_types) {
      op_types.push_back({{"op_type", op.op_type},
                          {"nodes", op.nodes},
                          {"flops", op_counts[op.op_type].second},
                          {"exclusive_us", op.us},
                          {"share", profile->share(op.us)}});
    }
  } else {
    std::vector<std::pair<std::string, std::pair<int, double>>> by_nodes(op_counts.begin(), op_counts.end());
    std::stable_sort(by_nodes.begin(), by_nodes.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    for (const auto& [op, counts] : by_nodes) {
      op_types.push_back(
          {{"op_type", op}, {"nodes", counts.first}, {"flops", counts.second}, {"exclusive_us", nullptr}, {"share", nullptr}});
    }
  }

  int64_t param_bytes = 0;
  for (const auto& own : figures) param_bytes += own.param_bytes;
  // Every module object has the same keys, in the same (sorted) order: rows of their values.
  nlohmann::json module_keys = nlohmann::json::array(), module_rows = nlohmann::json::array();
  for (const auto& [key, value] : modules.at(0).items()) module_keys.push_back(key);
  for (auto& module : modules) {
    nlohmann::json row = nlohmann::json::array();
    for (auto& [key, value] : module.items()) row.push_back(std::move(value));
    module_rows.push_back(std::move(row));
  }
  return {{"file", file_name},
          {"tagged", layout.tagged},
          {"nodes", layout.nodes.size()},
          {"flops", subtree_flops[0]},
          {"params", subtree_params[0]},
          {"param_bytes", param_bytes},
          {"profile", profile ? nlohmann::json{{"source", profile->source},
                                               {"runs", profile->runs},
                                               {"total_us", profile->total_us},
                                               {"unmatched_us", profile->unmatched_us}}
                              : nlohmann::json()},
          {"op_types", op_types},
          {"module_keys", module_keys},
          {"modules", module_rows}};
}

std::string report_html(const nlohmann::json& data) {
  // '<' as \u003c keeps "</script>" and "<!--" in a scope name from ending the data's script element.
  std::string json;
  for (char c : tagging::json_text(data)) {
    if (c == '<') {
      json += "\\u003c";
    } else {
      json += c;
    }
  }
  std::string page(kPageTemplate);
  const auto at = page.find(kDataPlaceholder);
  page.replace(at, kDataPlaceholder.size(), json);
  return page;
}

}  // namespace htp::analysis
