// Exporting a TorchScript module the caller already holds (from torch::jit::load or
// torch::jit::script), the entry point for C++ programs that embed htp-export (examples/embed).
// Kept apart from export.h because it needs LibTorch's headers.
#pragma once

#include "htp/exporter/export.h"

#include <ATen/core/Tensor.h>
#include <torch/csrc/jit/api/module.h>

#include <vector>

namespace htp::exporter {

// `module` must be in eval mode; `inputs` are its forward arguments in order, the example the export
// traces and types with. Of `options`, the output settings apply (out, report_path, sidecar_path,
// save_io_dir, external_data, optimize, fold_limit, name); those that choose a model or make inputs
// (model, torchscript, weights, input_*, batch, seq_len) must be unset. Errors as for export_model.
nlohmann::json export_module(const torch::jit::Module& module, const std::vector<at::Tensor>& inputs,
                             const ExportOptions& options);

// The same, returned instead of written.
ExportedModel export_module_in_memory(const torch::jit::Module& module, const std::vector<at::Tensor>& inputs,
                                      const ExportOptions& options = {});

}  // namespace htp::exporter
