// The export pipeline behind `htp-export --model NAME --out FILE`, and the C++ API of the installed
// package (find_package(htp_export), target htp::export; module_export.h for a module you hold).
#pragma once

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace htp::exporter {

struct ExportOptions {
  std::string model;        // zoo model name, or
  std::string torchscript;  // a TorchScript archive, or
  std::string hf_dir;       // a Hugging Face model directory (config.json and its weights)
  std::string name;         // for reports, with export_module: what the module is called ("module" when empty)
  std::string out;          // ONNX file to write
  std::string save_io_dir;  // when set: in_K.npy / ref_K.npy
  std::string report_path;  // when set: coverage report JSON
  std::string sidecar_path;  // when set: coverage, module tree and node → tag map JSON
  std::string weights;      // when set: state dict to load (safetensors or torch.save dict)
  uint64_t seed = 0;        // random weights and example inputs
  int64_t batch = 0;        // sequence models: example batch size and length (0: the model's default)
  int64_t seq_len = 0;
  bool external_data = false;  // weights to OUT.data even when the model fits in one protobuf
  bool optimize = false;       // run the tag-preserving optimizer before writing
  // Store float32 parameters as float16 initializers, each read through a Cast to float32 (--dtype float16).
  bool float16_weights = false;
  std::optional<int64_t> fold_limit;  // with optimize: the largest tensor folding materializes (unset: the optimizer's default)
  // Example inputs in forward order: .npy files, or random ones of these shapes and dtypes
  // ("float32" when not given). For a zoo model, one shape overrides its image size.
  std::vector<std::string> input_files;
  std::vector<std::vector<int64_t>> input_shapes;
  std::vector<std::string> input_dtypes;
};

// A checked, tagged model kept in memory, with its coverage report (as `--report` writes it, without
// "file").
struct ExportedModel {
  onnx::ModelProto model;
  nlohmann::json coverage;
};

// Runs the whole pipeline on a zoo model (`model`) or an archive (`torchscript`) and writes `out`;
// returns the coverage report read back from the written file. Throws ExportError (one line, with
// context) on bad input; never leaves a partial file.
nlohmann::json export_model(const ExportOptions& options);

// The same pipeline up to the checked, tagged model, returned instead of written (`out` and the
// other output paths are ignored).
ExportedModel export_in_memory(const ExportOptions& options);

// export_in_memory's coverage report, with "seconds".
nlohmann::json tag_statistics(const ExportOptions& options);

}  // namespace htp::exporter
