#include "htp/exporter/export.h"
#include "htp/exporter/module_export.h"

#include "convert/convert.h"
#include "htp/exporter/errors.h"
#include "htp/exporter/npy.h"
#include "htp/inheritance/inheritance_engine.h"
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/optimizer/optimize.h"
#include "htp/tagging/reports.h"
#include "htp/tagging/tagger.h"
#include "model_source.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

namespace htp::exporter {
using onnxio::write_file_atomically;
using onnxio::check_writable_location;
using onnxio::write_onnx_model;
namespace {

// The files an export has written; removed again unless the export completes, so a failed run
// leaves no output behind.
class WrittenFiles {
 public:
  WrittenFiles() = default;
  WrittenFiles(const WrittenFiles&) = delete;
  WrittenFiles& operator=(const WrittenFiles&) = delete;
  ~WrittenFiles() {
    if (committed_) return;
    for (const auto& path : paths_) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  }
  void add(const std::string& path) { paths_.push_back(path); }
  void commit() { committed_ = true; }

 private:
  std::vector<std::string> paths_;
  bool committed_ = false;
};

void save_io(const std::string& dir, const std::vector<at::Tensor>& inputs, const std::vector<at::Tensor>& outputs,
             WrittenFiles& written) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw ExportError("cannot create '" + dir + "': " + ec.message());
  auto write = [&](const std::string& path, const at::Tensor& tensor) {
    write_npy(path, tensor);
    written.add(path);
  };
  for (size_t i = 0; i < inputs.size(); ++i) write(dir + "/in_" + std::to_string(i) + ".npy", inputs[i]);
  for (size_t i = 0; i < outputs.size(); ++i) write(dir + "/ref_" + std::to_string(i) + ".npy", outputs[i]);
}

// Kilobytes of a /proc/self/status field (VmRSS, VmHWM); 0 where there is no procfs.
long status_kb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return 0;
}

class Stopwatch {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  // Logs (at -v) how far the export got: time, resident and peak memory.
  void stage(const char* done) const {
    spdlog::debug("{} at {:.3f} s, RSS {} MB, peak {} MB", done, seconds(), status_kb("VmRSS") / 1024, status_kb("VmHWM") / 1024);
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The pipeline up to the tagged model in memory: prepare, convert, inherit, tag.
struct TaggedModel {
  PreparedModel prepared;
  std::vector<at::Tensor> reference;  // LibTorch's outputs, when --save-io asks for them
  onnx::ModelProto onnx;
};

// LibTorch's warnings (deprecations, dtype notes from the model's own ops) would otherwise go to
// stderr through glog, breaking the one-line error contract; they are the model's, shown with -v.
class DebugLogWarnings : public c10::WarningHandler {
  void process(const c10::SourceLocation&, const std::string& message, bool) override {
    spdlog::debug("LibTorch warning: {}", message.substr(0, message.find('\n')));
  }
};

// LibTorch set up for the forward passes of an export, and put back as it was afterwards, so that a
// program embedding us (module_export.h) keeps its own thread count and warning handler.
class LibTorchSettings {
 public:
  LibTorchSettings() : threads_(at::get_num_threads()), handler_(c10::Warning::get_warning_handler()) {
    // Debian's LibTorch starts with one intra-op thread; the forward passes dominate export time.
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    static DebugLogWarnings warnings;
    c10::Warning::set_warning_handler(&warnings);
  }
  LibTorchSettings(const LibTorchSettings&) = delete;
  LibTorchSettings& operator=(const LibTorchSettings&) = delete;
  ~LibTorchSettings() {
    c10::Warning::set_warning_handler(handler_);
    at::set_num_threads(threads_);
  }

 private:
  int threads_;
  c10::WarningHandler* handler_;
};

// How an entry point gets its traced model: from the options' zoo name or archive, or from a
// module the caller holds.
using Preparer = std::function<PreparedModel()>;

Preparer from_options(const ExportOptions& options, WeightHolding holding) {
  const int sources = !options.model.empty() + !options.torchscript.empty() + !options.hf_dir.empty();
  if (sources != 1) throw ExportError("give one of --model NAME, --torchscript FILE or --hf-dir DIR");
  return [&options, holding] {
    if (!options.hf_dir.empty()) return prepare_hf_model(options, holding);
    return options.model.empty() ? prepare_torchscript_model(options, holding) : prepare_zoo_model(options, holding);
  };
}

// A written export streams the weights unless LibTorch must run them (--save-io) or the optimizer
// must read them (--optimize); an export kept in memory holds them.
WeightHolding written_holding(const ExportOptions& options) {
  return options.save_io_dir.empty() && !options.optimize ? WeightHolding::kStreamable : WeightHolding::kInModule;
}

// Logs how much of the streamed weights is in the file, at each further tenth, when there are a
// gigabyte or more: a 7B model takes minutes.
class StreamProgress {
 public:
  void expect(size_t bytes) { total_ += bytes; }
  void add(size_t bytes) {
    written_ += bytes;
    const size_t tenths = total_ ? written_ * 10 / total_ : 10;
    if (total_ < size_t{1000000000} || tenths <= reported_) return;
    reported_ = tenths;
    spdlog::info("streamed {:.1f} of {:.1f} GB of weights", written_ / 1e9, total_ / 1e9);
  }

 private:
  size_t total_ = 0;
  size_t written_ = 0;
  size_t reported_ = 0;
};

// The streamed weights the model declares, as the writer takes them: each read, made contiguous and
// written as raw bytes, one at a time.
onnxio::DeferredTensors deferred_tensors(const Checkpoint& streamed, const onnx::ModelProto& model) {
  onnxio::DeferredTensors deferred;
  auto progress = std::make_shared<StreamProgress>();
  for (const auto& initializer : model.graph().initializer()) {
    const auto it = streamed.find(initializer.name());
    if (it == streamed.end()) continue;
    const bool float16 = initializer.data_type() == onnx::TensorProto::FLOAT16 && it->second.dtype == at::kFloat;
    const size_t bytes = static_cast<size_t>(c10::multiply_integers(it->second.shape)) *
                         c10::elementSize(float16 ? at::kHalf : it->second.dtype);
    progress->expect(bytes);
    deferred.emplace(it->first, onnxio::DeferredTensor{bytes, [name = it->first, read = it->second.read, float16, progress](std::ostream& out) {
                       spdlog::debug("streaming {}", name);
                       const at::Tensor value = (float16 ? stored_as_float16(name, read()) : read()).contiguous();
                       out.write(static_cast<const char*>(value.data_ptr()), static_cast<std::streamsize>(value.nbytes()));
                       progress->add(value.nbytes());
                     }});
  }
  return deferred;
}

// A module given to the API brings its own inputs; options that choose a model or make inputs would be ignored.
Preparer from_module(const torch::jit::Module& module, const std::vector<at::Tensor>& inputs, const ExportOptions& options,
                     WeightHolding holding) {
  const bool chooses_model =
      !options.model.empty() || !options.torchscript.empty() || !options.hf_dir.empty() || !options.weights.empty();
  const bool makes_inputs = !options.input_files.empty() || !options.input_shapes.empty() || !options.input_dtypes.empty() ||
                            options.batch != 0 || options.seq_len != 0;
  if (chooses_model || makes_inputs) {
    throw ExportError("a module given to export_module brings its own inputs and weights: leave model, torchscript, hf_dir, weights, "
                      "input_files, input_shapes, input_dtypes, batch and seq_len unset");
  }
  return [&module, &inputs, &options, holding] {
    return prepare_module(module, inputs, options.name.empty() ? "module" : options.name, holding);
  };
}

// LibTorch's outputs computed with the float32 parameters rounded to float16, as --dtype float16 stores
// them; the module's own values are put back afterwards, since it may be the caller's (export_module).
std::vector<at::Tensor> reference_with_float16_weights(const PreparedModel& prepared) {
  std::vector<std::pair<at::Tensor, at::Tensor>> originals;  // the module's tensor, its values
  for (const auto& entry : prepared.traced.parameters) {
    const Parameter& parameter = entry.second;
    if (parameter.streamed || parameter.value.scalar_type() != at::kFloat) continue;
    originals.emplace_back(parameter.value, parameter.value.clone());
    parameter.value.copy_(stored_as_float16(parameter.name, parameter.value));
  }
  std::vector<at::Tensor> reference = prepared.run_reference();
  // In reverse: a tensor several graph values share was saved unrounded first, rounded after.
  for (auto it = originals.rbegin(); it != originals.rend(); ++it) it->first.copy_(it->second);
  return reference;
}

// Precondition: no_grad is on. Postcondition: the converted, inherited, tagged (and, with
// `optimize`, optimized) model, not yet checked.
TaggedModel build_tagged_model(const Preparer& prepare, const ExportOptions& options, const Stopwatch& clock) {
  if (options.float16_weights && options.optimize) {
    throw ExportError("--dtype float16 cannot be combined with --optimize: constant folding would turn the weights back into float32");
  }
  const LibTorchSettings settings;
  PreparedModel prepared = prepare();
  const TracedGraph& traced = prepared.traced;
  clock.stage("traced");

  spdlog::info("converting {} TorchScript nodes to ONNX opset {}", std::distance(traced.graph->nodes().begin(), traced.graph->nodes().end()),
               kOpsetVersion);
  std::vector<at::Tensor> reference;
  if (!options.save_io_dir.empty()) {  // before the conversion takes the weights
    reference = options.float16_weights ? reference_with_float16_weights(prepared) : prepared.run_reference();
  }
  const StoredFloats stored = options.float16_weights ? StoredFloats::kFloat16 : StoredFloats::kFloat32;
  onnx::ModelProto onnx_model = convert_to_onnx(traced, TracedWeights::kReleased, stored);
  clock.stage("converted");
  for (const std::string& warning : traced.warnings) spdlog::warn("{}", warning);
  inheritance::InheritanceStats placed = inheritance::InheritanceEngine().run(*onnx_model.mutable_graph(), traced.modules);
  spdlog::debug("inheritance: {} of {} root auxiliary nodes placed from dataflow", placed.inherited, placed.candidates);
  tagging::tag_model(onnx_model, traced.modules);
  clock.stage("tagged");
  if (options.optimize) {
    optimizer::OptimizeOptions settings;
    if (options.fold_limit) settings.fold_limit = *options.fold_limit;
    const optimizer::OptimizeReport optimized = optimizer::optimize(onnx_model, settings);
    spdlog::info("optimized: {} -> {} nodes in {:.2f} s", optimized.nodes_before, optimized.nodes_after, optimized.seconds);
    clock.stage("optimized");
  }
  return {std::move(prepared), std::move(reference), std::move(onnx_model)};
}

void write_json(const std::string& path, const nlohmann::json& content, WrittenFiles& written) {
  write_file_atomically(path, content.dump(2) + "\n");
  written.add(path);
}

nlohmann::json write_export(const Preparer& prepare, const ExportOptions& options) {
  check_writable_location(options.out);
  for (const auto* path : {&options.report_path, &options.sidecar_path}) {
    if (!path->empty()) check_writable_location(*path);
  }
  Stopwatch clock;
  at::NoGradGuard no_grad;
  TaggedModel tagged = build_tagged_model(prepare, options, clock);
  spdlog::info("writing {} nodes to {}", tagged.onnx.graph().node_size(), options.out);
  WrittenFiles written;
  auto external = options.external_data ? onnxio::ExternalData::kAlways : onnxio::ExternalData::kWhenTooLarge;
  const onnxio::DeferredTensors deferred = deferred_tensors(tagged.prepared.streamed_weights, tagged.onnx);
  for (const auto& file : write_onnx_model(tagged.onnx, options.out, external, deferred)) written.add(file);
  clock.stage("written");

  nlohmann::json report = tagging::coverage_report(tagged.onnx);
  report["model"] = tagged.prepared.name;
  report["file"] = options.out;
  if (!options.report_path.empty()) write_json(options.report_path, report, written);
  if (!options.sidecar_path.empty()) {
    nlohmann::json sidecar = tagging::sidecar_report(tagged.onnx);
    sidecar["coverage"] = report;  // with the model name and file, as --report writes it
    write_json(options.sidecar_path, sidecar, written);
  }
  if (!options.save_io_dir.empty()) save_io(options.save_io_dir, tagged.prepared.inputs, tagged.reference, written);
  written.commit();
  spdlog::info("exported in {:.2f} s", clock.seconds());
  return report;
}

ExportedModel export_checked(const Preparer& prepare, const ExportOptions& options) {
  Stopwatch clock;
  at::NoGradGuard no_grad;
  TaggedModel tagged = build_tagged_model(prepare, options, clock);
  onnxio::check_onnx_model(tagged.onnx);
  nlohmann::json report = tagging::coverage_report(tagged.onnx);
  report["model"] = tagged.prepared.name;
  return {std::move(tagged.onnx), std::move(report)};
}

}  // namespace

nlohmann::json export_model(const ExportOptions& options) {
  return write_export(from_options(options, written_holding(options)), options);
}

ExportedModel export_in_memory(const ExportOptions& options) {
  return export_checked(from_options(options, WeightHolding::kInModule), options);
}

nlohmann::json tag_statistics(const ExportOptions& options) {
  Stopwatch clock;
  nlohmann::json report = export_in_memory(options).coverage;
  report["seconds"] = clock.seconds();
  return report;
}

nlohmann::json export_module(const torch::jit::Module& module, const std::vector<at::Tensor>& inputs, const ExportOptions& options) {
  return write_export(from_module(module, inputs, options, written_holding(options)), options);
}

ExportedModel export_module_in_memory(const torch::jit::Module& module, const std::vector<at::Tensor>& inputs,
                                      const ExportOptions& options) {
  return export_checked(from_module(module, inputs, options, WeightHolding::kInModule), options);
}

}  // namespace htp::exporter
