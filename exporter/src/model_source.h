// Model sources: each turns the user's options into a traced graph and example inputs.
#pragma once

#include "traced_graph.h"
#include "weights.h"

#include "htp/exporter/export.h"

#include <torch/csrc/jit/api/module.h>

#include <functional>
#include <string>
#include <vector>

namespace htp::exporter {

struct PreparedModel {
  std::string name;  // zoo name or archive path, for reports
  TracedGraph traced;
  std::vector<at::Tensor> inputs;
  std::function<std::vector<at::Tensor>()> run_reference;  // LibTorch's own outputs on `inputs`
  // The values of the parameters marked Parameter::streamed, read as the file is written. With any
  // from a builder, the module holds no real weights and run_reference cannot run.
  Checkpoint streamed_weights;
};

// How an export may treat the weights of a model.
enum class WeightHolding {
  kInModule,    // loaded or drawn into the module, for a reference run or the optimizer
  // Streamed into the written file, read at write time: from their source where the builder can draw
  // any weight alone (Llama), else from the module, which holds them to the end anyway.
  kStreamable,
};

PreparedModel prepare_zoo_model(const ExportOptions& options, WeightHolding holding);
PreparedModel prepare_hf_model(const ExportOptions& options, WeightHolding holding);
PreparedModel prepare_torchscript_model(const ExportOptions& options, WeightHolding holding);
// A module the caller loaded or scripted, in eval mode; `inputs` are its forward arguments in order.
PreparedModel prepare_module(torch::jit::Module module, std::vector<at::Tensor> inputs, std::string name, WeightHolding holding);

}  // namespace htp::exporter
