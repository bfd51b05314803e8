// `htp-export profile FILE [--ort-profile TRACE]` and `htp-export report FILE --html OUT`: runtime and
// costs per PyTorch module (docs/profile.md). Both are torch-free with a trace; profile without one
// times the nodes with the ATen evaluator, in the full executable.
#include "app.h"
#include "commands.h"

#include "htp/analysis/module_layout.h"
#include "htp/analysis/module_profile.h"
#include "htp/analysis/report_page.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/tagging/reports.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <unordered_map>

namespace htp::cli {
namespace {

struct ProfileOptions {
  std::string file;
  std::string ort_profile;
  int skip_runs = 0;
  int runs = 10;
  std::vector<std::string> dims;
  uint64_t seed = 0;
  std::string format = "md";
  std::string out;
};

struct ReportOptions {
  std::string file;
  std::string html;
  std::string ort_profile;
  int skip_runs = 0;
  std::vector<std::string> dims = {"batch=1", "sequence=128"};
};

analysis::NodeTimes trace_times(const std::string& trace, int skip_runs, const analysis::ModuleLayout& layout) {
  if (skip_runs < 0) throw Error("--skip-runs must be 0 or more");
  return analysis::read_ort_profile(onnxio::read_file(trace), trace, layout, skip_runs);
}

// The ATen evaluator's times of the main graph's nodes, placed at their index among layout.nodes.
analysis::NodeTimes aten_times(const ProfileOptions& options, const NodeTimer& timer, const onnx::ModelProto& model,
                               const analysis::ModuleLayout& layout) {
  const std::vector<double> main_us =
      timer(model, onnxio::model_folder(options.file), options.runs, parse_dims(options.dims, "--dim"), options.seed);
  std::unordered_map<const onnx::NodeProto*, size_t> index;
  for (size_t i = 0; i < layout.nodes.size(); ++i) index.emplace(layout.nodes[i], i);
  analysis::NodeTimes times;
  times.source = "aten";
  times.runs = options.runs;
  times.node_us.assign(layout.nodes.size(), 0);
  for (int k = 0; k < model.graph().node_size(); ++k) times.node_us[index.at(&model.graph().node(k))] = main_us[static_cast<size_t>(k)];
  return times;
}

int run_profile(const ProfileOptions& options, const std::optional<NodeTimer>& timer) {
  if (options.format != "md" && options.format != "json") throw Error("profile: --format must be md or json");
  if (options.runs < 1) throw Error("profile: --runs must be at least 1");
  if (options.ort_profile.empty() && !timer) run_full_executable();
  if (!options.out.empty()) onnxio::check_writable_location(options.out);
  const onnx::ModelProto model = onnxio::read_onnx_model(options.file);
  const analysis::ModuleLayout layout = analysis::module_layout(model);
  const analysis::NodeTimes times =
      options.ort_profile.empty() ? aten_times(options, *timer, model, layout) : trace_times(options.ort_profile, options.skip_runs, layout);
  const analysis::RuntimeProfile profile = analysis::profile_modules(layout, times);
  const std::string text = options.format == "json" ? tagging::json_text(analysis::profile_json(layout, profile), 2) + "\n"
                                                    : analysis::profile_markdown(layout, profile);
  if (options.out.empty()) {
    std::cout << text;
  } else {
    onnxio::write_file_atomically(options.out, text);
    spdlog::info("profile: {:.1f} µs per run over {} modules -> {}", profile.total_us, layout.modules.size(), options.out);
  }
  return 0;
}

int run_report(const ReportOptions& options) {
  onnxio::check_writable_location(options.html);
  const onnx::ModelProto model = onnxio::read_onnx_model(options.file);
  const analysis::ModuleLayout layout = analysis::module_layout(model);
  std::optional<analysis::RuntimeProfile> profile;
  if (!options.ort_profile.empty()) profile = analysis::profile_modules(layout, trace_times(options.ort_profile, options.skip_runs, layout));
  const nlohmann::json data = analysis::report_data(model, layout, std::filesystem::path(options.file).filename().string(),
                                                    parse_dims(options.dims, "--dims"), profile ? &*profile : nullptr);
  onnxio::write_file_atomically(options.html, analysis::report_html(data));
  spdlog::info("report: {} modules, {} nodes{} -> {}", layout.modules.size(), layout.nodes.size(),
               profile ? ", with runtime" : "", options.html);
  return 0;
}

void add_skip_runs_option(CLI::App& app, int& skip_runs) {
  app.add_option("--skip-runs", skip_runs, "with --ort-profile: leave out the kernels of the profile's first K runs (warm-up)")
      ->capture_default_str();
}

}  // namespace

Command add_profile_command(CLI::App& parent, std::optional<NodeTimer> timer) {
  CLI::App* app = parent.add_subcommand("profile", "runtime per PyTorch module, op type and node, from an ORT profile or timed with ATen");
  auto options = std::make_shared<ProfileOptions>();
  app->add_option("file", options->file, "tagged ONNX file")->required();
  app->add_option("--ort-profile", options->ort_profile,
                  "ONNX Runtime profile (JSON) of this file; profile with graph optimizations disabled for exact attribution");
  add_skip_runs_option(*app, options->skip_runs);
  app->add_option("--runs", options->runs, "without --ort-profile: timed runs after one warm-up")->capture_default_str();
  app->add_option("--dim", options->dims, "without --ort-profile: size of a symbolic input dim, e.g. --dim batch=4 (default 1)");
  app->add_option("--seed", options->seed, "without --ort-profile: seed of the random inputs")->capture_default_str();
  app->add_option("--format", options->format, "md (markdown tables) or json")->capture_default_str();
  app->add_option("--out", options->out, "write the profile to this file (atomically) instead of stdout");
  return {app, [options, timer = std::move(timer)] { return run_profile(*options, timer); }};
}

Command add_report_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("report", "one self-contained HTML page: module tree, costs, partitions and runtime");
  auto options = std::make_shared<ReportOptions>();
  app->add_option("file", options->file, "tagged ONNX file")->required();
  app->add_option("--html", options->html, "the page to write (atomically)")->required();
  app->add_option("--ort-profile", options->ort_profile, "ONNX Runtime profile (JSON) of this file: runtime per module");
  add_skip_runs_option(*app, options->skip_runs);
  app->add_option("--dims", options->dims, "values of symbolic input dims for FLOPs and bytes, NAME=VALUE comma separated")
      ->delimiter(',')
      ->capture_default_str();
  return {app, [options] { return run_report(*options); }};
}

}  // namespace htp::cli
