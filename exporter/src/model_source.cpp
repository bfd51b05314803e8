#include "model_source.h"

#include "hf_dir.h"
#include "memory.h"
#include "htp/exporter/errors.h"
#include "htp/exporter/npy.h"
#include "htp/onnxio/tensor_data.h"
#include "torchscript_source.h"
#include "trace_zoo.h"
#include "weights.h"
#include "zoo_weights.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/utils.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

namespace htp::exporter {
namespace {

at::ScalarType parse_dtype(const std::string& name) {
  static const std::map<std::string, at::ScalarType> kDtypes = {
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"int64", at::kLong},
      {"int32", at::kInt},     {"int16", at::kShort},    {"int8", at::kChar},    {"uint8", at::kByte},
      {"bool", at::kBool}};
  auto it = kDtypes.find(name);
  if (it == kDtypes.end()) throw ExportError("unknown --input-dtype '" + name + "' (float32, float64, float16, int64, int32, int16, int8, uint8, bool)");
  return it->second;
}

// Refuses a requested example input that cannot fit in memory, before LibTorch tries to allocate it.
void check_input_fits(const std::vector<int64_t>& shape, const std::string& dtype_name) {
  const at::ScalarType dtype = parse_dtype(dtype_name);
  std::string text;
  for (int64_t dim : shape) text += (text.empty() ? "" : ",") + std::to_string(dim);
  const std::optional<int64_t> elements = onnxio::checked_product(shape);
  const std::optional<int64_t> bytes = elements ? onnxio::checked_mul(*elements, c10::elementSize(dtype)) : std::nullopt;
  if (!bytes) throw ExportError("--input-shape " + text + " has more bytes than a 64-bit size can count");
  const std::optional<int64_t> available = available_memory();
  if (available && *bytes > *available) {
    throw ExportError("--input-shape " + text + " asks for " + std::to_string(*bytes) + " bytes (" + gib(*bytes) + ") of " +
                      dtype_name + ", more than the " + gib(*available) + " of memory available");
  }
}

// Deterministic example values: normal floats, small non-negative integers (valid indices for
// most embeddings), random booleans.
at::Tensor random_input(const std::vector<int64_t>& shape, at::ScalarType dtype) {
  auto options = at::TensorOptions().dtype(dtype);
  if (at::isFloatingType(dtype)) return at::randn(shape, options);
  if (dtype == at::kBool) return at::randint(0, 2, shape, options);
  return at::randint(0, 10, shape, options);
}

std::vector<at::Tensor> torchscript_inputs(const ExportOptions& options) {
  std::vector<at::Tensor> inputs;
  for (const auto& file : options.input_files) inputs.push_back(read_npy(file));
  if (!inputs.empty() && !options.input_shapes.empty()) throw ExportError("give either --input files or --input-shape, not both");
  if (options.input_dtypes.size() > options.input_shapes.size()) throw ExportError("more --input-dtype than --input-shape options");
  torch::manual_seed(options.seed);
  for (size_t i = 0; i < options.input_shapes.size(); ++i) {
    const std::string dtype_name = i < options.input_dtypes.size() ? options.input_dtypes[i] : "float32";
    check_input_fits(options.input_shapes[i], dtype_name);
    const at::ScalarType dtype = parse_dtype(dtype_name);
    inputs.push_back(random_input(options.input_shapes[i], dtype));
  }
  return inputs;
}

// Draws the example inputs of a built model from `seed` and traces it.
PreparedModel prepare_built_model(std::string name, WeightedModel weighted, uint64_t seed) {
  const zoo::ZooModel& model = weighted.model;
  torch::manual_seed(seed);
  std::vector<at::Tensor> inputs;
  for (const auto& spec : model.inputs) inputs.push_back(spec.example ? spec.example(spec.shape) : random_input(spec.shape, spec.dtype));
  TracedGraph traced = trace_zoo_model(model, inputs);
  for (auto& entry : traced.parameters) entry.second.streamed = weighted.streamed.count(entry.second.name) > 0;
  if (!weighted.streamed.empty()) spdlog::info("the weights are streamed into the file, not held");
  auto reference = [model, inputs] { return model.forward(inputs); };
  return PreparedModel{std::move(name), std::move(traced), inputs, reference, std::move(weighted.streamed)};
}

// The module holds its weights until the export ends: the file takes each straight from there as
// it is written, instead of from a copy of all of them in the ONNX model. Weights a builder streams
// already keep their source.
void stream_from_module(PreparedModel& prepared) {
  for (auto& entry : prepared.traced.parameters) {
    Parameter& parameter = entry.second;
    if (parameter.streamed) continue;
    parameter.streamed = true;
    // An alias of the storage: the conversion empties the parameter's own tensor (TracedWeights::kReleased).
    auto read = [held = parameter.value.detach()] { return held; };
    prepared.streamed_weights.emplace(parameter.name, CheckpointTensor{parameter.value.scalar_type(), parameter.value.sizes().vec(), read});
  }
}

}  // namespace

PreparedModel prepare_zoo_model(const ExportOptions& options, WeightHolding holding) {
  if (!options.input_files.empty() || !options.input_dtypes.empty() || options.input_shapes.size() > 1) {
    throw ExportError("zoo models take at most one --input-shape (the image size) and no --input/--input-dtype");
  }
  if (!options.input_shapes.empty()) check_input_fits(options.input_shapes[0], "float32");  // an image, before the model is built
  torch::manual_seed(options.seed);
  zoo::ZooModel model;
  try {
    zoo::ZooOptions zoo_options;
    if (!options.input_shapes.empty()) zoo_options.input_shape = options.input_shapes[0];
    zoo_options.batch = options.batch;
    zoo_options.seq_len = options.seq_len;
    zoo_options.draw_weights = false;  // place_weights draws them, unless they are streamed
    model = zoo::make_model(options.model, zoo_options);
  } catch (const std::invalid_argument& e) {
    throw ExportError(e.what());
  }
  std::optional<Checkpoint> checkpoint;
  if (!options.weights.empty()) {
    spdlog::info("loading weights from {}", options.weights);
    checkpoint = read_checkpoint(options.weights);  // headers only: the values stay in the file
  }
  const bool streamable = holding == WeightHolding::kStreamable;
  WeightedModel weighted = place_weights(std::move(model), checkpoint ? &*checkpoint : nullptr, options.weights, streamable);
  PreparedModel prepared = prepare_built_model(options.model, std::move(weighted), options.seed);
  if (streamable) stream_from_module(prepared);
  return prepared;
}

PreparedModel prepare_hf_model(const ExportOptions& options, WeightHolding holding) {
  if (!options.weights.empty()) throw ExportError("--weights applies to zoo models; --hf-dir reads the directory's own");
  if (!options.input_files.empty() || !options.input_dtypes.empty() || !options.input_shapes.empty()) {
    throw ExportError("--hf-dir models take --batch and --seq-len, not --input, --input-shape or --input-dtype");
  }
  const bool streamable = holding == WeightHolding::kStreamable;
  PreparedModel prepared = prepare_built_model(options.hf_dir, load_hf_model(options, streamable), options.seed);
  if (streamable) stream_from_module(prepared);
  return prepared;
}

PreparedModel prepare_torchscript_model(const ExportOptions& options, WeightHolding holding) {
  if (!options.weights.empty()) throw ExportError("--weights applies to zoo models; an archive carries its own");
  if (options.batch != 0 || options.seq_len != 0) {
    throw ExportError("--batch and --seq-len apply to zoo models; give an archive its inputs with --input or --input-shape");
  }
  std::vector<at::Tensor> inputs = torchscript_inputs(options);
  return prepare_module(load_torchscript(options.torchscript), std::move(inputs), options.torchscript, holding);
}

PreparedModel prepare_module(torch::jit::Module module, std::vector<at::Tensor> inputs, std::string name, WeightHolding holding) {
  if (module.is_training()) throw ExportError("the module is in training mode; call its eval() before exporting it");
  TracedGraph traced = trace_torchscript(module, inputs);
  auto reference = [module, inputs]() mutable {
    return flatten_outputs(module.forward(std::vector<c10::IValue>(inputs.begin(), inputs.end())));
  };
  PreparedModel prepared{std::move(name), std::move(traced), std::move(inputs), reference};
  if (holding == WeightHolding::kStreamable) stream_from_module(prepared);
  return prepared;
}

}  // namespace htp::exporter
