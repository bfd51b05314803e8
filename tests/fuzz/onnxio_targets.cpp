// The fuzz targets that need no LibTorch: scripts/fuzz.sh builds them without the rest.
#include "fuzz_targets.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/file_io.h"
#include "htp/onnxio/onnx_file.h"

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <utility>

namespace htp::fuzz {

std::string scratch_file(std::string_view data, const std::string& name) {
  static const std::filesystem::path folder = [] {
    auto path = std::filesystem::temp_directory_path() / ("htp-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(path);
    return path;
  }();
  std::string path = (folder / name).string();
  onnxio::write_file_atomically(path, std::string(data));
  return path;
}


void deferred_weights_reader(std::string_view data) {
  const std::string path = scratch_file(data, "model.onnx");
  // The refusal, or the file written from what was read (beside the input: external data stays valid).
  const std::string out = onnxio::model_folder(path) + "/written.onnx";
  // Each outcome from a folder without the other's output: an input may point its external data at it.
  auto clear = [&out] {
    std::filesystem::remove(out);
    std::filesystem::remove(out + ".data");
  };
  auto outcome = [&](const std::function<std::pair<onnx::ModelProto, onnxio::DeferredTensors>()>& read) {
    clear();
    try {
      auto [model, deferred] = read();
      onnxio::write_onnx_model(model, out, onnxio::ExternalData::kWhenTooLarge, deferred);
      return "wrote " + onnxio::read_file(out);
    } catch (const Error& e) {
      return std::string("refused: ") + e.what();
    }
  };
  const std::string held = outcome([&] { return std::pair{onnxio::read_onnx_model(path), onnxio::DeferredTensors{}}; });
  const std::string deferred = outcome([&] {
    // Any tensor of more than a few bytes, so that small inputs exercise the splicing too.
    auto read = onnxio::read_onnx_model_deferring_weights(path, /*min_bytes=*/8);
    return std::pair{std::move(read.model), std::move(read.weights)};
  });
  clear();
  if (held != deferred) {
    throw std::logic_error("deferred weights: " + deferred.substr(0, 200) + "\nheld: " + held.substr(0, 200));
  }
}

}  // namespace htp::fuzz
