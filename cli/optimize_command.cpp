// `htp-export optimize in.onnx --out out.onnx [--report r.json]`: the tag-preserving optimizer on
// any ONNX file, tagged or not (docs/optimizer.md).
#include "commands.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/optimizer/optimize.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

namespace htp::cli {
namespace {

struct OptimizeCommandOptions {
  std::string in;
  std::string out;
  std::string report;
  std::vector<std::string> passes;
  std::vector<std::string> disabled;
  std::optional<int64_t> fold_limit;
};

int run_optimize(const OptimizeCommandOptions& options) {
  onnxio::check_writable_location(options.out);
  if (!options.report.empty()) onnxio::check_writable_location(options.report);
  onnx::ModelProto model = onnxio::read_onnx_model(options.in);
  optimizer::OptimizeOptions settings;
  settings.model_dir = onnxio::model_folder(options.in);
  settings.enabled = options.passes;
  settings.disabled = options.disabled;
  if (options.fold_limit) settings.fold_limit = *options.fold_limit;
  optimizer::OptimizeReport report;
  onnxio::DeferredTensors weights;  // the initializers no pass changed, copied from the input's data file
  try {
    report = optimizer::optimize(model, settings);
    // The output, wherever it goes, must not point at the input's data file (the writer moves large
    // tensors out again above protobuf's limit).
    weights = onnxio::detach_external_data(model, settings.model_dir);
  } catch (const Error& e) {
    throw Error("'" + options.in + "': " + e.what());
  }
  onnxio::write_onnx_model(model, options.out, onnxio::ExternalData::kWhenTooLarge, weights);
  if (!options.report.empty()) onnxio::write_file_atomically(options.report, optimizer::to_json(report).dump(2) + "\n");
  std::cout << options.in << " -> " << options.out << ": " << report.nodes_before << " -> " << report.nodes_after
            << " nodes, " << report.initializers_before << " -> " << report.initializers_after << " initializers\n";
  return 0;
}

}  // namespace

Command add_optimize_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("optimize", "optimize an ONNX file, keeping every node's tags");
  auto options = std::make_shared<OptimizeCommandOptions>();
  app->add_option("file", options->in, "ONNX file to optimize (tagged or not)")->required();
  app->add_option("--out", options->out, "ONNX file to write (written atomically)")->required();
  app->add_option("--report", options->report, "write the per-pass report (JSON) to this file");
  app->add_option("--passes", options->passes, "run only these passes (comma-separated names, docs/optimizer.md)")
      ->delimiter(',');
  app->add_option("--disable", options->disabled, "skip these passes (comma-separated names)")->delimiter(',');
  add_fold_limit_option(*app, options->fold_limit);
  return {app, [options] { return run_optimize(*options); }};
}

CLI::Option* add_fold_limit_option(CLI::App& app, std::optional<int64_t>& limit) {
  return app
      .add_option("--fold-limit", limit,
                  "largest tensor constant folding may create, e.g. 64M or 1G (default 256M); bigger ones stay nodes")
      ->transform(CLI::AsSizeValue(/*kb_is_1000=*/false));
}

}  // namespace htp::cli
