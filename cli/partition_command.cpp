// `htp-export partition FILE | --model NAME | --family PREFIX`: fusion partition of tagged models,
// per subgraph and per model (docs/partition.md).
#include "app.h"
#include "commands.h"

#include "htp/analysis/costs.h"
#include "htp/analysis/partition.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/tagging/reports.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace htp::cli {
namespace {

struct PartitionOptions {
  std::string file;
  std::string model;
  std::string family;
  std::optional<int> unit_depth;
  std::vector<std::string> unit_classes;
  std::string device = "cpu-core";
  std::string format = "md";
  std::vector<std::string> dims = {"batch=1", "sequence=128"};
  uint64_t seed = 0;
};

analysis::FusionUnit fusion_unit(const PartitionOptions& options) {
  if (options.unit_depth && !options.unit_classes.empty()) throw Error("partition: give --unit or --unit-classes, not both");
  analysis::FusionUnit unit;
  if (options.unit_depth) {
    if (*options.unit_depth < 0) throw Error("partition: --unit must be a depth >= 0 (0 = the root module)");
    unit.kind = analysis::FusionUnit::Kind::kDepth;
    unit.depth = *options.unit_depth;
  } else if (!options.unit_classes.empty()) {
    unit.kind = analysis::FusionUnit::Kind::kClasses;
    unit.classes = options.unit_classes;
  }
  return unit;
}

std::string unit_description(const analysis::FusionUnit& unit) {
  switch (unit.kind) {
    case analysis::FusionUnit::Kind::kDepth:
      return "depth " + std::to_string(unit.depth);
    case analysis::FusionUnit::Kind::kClasses: {
      std::string classes;
      for (const auto& name : unit.classes) classes += (classes.empty() ? "" : ",") + name;
      return "classes " + classes;
    }
    case analysis::FusionUnit::Kind::kInnermostNonLeaf:
      break;
  }
  return "innermost non-leaf module";
}

std::vector<std::string> family_models(const ZooModels& zoo, const std::string& family) {
  std::vector<std::string> models;
  for (const auto& name : zoo.names()) {
    if (name.rfind(family, 0) == 0) models.push_back(name);
  }
  if (models.empty()) throw Error("partition: no zoo model name starts with '" + family + "' (see --list-models)");
  return models;
}

class Partitioner {
 public:
  explicit Partitioner(const PartitionOptions& options)
      : unit_(fusion_unit(options)), device_(analysis::device_profile(options.device)), dims_(parse_dims(options.dims, "--dims")) {}

  // The full report of one model: its summary, every subgraph, the unit and the device.
  nlohmann::json report(const onnx::ModelProto& model, const std::string& name) const {
    const analysis::Partition partition = partition_of(model);
    nlohmann::json report = analysis::partition_report(model, partition);
    report["model"] = name;
    report["unit"] = unit_description(unit_);
    report["device"] = device_.name;
    return report;
  }

  nlohmann::json summary(const onnx::ModelProto& model, const std::string& name) const {
    nlohmann::json summary = analysis::partition_summary(partition_of(model));
    summary["model"] = name;
    return summary;
  }

  std::string header() const {
    char ridge[32];
    std::snprintf(ridge, sizeof ridge, "%.2f", device_.ridge());
    return "Fusion unit: " + unit_description(unit_) + "; device " + device_.name + " (" + device_.description +
           ", ridge " + ridge + " FLOP/B).\n\n";
  }

 private:
  // Logs (at -v) the time of the costs and of the partition proper, which is linear in graph size.
  analysis::Partition partition_of(const onnx::ModelProto& model) const {
    const auto start = std::chrono::steady_clock::now();
    const analysis::GraphCosts costs = analysis::compute_costs(model, dims_);
    const auto costed = std::chrono::steady_clock::now();
    analysis::Partition partition = analysis::partition_model(model, costs, unit_, device_);
    const std::chrono::duration<double> cost_time = costed - start, partition_time = std::chrono::steady_clock::now() - costed;
    spdlog::debug("{} nodes: costs in {:.4f} s, partition in {:.4f} s", model.graph().node_size(), cost_time.count(),
                  partition_time.count());
    return partition;
  }

  analysis::FusionUnit unit_;
  const analysis::DeviceProfile& device_;
  std::map<std::string, int64_t> dims_;
};

std::string subgraph_table(const nlohmann::json& report) {
  std::string table =
      "\n| # | unit | pattern | ops | MFLOPs | external KB | fused-away KB | AI (FLOP/B) | class |\n"
      "|---:|---|---|---:|---:|---:|---:|---:|---|\n";
  int index = 0;
  for (const auto& subgraph : report.at("subgraph_list")) {
    char numbers[160];
    std::snprintf(numbers, sizeof numbers, "%.3f | %.1f | %.1f | %.2f", subgraph.at("flops").get<double>() / 1e6,
                  subgraph.at("external_bytes").get<double>() / 1024, subgraph.at("fused_away_bytes").get<double>() / 1024,
                  subgraph.at("intensity").get<double>());
    table += "| " + std::to_string(index++) + " | " + subgraph.at("unit").get<std::string>() + " | " +
             subgraph.at("pattern").get<std::string>() + " | " + subgraph.at("ops").dump() + " | " + numbers + " | " +
             subgraph.at("bottleneck").get<std::string>() + " |\n";
  }
  return table;
}

int run_family(const PartitionOptions& options, const ZooModels& zoo, const Partitioner& partitioner) {
  const std::vector<std::string> models = family_models(zoo, options.family);
  std::vector<nlohmann::json> summaries;
  for (size_t i = 0; i < models.size(); ++i) {
    summaries.push_back(partitioner.summary(zoo.export_model(models[i], options.seed), models[i]));
    spdlog::info("[{}/{}] {}: {} subgraphs", i + 1, models.size(), models[i], summaries.back()["subgraphs"].get<size_t>());
  }
  if (options.format == "json") {
    nlohmann::json spreads;
    for (const char* key : {"fusion_efficiency", "single_op_share", "memory_reduction"}) spreads[key] = analysis::spread(summaries, key);
    std::cout << tagging::json_text(nlohmann::json{{"models", summaries}, {"spread", spreads}}, 2) << "\n";
  } else {
    std::cout << partitioner.header() << analysis::summary_table(summaries);
  }
  return 0;
}

int run_partition(const PartitionOptions& options, const std::optional<ZooModels>& zoo) {
  if (options.format != "md" && options.format != "json") throw Error("partition: --format must be md or json");
  const int sources = !options.file.empty() + !options.model.empty() + !options.family.empty();
  if (sources != 1) throw Error("partition: give one of FILE, --model NAME or --family PREFIX");
  if (options.file.empty() && !zoo) run_full_executable();
  const Partitioner partitioner(options);
  if (!options.family.empty()) return run_family(options, *zoo, partitioner);

  if (!options.model.empty()) {
    const auto known = zoo->names();
    if (std::find(known.begin(), known.end(), options.model) == known.end()) {
      throw Error("partition: unknown model '" + options.model + "' (see --list-models)");
    }
  }
  const onnx::ModelProto model =
      options.file.empty() ? zoo->export_model(options.model, options.seed)
                           : onnxio::read_onnx_model_deferring_weights(options.file).model;  // weights never read
  const nlohmann::json report = partitioner.report(model, options.file.empty() ? options.model : options.file);
  if (options.format == "json") {
    std::cout << tagging::json_text(report, 2) << "\n";
  } else {
    std::cout << partitioner.header() << analysis::summary_table({report}) << subgraph_table(report);
  }
  return 0;
}

}  // namespace

Command add_partition_command(CLI::App& parent, std::optional<ZooModels> zoo) {
  CLI::App* app = parent.add_subcommand("partition", "fusion partition of a tagged model: subgraphs, bytes, intensity, roofline");
  auto options = std::make_shared<PartitionOptions>();
  app->add_option("file", options->file, "tagged ONNX file to partition");
  app->add_option("--model", options->model, "zoo model to export in memory and partition (see --list-models)");
  app->add_option("--family", options->family, "every zoo model whose name starts with this, one row each (e.g. efficientnet)");
  app->add_option("--unit", options->unit_depth, "fusion unit: the module at this depth of the hierarchy (root = 0)");
  app->add_option("--unit-classes", options->unit_classes, "fusion unit: the innermost module of one of these classes")
      ->delimiter(',');
  app->add_option("--device", options->device, "device profile: cpu-core, mobile-npu, h100, h100-fp16")->capture_default_str();
  app->add_option("--format", options->format, "md (markdown tables) or json")->capture_default_str();
  app->add_option("--dims", options->dims, "values of symbolic input dims, NAME=VALUE comma separated")
      ->delimiter(',')
      ->capture_default_str();
  app->add_option("--seed", options->seed, "seed of the random weights of a zoo model")->capture_default_str();
  return {app, [options, zoo = std::move(zoo)] { return run_partition(*options, zoo); }};
}

}  // namespace htp::cli
