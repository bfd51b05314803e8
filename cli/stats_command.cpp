// `htp-export stats [--models a,b | --all] [--format md|json]`: exports zoo models in memory and
// prints one row of tag statistics per model (docs/stats.md is this command's output).
#include "commands.h"

#include "htp/exporter/export.h"
#include "htp/onnxio/error.h"
#include "htp/zoo/names.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace htp::cli {
namespace {

struct StatsOptions {
  std::vector<std::string> models;
  bool all = false;
  std::string format = "md";
  uint64_t seed = 0;
};

std::vector<std::string> chosen_models(const StatsOptions& options) {
  if (options.all == !options.models.empty()) throw Error("stats: give --all or --models a,b (see --list-models)");
  const std::vector<std::string> known = zoo::model_names();
  if (options.all) return known;
  for (const auto& name : options.models) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      throw Error("stats: unknown model '" + name + "' (see --list-models)");
    }
  }
  return options.models;
}

// One row: the columns docs/stats.md shows, from a coverage report.
nlohmann::json row_of(const nlohmann::json& report) {
  const auto& by_source = report.at("by_source");
  return {{"model", report.at("model")},
          {"nodes", report.at("nodes")},
          {"auxiliary_nodes", report.at("auxiliary_nodes")},
          {"direct", by_source.at("direct")},
          {"inherited", by_source.at("inherited")},
          {"fallback", by_source.at("fallback")},
          {"empty_tags", report.at("empty_tags")},
          {"inheritance_rate", report.at("inheritance_rate")}};
}

std::string markdown_table(const std::vector<nlohmann::json>& rows) {
  std::string table =
      "| model | nodes | auxiliary | direct | inherited | fallback | empty | inheritance rate |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& row : rows) {
    std::string rate = "n/a";
    if (!row["inheritance_rate"].is_null()) {
      char buffer[16];
      std::snprintf(buffer, sizeof buffer, "%.3f", row["inheritance_rate"].get<double>());
      rate = buffer;
    }
    table += "| " + row["model"].get<std::string>();
    for (const char* column : {"nodes", "auxiliary_nodes", "direct", "inherited", "fallback", "empty_tags"}) {
      table += " | " + row[column].dump();
    }
    table += " | " + rate + " |\n";
  }
  return table;
}

int run_stats(const StatsOptions& options) {
  if (options.format != "md" && options.format != "json") throw Error("stats: --format must be md or json");
  std::vector<std::string> models = chosen_models(options);
  std::vector<nlohmann::json> rows;
  for (size_t i = 0; i < models.size(); ++i) {
    exporter::ExportOptions export_options;
    export_options.model = models[i];
    export_options.seed = options.seed;
    nlohmann::json report = exporter::tag_statistics(export_options);
    spdlog::info("[{}/{}] {}: {} nodes in {:.1f} s", i + 1, models.size(), models[i], report["nodes"].get<size_t>(),
                 report["seconds"].get<double>());
    rows.push_back(row_of(report));
  }
  std::cout << (options.format == "md" ? markdown_table(rows) : nlohmann::json(rows).dump(2) + "\n");
  return 0;
}

}  // namespace

Command add_stats_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("stats", "export zoo models in memory and print their tag statistics, one row each");
  auto options = std::make_shared<StatsOptions>();
  app->add_option("--models", options->models, "zoo models, comma separated (see --list-models)")->delimiter(',');
  app->add_flag("--all", options->all, "every zoo model");
  app->add_option("--format", options->format, "md (a markdown table) or json")->capture_default_str();
  app->add_option("--seed", options->seed, "seed of the random weights")->capture_default_str();
  return {app, [options] { return run_stats(*options); }};
}

}  // namespace htp::cli
