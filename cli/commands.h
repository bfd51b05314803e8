// The subcommands of htp-export besides the default export action. Each lives in its own file and
// registers its options on the parent app; main runs the one the user chose after parsing. tag,
// extract and partition of a file are torch-free and also run in the front executable (app.h).
#pragma once

#include <CLI/CLI.hpp>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace htp::cli {

struct Command {
  CLI::App* app;              // the parsed subcommand
  std::function<int()> run;   // returns the exit code; throws std::exception with one clear line
};

Command add_stats_command(CLI::App& parent);
Command add_tag_command(CLI::App& parent);
Command add_extract_command(CLI::App& parent);
Command add_optimize_command(CLI::App& parent);
// The zoo for partition --model / --family: its names and an in-memory export. Without it (the
// torch-free front executable) those options run in the full executable.
struct ZooModels {
  std::function<std::vector<std::string>()> names;
  std::function<onnx::ModelProto(const std::string& name, uint64_t seed)> export_model;
};
Command add_partition_command(CLI::App& parent, std::optional<ZooModels> zoo);
Command add_verify_command(CLI::App& parent);

// Sizes of symbolic dims from NAME=VALUE entries of `option` (--dim, --dims); throws htp::Error naming
// the option and the entry unless every value is a positive integer.
std::map<std::string, int64_t> parse_dims(const std::vector<std::string>& entries, const std::string& option);

// Times every main-graph node of a model with the ATen evaluator: one warm-up run, then `runs` runs on
// random inputs (optimizer::random_inputs, symbolic dims from `dims`, others 1). Returns µs per node
// per run (each node's median over the runs). Only the full executable has it.
using NodeTimer = std::function<std::vector<double>(const onnx::ModelProto& model, const std::string& model_dir, int runs,
                                                    const std::map<std::string, int64_t>& dims, uint64_t seed)>;
NodeTimer aten_node_timer();  // in verify_command.cpp, with the evaluator
// profile: per-module runtime from an ORT profile or, with `timer`, the ATen evaluator; report: the HTML page.
Command add_profile_command(CLI::App& parent, std::optional<NodeTimer> timer);
Command add_report_command(CLI::App& parent);

// --fold-limit SIZE (bytes, or with a K/M/G suffix, powers of 1024), shared by optimize and export --optimize.
CLI::Option* add_fold_limit_option(CLI::App& app, std::optional<int64_t>& limit);

}  // namespace htp::cli
