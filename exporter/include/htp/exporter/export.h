// The export pipeline behind `htp-export --model NAME --out FILE`.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace htp::exporter {

struct ExportOptions {
  std::string model;                 // zoo model name
  std::string out;                   // ONNX file to write
  std::string save_io_dir;           // when set: in_K.npy / ref_K.npy
  std::string report_path;           // when set: coverage report JSON
  std::string weights;               // when set: state dict to load (safetensors or torch.save dict)
  uint64_t seed = 0;                 // random weights and example inputs
  std::vector<int64_t> input_shape;  // image size override (N,C,H,W)
};

// Runs the whole pipeline; returns the coverage report read back from the written file.
// Throws ExportError (one line, with context) on bad input; never leaves a partial file.
nlohmann::json export_model(const ExportOptions& options);

}  // namespace htp::exporter
