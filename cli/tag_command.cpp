// `htp-export tag in.onnx --out tagged.onnx [--modules classes.json]`: tags a file exported by
// torch.onnx, reading module scopes from the dynamo exporter's pkg.torch.onnx keys where the file has
// them, else from the old exporter's scoped node names (docs/retag.md).
#include "commands.h"

#include "htp/inheritance/inheritance_engine.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/tagging/dynamo_keys.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/reports.h"
#include "htp/tagging/scope_names.h"
#include "htp/tagging/tagger.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace htp::cli {
namespace {

struct TagOptions {
  std::string in;
  std::string out;
  std::string modules;
};

bool carries_tags(const onnx::ModelProto& model) {
  const auto& nodes = model.graph().node();
  return tagging::model_metadata(model, tagging::kModulesKey) ||
         std::any_of(nodes.begin(), nodes.end(), [](const onnx::NodeProto& node) {
           return tagging::node_metadata(node, tagging::kScopeKey).has_value();
         });
}

bool has_module_scopes(const onnx::GraphProto& graph) {
  return std::any_of(graph.node().begin(), graph.node().end(), [](const onnx::NodeProto& node) {
    return !tagging::node_metadata(node, tagging::kScopeKey).value_or("").empty();
  });
}

void print_summary(const nlohmann::json& report, const TagOptions& options) {
  const auto& by_source = report["by_source"];
  std::cout << options.in << " -> " << options.out << ": " << report["nodes"] << " nodes, " << report["empty_tags"]
            << " empty tags (direct " << by_source["direct"] << ", inherited " << by_source["inherited"]
            << ", fallback " << by_source["fallback"] << ", inheritance rate ";
  if (report["inheritance_rate"].is_null()) {
    std::cout << "n/a";
  } else {
    std::cout << std::fixed << std::setprecision(1) << 100.0 * report["inheritance_rate"].get<double>() << "%";
  }
  std::cout << ")\n";
}

int run_tag(const TagOptions& options) {
  onnxio::check_writable_location(options.out);
  std::optional<tagging::ModuleClasses> classes;
  auto modules_error = [&](const Error& e) { return Error("--modules " + options.modules + ": " + e.what()); };
  if (!options.modules.empty()) {
    try {
      classes = tagging::parse_module_classes(onnxio::read_file(options.modules));
    } catch (const Error& e) {
      throw modules_error(e);
    }
  }
  // Tags rewrite metadata only: the weights go from the input file to the output as they are written.
  auto [model, weights] = onnxio::read_onnx_model_deferring_weights(options.in);
  if (carries_tags(model)) {
    spdlog::warn("'{}' is already tagged; replacing its tags with ones read from the file's module keys or node names", options.in);
  }
  onnx::GraphProto& graph = *model.mutable_graph();
  std::optional<tagging::ModuleTree> tree;
  const bool dynamo = tagging::has_dynamo_scopes(graph);
  if (dynamo) {
    if (classes) spdlog::warn("--modules {} is not used: the module classes of '{}' come from its pkg.torch.onnx keys", options.modules, options.in);
    try {
      tree = tagging::scope_nodes_by_dynamo_keys(graph);
    } catch (const Error& e) {
      throw Error("'" + options.in + "': " + e.what());
    }
  } else {
    try {
      tree = tagging::scope_nodes_by_name(graph, classes);
    } catch (const Error& e) {
      if (!classes) throw;
      throw modules_error(e);
    }
  }
  if (!has_module_scopes(graph)) {
    spdlog::warn(dynamo ? "no pkg.torch.onnx.name_scopes of '{}' names a module: only the root module can be tagged"
                        : "no node name of '{}' carries a torch.onnx.export module path (/module/.../Op): "
                          "only the root module can be tagged", options.in);
  }
  inheritance::InheritanceEngine().run(graph, *tree);
  tagging::tag_model(model, *tree, dynamo ? tagging::TagStyle::kDynamo : tagging::TagStyle::kNodeNames);
  // The output, wherever it goes, must not point at the input's data file.
  weights.merge(onnxio::detach_external_data(model, onnxio::model_folder(options.in)));
  onnxio::write_onnx_model(model, options.out, onnxio::ExternalData::kWhenTooLarge, weights);
  print_summary(tagging::coverage_report(model), options);
  return 0;
}

}  // namespace

Command add_tag_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("tag", "tag an ONNX file written by torch.onnx: module paths from the dynamo exporter's pkg.torch.onnx.name_scopes, else from scoped node names");
  auto options = std::make_shared<TagOptions>();
  app->add_option("file", options->in, "ONNX file from torch.onnx.export: dynamo=True (pkg.torch.onnx.name_scopes on nodes) or the TorchScript exporter (scoped node names like /layer1/layer1.0/conv1/Conv)")
      ->required();
  app->add_option("--out", options->out, "ONNX file to write (written atomically)")->required();
  app->add_option("--modules", options->modules,
                  "JSON object module path -> class name, e.g. json.dump({n: type(m).__name__ for n, m in "
                  "model.named_modules()}, f); without it classes are written as Module. Files with pkg.torch.onnx keys name "
                  "their classes and do not use it");
  return {app, [options] { return run_tag(*options); }};
}

}  // namespace htp::cli
