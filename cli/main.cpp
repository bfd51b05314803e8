// htp-export-torch: wires the CLI spellings of DESIGN.md to the libraries; every command, including
// those the front executable runs itself (app.h).
#include "app.h"
#include "commands.h"
#include "htp/exporter/errors.h"
#include "htp/exporter/export.h"
#include "htp/zoo/names.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace {

std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> shape;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(part, &used);
    } catch (const std::exception&) {
    }
    if (used != part.size() || value <= 0) throw htp::exporter::ExportError("invalid --input-shape '" + text + "': expected positive integers like 1,3,224,224");
    shape.push_back(value);
  }
  return shape;
}

void print_summary(const nlohmann::json& report) {
  const auto& by_source = report["by_source"];
  std::cout << report["model"].get<std::string>() << ": " << report["nodes"] << " nodes, " << report["tagged"]
            << " tagged, " << report["empty_tags"] << " empty tags (direct " << by_source["direct"] << ", inherited "
            << by_source["inherited"] << ", fallback " << by_source["fallback"] << ") -> "
            << report["file"].get<std::string>() << "\n";
}

htp::cli::ZooModels zoo_models() {
  return {htp::zoo::model_names, [](const std::string& name, uint64_t seed) {
            htp::exporter::ExportOptions options;
            options.model = name;
            options.seed = seed;
            return htp::exporter::export_in_memory(options).model;
          }};
}

// Every file is written and closed by now. LibTorch's static destructors would deregister its
// thousands of operator kernels one by one, about 70 ms of every run, so the process ends after
// flushing its standard streams; under AddressSanitizer it exits normally, for the leak check.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang's spelling; gcc defines __SANITIZE_ADDRESS__
#define HTP_ADDRESS_SANITIZER 1
#endif
#endif
[[noreturn]] void end_without_static_destructors(int code) {
#if defined(__SANITIZE_ADDRESS__) || defined(HTP_ADDRESS_SANITIZER)
  std::exit(code);
#else
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(code);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  htp::cli::TopLevel top;
  CLI::App& app = top.app;
  htp::exporter::ExportOptions options;
  std::vector<std::string> input_shapes;
  bool list_models = false;
  app.add_option("--model", options.model, "built-in zoo model to export (see --list-models)");
  app.add_option("--torchscript", options.torchscript, "TorchScript archive to export (torch.jit.trace / torch.jit.script output)");
  app.add_option("--hf-dir", options.hf_dir,
                 "Hugging Face model directory to export: config.json with model.safetensors, its shards, or no weights "
                 "(drawn from --seed); model types: " + htp::zoo::joined(htp::zoo::hf_model_types()));
  app.add_option("--input", options.input_files, "example input as a .npy file; repeat in forward-argument order");
  app.add_option("--out", options.out, "ONNX file to write (written atomically)");
  app.add_option("--save-io", options.save_io_dir, "directory for example inputs in_K.npy and LibTorch outputs ref_K.npy");
  app.add_flag("--external-data", options.external_data,
               "write the weights to OUT.data (ONNX external data); automatic above protobuf's 2 GB limit");
  app.add_option_function<std::string>(
         "--dtype", [&options](const std::string& dtype) { options.float16_weights = dtype == "float16"; },
         "how the file stores float32 weights: float32 (default), or float16, each read through a Cast to float32 "
         "so every op computes in float32 (docs/hf_dir.md)")
      ->check(CLI::IsMember({"float32", "float16"}));
  app.add_flag("--optimize", options.optimize, "optimize the tagged graph before writing (docs/optimizer.md)");
  htp::cli::add_fold_limit_option(app, options.fold_limit);
  app.add_option("--report", options.report_path, "write the coverage report (JSON) to this file");
  app.add_option("--sidecar", options.sidecar_path, "write coverage, module tree and every node's tag (JSON) to this file");
  app.add_option("--seed", options.seed, "seed of the random weights and example inputs")->capture_default_str();
  app.add_option("--weights", options.weights,
                 "state dict to load by name: safetensors, or torch.save(dict(model.state_dict()), f)");
  app.add_option("--input-shape", input_shapes,
                 "random example input of this shape, e.g. 1,3,224,224; repeat in forward order (zoo: the image size)");
  app.add_option("--input-dtype", options.input_dtypes, "dtype of the matching --input-shape (default float32)");
  const CLI::Validator positive([](std::string& text) {
    const bool digits = !text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
    return digits && std::stoll(text) > 0
               ? std::string()
               : "must be a positive integer, got '" + text + "'";
  }, "POSITIVE");
  app.add_option("--batch", options.batch, "example batch size of a zoo model (transformers: default 2)")->check(positive);
  app.add_option("--seq-len", options.seq_len, "example sequence length of a zoo transformer (default 16)")->check(positive);
  app.add_flag("--list-models", list_models, "print the built-in model names and exit");
  std::vector<htp::cli::Command> commands = {htp::cli::add_extract_command(app), htp::cli::add_optimize_command(app),
                                             htp::cli::add_partition_command(app, zoo_models()),
                                             htp::cli::add_profile_command(app, htp::cli::aten_node_timer()),
                                             htp::cli::add_report_command(app),
                                             htp::cli::add_stats_command(app), htp::cli::add_tag_command(app),
                                             htp::cli::add_verify_command(app)};
  const int code = htp::cli::run_top_level(top, commands, [&] {
    if (list_models) {
      for (const auto& name : htp::zoo::model_names()) std::cout << name << "\n";
      return 0;
    }
    if (options.model.empty() && options.torchscript.empty() && options.hf_dir.empty()) {
      throw htp::exporter::ExportError("nothing to export: give --model NAME (see --list-models), --torchscript FILE or --hf-dir DIR");
    }
    if (options.out.empty()) throw htp::exporter::ExportError("missing --out FILE");
    if (options.fold_limit && !options.optimize) throw htp::exporter::ExportError("--fold-limit applies with --optimize");
    for (const auto& shape : input_shapes) options.input_shapes.push_back(parse_shape(shape));
    print_summary(htp::exporter::export_model(options));
    return 0;
  }, argc, argv);
  end_without_static_destructors(code);
}
