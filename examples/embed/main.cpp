// Loads a TorchScript archive, exports it to a tagged ONNX file and prints the coverage report:
//   htp_embed_example ARCHIVE.pt INPUT.npy [INPUT.npy...] OUT.onnx
// In your own program the module usually comes from your code; export_module takes any
// torch::jit::Module in eval mode with example inputs for its forward.
#include <htp/exporter/errors.h>
#include <htp/exporter/module_export.h>
#include <htp/exporter/npy.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <torch/script.h>

#include <exception>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: htp_embed_example ARCHIVE.pt INPUT.npy [INPUT.npy...] OUT.onnx\n";
    return 2;
  }
  // htp-export logs its progress with spdlog's default logger, which writes to stdout; this program
  // keeps stdout for the report.
  spdlog::set_default_logger(spdlog::stderr_color_st("htp"));
  try {
    torch::jit::Module module = torch::jit::load(argv[1]);
    module.eval();
    std::vector<at::Tensor> inputs;
    for (int i = 2; i + 1 < argc; ++i) inputs.push_back(htp::exporter::read_npy(argv[i]));

    htp::exporter::ExportOptions options;
    options.out = argv[argc - 1];
    options.name = argv[1];
    nlohmann::json coverage = htp::exporter::export_module(module, inputs, options);
    std::cout << coverage.dump(2) << "\n";
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "htp_embed_example: error: " << htp::exporter::first_line(error.what()) << "\n";
    return 1;
  }
}
