// `htp-export verify a.onnx b.onnx [--seed N] [--dim name=value ...] [--save-io DIR]`: runs both
// models with the ATen evaluator on the same random inputs and prints max |a − b| per output
// (docs/verify.md). Exits non-zero when the interfaces differ or an output exceeds its tolerance.
#include "commands.h"

#include "htp/exporter/npy.h"
#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/optimizer/tensor_proto.h"
#include "htp/optimizer/verify.h"

#include <filesystem>
#include <limits>
#include <malloc.h>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

namespace htp::cli {
namespace {

struct VerifyCommandOptions {
  std::string first;
  std::string second;
  uint64_t seed = 0;
  std::vector<std::string> dims;
  std::string save_io;
};

std::string number(double value) {
  std::ostringstream out;
  out.precision(3);
  out << value;
  return out.str();
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t k = 0; k < shape.size(); ++k) text += (k ? "," : "") + std::to_string(shape[k]);
  return text + "]";
}

void save_io(const std::string& dir, const optimizer::VerifyResult& result) {
  std::filesystem::create_directories(dir);
  for (size_t k = 0; k < result.inputs.size(); ++k) {
    exporter::write_npy(dir + "/in_" + std::to_string(k) + ".npy", result.inputs[k].second);
  }
  for (size_t k = 0; k < result.reference_outputs.size(); ++k) {
    exporter::write_npy(dir + "/ref_" + std::to_string(k) + ".npy", result.reference_outputs[k]);
  }
}

int run_verify(const VerifyCommandOptions& options) {
  optimizer::VerifyOptions verify;
  verify.seed = options.seed;
  verify.dims = parse_dims(options.dims, "--dim");
  const onnx::ModelProto first = onnxio::read_onnx_model(options.first);
  const onnx::ModelProto second = onnxio::read_onnx_model(options.second);
  const optimizer::VerifyResult result = optimizer::verify_models({first, onnxio::model_folder(options.first)},
                                                                  {second, onnxio::model_folder(options.second)}, verify);
  std::cout << "inputs (seed " << options.seed << "):";
  for (const auto& [name, value] : result.inputs) {
    std::cout << " " << name << " " << shape_text(value.sizes().vec());
  }
  if (!result.dims.empty()) std::cout << "; dims";
  for (const auto& [name, size] : result.dims) std::cout << " " << name << "=" << size;
  std::cout << "\n";
  double overall = 0;
  std::string worst;
  int failed = 0;
  for (const auto& output : result.outputs) {
    std::cout << "  " << output.name << " " << optimizer::onnx_type_name(output.elem_type) << " " << shape_text(output.shape)
              << ": max|a-b| " << number(output.max_diff) << ", max|a| " << number(output.max_ref) << ", tolerance "
              << number(output.tolerance) << (output.within_tolerance() ? " ok" : " EXCEEDED") << "\n";
    if (!output.within_tolerance() && failed++ == 0) {
      worst = "'" + output.name + "' max|a-b| " + number(output.max_diff) + " > " + number(output.tolerance);
    }
    overall = std::max(overall, output.max_diff);
  }
  std::cout << "overall: max|a-b| " << number(overall) << " over " << result.outputs.size() << " outputs, "
            << (failed ? "outside" : "within") << " tolerance\n";
  if (!options.save_io.empty()) save_io(options.save_io, result);
  if (failed) {
    throw Error(std::to_string(failed) + " of " + std::to_string(result.outputs.size()) +
                " outputs differ beyond tolerance, first " + worst);
  }
  return 0;
}

}  // namespace

NodeTimer aten_node_timer() {
  return [](const onnx::ModelProto& model, const std::string& model_dir, int runs, const std::map<std::string, int64_t>& dims,
            uint64_t seed) {
    // glibc hands large blocks back to the kernel on free, so every run would fault in each big
    // activation's pages again and charge that to the early, large layers. ONNX Runtime keeps an
    // arena; keeping freed memory in the heap measures what it would.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    optimizer::VerifyOptions options;
    options.seed = seed;
    options.dims = dims;
    options.default_dim = 1;
    return optimizer::time_graph_nodes({model, model_dir}, options, runs);
  };
}

Command add_verify_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand(
      "verify", "run two ONNX models on the same random inputs with the ATen evaluator and compare their outputs");
  auto options = std::make_shared<VerifyCommandOptions>();
  app->add_option("first", options->first, "reference ONNX file")->required();
  app->add_option("second", options->second, "ONNX file compared with it (e.g. its optimized version)")->required();
  app->add_option("--seed", options->seed, "seed of the random inputs")->capture_default_str();
  app->add_option("--dim", options->dims, "size of a symbolic input dim, e.g. --dim batch=4 (default 2); repeatable");
  app->add_option("--save-io", options->save_io, "write the inputs as in_K.npy and the first model's outputs as ref_K.npy here");
  return {app, [options] { return run_verify(*options); }};
}

}  // namespace htp::cli
