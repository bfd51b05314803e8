// `htp-export extract tagged.onnx --scope encoder.layer.3 --out part.onnx`: one module's subtree of
// a tagged file as a runnable model of its own (docs/extract.md).
#include "commands.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/tagging/extract.h"
#include "htp/tagging/subgraphs.h"

#include <iostream>
#include <memory>
#include <string>

namespace htp::cli {
namespace {

struct ExtractOptions {
  std::string in;
  std::string scope;
  std::string out;
};

int run_extract(const ExtractOptions& options) {
  onnxio::check_writable_location(options.out);
  // The part's weights go from the input file to the output as it is written.
  auto [model, weights] = onnxio::read_onnx_model_deferring_weights(options.in);
  onnx::ModelProto part;
  try {
    part = tagging::extract_module(model, options.scope);
    // The part, wherever it goes, must not point at the input's data file.
    weights.merge(onnxio::detach_external_data(part, onnxio::model_folder(options.in)));
  } catch (const Error& e) {
    throw Error("'" + options.in + "': " + e.what());
  }
  onnxio::write_onnx_model(part, options.out, onnxio::ExternalData::kWhenTooLarge, weights);
  const onnx::GraphProto& graph = part.graph();
  std::cout << (options.scope.empty() ? "<root>" : options.scope) << ": " << tagging::all_nodes(graph).size() << " nodes, "
            << graph.input_size() << " inputs, " << graph.output_size() << " outputs, " << graph.initializer_size()
            << " initializers -> " << options.out << "\n";
  return 0;
}

}  // namespace

Command add_extract_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("extract", "write one module's subtree of a tagged ONNX file as a model of its own");
  auto options = std::make_shared<ExtractOptions>();
  app->add_option("file", options->in, "ONNX file written by htp-export (nodes tagged with htp.scope)")->required();
  app->add_option("--scope", options->scope, "module path as in named_modules(), e.g. layer2; \"\" for the whole model")
      ->required();
  app->add_option("--out", options->out, "ONNX file to write (written atomically)")->required();
  return {app, [options] { return run_extract(*options); }};
}

}  // namespace htp::cli
