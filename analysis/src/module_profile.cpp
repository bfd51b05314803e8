#include "htp/analysis/module_profile.h"

#include "htp/onnxio/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>
#include <cstdio>
#include <string_view>
#include <unordered_map>

namespace htp::analysis {
namespace {

constexpr std::string_view kKernelSuffix = "_kernel_time";
constexpr size_t kTopNodes = 10;
constexpr size_t kCostliestModules = 10;

struct KernelEvent {
  std::string node;
  std::string op;
  double dur_us;
};

// The kernel events of `trace`, without those inside the first `skip_runs` model_run events;
// `model_runs` counts the model_run events kept.
std::vector<KernelEvent> kernel_events(const nlohmann::json& trace, int skip_runs, const std::string& trace_name, int& model_runs) {
  auto string_field = [](const nlohmann::json& event, const char* key) -> const std::string* {
    const auto it = event.find(key);
    return it != event.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  };
  auto number_field = [](const nlohmann::json& event, const char* key) {
    const auto it = event.find(key);
    return it != event.end() && it->is_number() ? it->get<double>() : -1.0;
  };
  std::vector<std::pair<double, double>> runs;  // start and end of each model_run, in µs
  for (const auto& event : trace) {
    const std::string* cat = event.is_object() ? string_field(event, "cat") : nullptr;
    const std::string* name = cat ? string_field(event, "name") : nullptr;
    if (name && *cat == "Session" && *name == "model_run") {
      runs.emplace_back(number_field(event, "ts"), number_field(event, "ts") + number_field(event, "dur"));
    }
  }
  std::sort(runs.begin(), runs.end());
  if (skip_runs > 0 && static_cast<int>(runs.size()) <= skip_runs) {
    throw Error(trace_name + " holds " + std::to_string(runs.size()) + " model_run events: --skip-runs " + std::to_string(skip_runs) +
                " leaves none");
  }
  const double kept_from = skip_runs > 0 ? runs[static_cast<size_t>(skip_runs) - 1].second : -1;
  model_runs = static_cast<int>(runs.size()) - std::max(skip_runs, 0);

  std::vector<KernelEvent> events;
  for (const auto& event : trace) {
    const std::string* cat = event.is_object() ? string_field(event, "cat") : nullptr;
    const std::string* name = cat ? string_field(event, "name") : nullptr;
    const double dur = name ? number_field(event, "dur") : -1;
    if (!name || *cat != "Node" || dur < 0 || name->size() <= kKernelSuffix.size() ||
        name->compare(name->size() - kKernelSuffix.size(), kKernelSuffix.size(), kKernelSuffix) != 0) {
      continue;
    }
    if (skip_runs > 0 && number_field(event, "ts") <= kept_from) continue;
    std::string op;
    if (auto args = event.find("args"); args != event.end() && args->is_object()) op = args->value("op_name", "");
    events.push_back({name->substr(0, name->size() - kKernelSuffix.size()), std::move(op), dur});
  }
  return events;
}

std::string format(const char* pattern, double value) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string percent(double share) { return format("%.1f%%", 100 * share); }

std::string module_label(const ModuleLayout::Module& module) {
  return (module.scope.empty() ? "(root)" : module.scope) + " (" + module.class_name + ")";
}

std::string cell(const std::string& text) {
  std::string escaped;
  for (char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return escaped;
}

}  // namespace

NodeTimes read_ort_profile(const std::string& text, const std::string& trace_name, const ModuleLayout& layout, int skip_runs) {
  const nlohmann::json trace = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  int model_runs = 0;
  const std::vector<KernelEvent> events =
      trace.is_array() ? kernel_events(trace, skip_runs, trace_name, model_runs) : std::vector<KernelEvent>{};
  if (events.empty()) {
    throw Error(trace_name + " is not an ONNX Runtime profile: expected a JSON array of events with cat \"Node\" named "
                "\"<node>_kernel_time\"");
  }
  std::unordered_map<std::string, size_t> node_of_name;
  for (size_t i = 0; i < layout.nodes.size(); ++i) {
    if (!layout.nodes[i]->name().empty()) node_of_name.emplace(layout.nodes[i]->name(), i);
  }
  NodeTimes times;
  times.source = "ort";
  times.node_us.assign(layout.nodes.size(), 0);
  std::unordered_map<std::string, int> repeats;
  int most_repeats = 0;
  bool any_matched = false;
  for (const auto& event : events) {
    most_repeats = std::max(most_repeats, ++repeats[event.node]);
    if (auto it = node_of_name.find(event.node); it != node_of_name.end()) {
      times.node_us[it->second] += event.dur_us;
      any_matched = true;
    } else {
      times.unmatched_us += event.dur_us;
      times.unmatched_by_op[event.op.empty() ? "(unknown)" : event.op] += event.dur_us;
    }
  }
  if (!any_matched) {
    throw Error(trace_name + " profiles another model: none of its " + std::to_string(repeats.size()) +
                " kernels is named like a node of this model");
  }
  times.runs = model_runs > 0 ? model_runs : most_repeats;
  for (double& us : times.node_us) us /= times.runs;
  times.unmatched_us /= times.runs;
  for (auto& [op, us] : times.unmatched_by_op) us /= times.runs;
  return times;
}

RuntimeProfile profile_modules(const ModuleLayout& layout, const NodeTimes& times) {
  RuntimeProfile profile;
  profile.source = times.source;
  profile.runs = times.runs;
  profile.unmatched_us = times.unmatched_us;
  profile.modules.resize(layout.modules.size());
  std::map<std::string, RuntimeProfile::OpType> by_op;
  for (size_t i = 0; i < layout.nodes.size(); ++i) {
    auto& module = profile.modules[layout.node_module[i]];
    ++module.nodes;
    module.exclusive_us += times.node_us[i];
    auto& op = by_op[layout.nodes[i]->op_type()];
    ++op.nodes;
    op.us += times.node_us[i];
    profile.top_nodes.push_back({static_cast<int>(i), times.node_us[i]});
  }
  profile.modules[0].exclusive_us += times.unmatched_us;
  for (const auto& [op, us] : times.unmatched_by_op) by_op[op].us += us;
  // Pre-order lists every parent before its children, so one backward sweep sums the subtrees.
  for (size_t m = layout.modules.size(); m-- > 0;) {
    auto& module = profile.modules[m];
    module.inclusive_us += module.exclusive_us;
    if (layout.modules[m].parent >= 0) profile.modules[layout.modules[m].parent].inclusive_us += module.inclusive_us;
  }
  profile.total_us = profile.modules[0].inclusive_us;

  for (auto& [name, op] : by_op) {
    op.op_type = name;
    profile.op_types.push_back(op);
  }
  std::stable_sort(profile.op_types.begin(), profile.op_types.end(), [](const auto& a, const auto& b) { return a.us > b.us; });
  const size_t top = std::min(kTopNodes, profile.top_nodes.size());
  std::partial_sort(profile.top_nodes.begin(), profile.top_nodes.begin() + static_cast<long>(top), profile.top_nodes.end(),
                    [](const auto& a, const auto& b) { return a.us > b.us || (a.us == b.us && a.index < b.index); });
  profile.top_nodes.resize(top);
  return profile;
}

nlohmann::json profile_json(const ModuleLayout& layout, const RuntimeProfile& profile) {
  nlohmann::json modules = nlohmann::json::array();
  if (layout.tagged) {
    for (size_t m = 0; m < layout.modules.size(); ++m) {
      const auto& module = layout.modules[m];
      const auto& times = profile.modules[m];
      modules.push_back({{"scope", module.scope},
                         {"class", module.class_name},
                         {"parent", module.parent < 0 ? nlohmann::json() : nlohmann::json(layout.modules[module.parent].scope)},
                         {"nodes", times.nodes},
                         {"exclusive_us", times.exclusive_us},
                         {"inclusive_us", times.inclusive_us},
                         {"share", profile.share(times.inclusive_us)}});
    }
  }
  nlohmann::json op_types = nlohmann::json::array();
  for (const auto& op : profile.op_types) {
    op_types.push_back({{"op_type", op.op_type}, {"nodes", op.nodes}, {"us", op.us}, {"share", profile.share(op.us)}});
  }
  nlohmann::json top_nodes = nlohmann::json::array();
  for (const auto& node : profile.top_nodes) {
    const onnx::NodeProto& proto = *layout.nodes[static_cast<size_t>(node.index)];
    top_nodes.push_back({{"name", proto.name()},
                         {"op_type", proto.op_type()},
                         {"scope", layout.tagged ? nlohmann::json(layout.modules[layout.node_module[node.index]].scope) : nlohmann::json()},
                         {"us", node.us},
                         {"share", profile.share(node.us)}});
  }
  return {{"source", profile.source},     {"runs", profile.runs},       {"total_us", profile.total_us},
          {"unmatched_us", profile.unmatched_us}, {"modules_known", layout.tagged}, {"modules", modules},
          {"op_types", op_types},         {"top_nodes", top_nodes}};
}

std::string profile_markdown(const ModuleLayout& layout, const RuntimeProfile& profile) {
  std::string text = "Runtime per run from " + std::string(profile.source == "ort" ? "an ONNX Runtime profile" : "the ATen evaluator") +
                     " (" + std::to_string(profile.runs) + " runs): " + format("%.1f", profile.total_us) + " µs, of which " +
                     format("%.1f", profile.unmatched_us) + " µs matched no node.\n";
  if (layout.tagged) {
    std::vector<size_t> costliest(layout.modules.size());
    for (size_t m = 0; m < costliest.size(); ++m) costliest[m] = m;
    const size_t shown = std::min(kCostliestModules, costliest.size());
    std::partial_sort(costliest.begin(), costliest.begin() + static_cast<long>(shown), costliest.end(), [&](size_t a, size_t b) {
      return profile.modules[a].exclusive_us > profile.modules[b].exclusive_us ||
             (profile.modules[a].exclusive_us == profile.modules[b].exclusive_us && a < b);
    });
    text += "\n## Costliest modules (own nodes)\n\n| module | nodes | exclusive µs | share |\n|---|---:|---:|---:|\n";
    for (size_t k = 0; k < shown; ++k) {
      const auto& times = profile.modules[costliest[k]];
      text += "| " + cell(module_label(layout.modules[costliest[k]])) + " | " + std::to_string(times.nodes) + " | " +
              format("%.1f", times.exclusive_us) + " | " + percent(profile.share(times.exclusive_us)) + " |\n";
    }
    text += "\n## Modules\n\n| module | class | nodes | exclusive µs | inclusive µs | share |\n|---|---|---:|---:|---:|---:|\n";
    for (size_t m = 0; m < layout.modules.size(); ++m) {
      const auto& module = layout.modules[m];
      const auto& times = profile.modules[m];
      text += "| " + std::string(2 * static_cast<size_t>(module.depth), ' ') + cell(module.scope.empty() ? "(root)" : module.scope) +
              " | " + cell(module.class_name) + " | " + std::to_string(times.nodes) + " | " + format("%.1f", times.exclusive_us) +
              " | " + format("%.1f", times.inclusive_us) + " | " + percent(profile.share(times.inclusive_us)) + " |\n";
    }
  } else {
    text += "\nModules: unknown, the file has no htp.modules (tag it with `htp-export tag`); op types and nodes only.\n";
  }
  text += "\n## Op types\n\n| op type | nodes | µs | share |\n|---|---:|---:|---:|\n";
  for (const auto& op : profile.op_types) {
    text += "| " + cell(op.op_type) + " | " + std::to_string(op.nodes) + " | " + format("%.1f", op.us) + " | " + percent(profile.share(op.us)) + " |\n";
  }
  text += "\n## Top nodes\n\n| node | op type | module | µs | share |\n|---|---|---|---:|---:|\n";
  for (const auto& node : profile.top_nodes) {
    const onnx::NodeProto& proto = *layout.nodes[static_cast<size_t>(node.index)];
    const std::string scope = layout.tagged ? module_label(layout.modules[layout.node_module[node.index]]) : "unknown";
    text += "| " + cell(proto.name()) + " | " + cell(proto.op_type()) + " | " + cell(scope) + " | " + format("%.1f", node.us) + " | " +
            percent(profile.share(node.us)) + " |\n";
  }
  return text;
}

}  // namespace htp::analysis
