#include "hf_dir.h"

#include "weights.h"

#include "htp/exporter/errors.h"
#include "htp/onnxio/file_io.h"
#include "htp/zoo/hf.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/utils.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

namespace htp::exporter {
namespace {

namespace fs = std::filesystem;

// A shard named by the index: a plain file name in DIR, so that an index cannot point outside it.
fs::path shard_path(const fs::path& dir, const std::string& shard, const std::string& index) {
  const fs::path name(shard);
  if (shard.empty() || name.has_parent_path() || name.is_absolute() || shard == "." || shard == "..") {
    throw ExportError("'" + index + "' names a shard '" + shard + "' outside its directory");
  }
  const fs::path path = dir / name;
  if (!fs::is_regular_file(path)) throw ExportError("'" + index + "' lists the shard '" + shard + "', which is missing");
  return path;
}

// The index's weight_map {tensor: shard}, every shard read and every listed tensor found in its shard.
Checkpoint read_sharded(const fs::path& dir, const fs::path& index_path) {
  const std::string index = index_path.string();
  const nlohmann::json parsed = nlohmann::json::parse(onnxio::read_file(index), nullptr, false);
  if (!parsed.is_object() || !parsed.contains("weight_map") || !parsed.at("weight_map").is_object()) {
    throw ExportError("'" + index + "' has no weight_map object");
  }
  std::map<std::string, std::set<std::string>> listed;  // shard → its tensors
  for (const auto& [tensor, shard] : parsed.at("weight_map").items()) {
    if (!shard.is_string()) throw ExportError("'" + index + "' maps '" + tensor + "' to a shard that is not a file name");
    listed[shard.get<std::string>()].insert(tensor);
  }
  std::map<std::string, fs::path> paths;  // every shard present before any is read
  for (const auto& entry : listed) paths.emplace(entry.first, shard_path(dir, entry.first, index));
  Checkpoint checkpoint;
  for (const auto& [shard, tensors] : listed) {
    spdlog::info("reading shard {}", shard);
    for (auto& [name, tensor] : read_checkpoint(paths.at(shard).string())) {
      if (!checkpoint.emplace(name, tensor).second) throw ExportError("'" + index + "': tensor '" + name + "' is in two shards");
    }
    for (const auto& name : tensors) {
      if (!checkpoint.count(name)) throw ExportError("'" + index + "' lists '" + name + "' in '" + shard + "', which does not hold it");
    }
  }
  return checkpoint;
}

// Whether DIR holds `name`, a dangling link (an interrupted download) included: reading it then fails clearly.
bool holds(const fs::path& dir, const char* name) { return fs::exists(fs::symlink_status(dir / name)); }

// Weight files of formats htp-export does not read (TensorFlow, Flax, GGUF, ...).
std::vector<std::string> unreadable_weights(const fs::path& dir) {
  static const std::set<std::string> kExtensions = {".h5", ".msgpack", ".gguf", ".ckpt", ".onnx", ".pt", ".pth", ".bin"};
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (kExtensions.count(entry.path().extension().string())) found.push_back(entry.path().filename().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// DIR's weights and the file they came from, in transformers' order of preference, or an empty checkpoint
// when DIR has none in any format.
std::pair<Checkpoint, std::string> directory_weights(const fs::path& dir) {
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"}) {
    if (!holds(dir, name)) continue;
    const fs::path path = dir / name;
    const bool index = fs::path(name).extension() == ".json";
    return {index ? read_sharded(dir, path) : read_checkpoint(path.string()), path.string()};
  }
  if (const auto others = unreadable_weights(dir); !others.empty()) {
    throw ExportError("'" + dir.string() + "' holds weights htp-export does not read (" + join_names(others) +
                      "); it reads model.safetensors, its shards, and pytorch_model.bin");
  }
  return {};
}

std::string architecture(const std::string& config_text) {
  const nlohmann::json config = nlohmann::json::parse(config_text, nullptr, false);
  const nlohmann::json* list = config.is_object() && config.contains("architectures") ? &config.at("architectures") : nullptr;
  if (list && list->is_array() && !list->empty() && (*list)[0].is_string()) return (*list)[0].get<std::string>();
  return "PreTrainedModel";
}

// Names the model's tensors as the checkpoint does: a base model whose checkpoint keeps it under a task
// model's prefix is nested there; a checkpoint of a causal LM's base model alone gets the LM's prefix.
void match_checkpoint_names(zoo::ZooModel& model, Checkpoint& checkpoint, const std::string& source,
                            const std::string& config_text) {
  const std::string prefix = checkpoint_prefix(*model.module, checkpoint);
  if (!prefix.empty() && model.base_model_prefix.empty()) {
    model = zoo::nest_base_model(std::move(model), prefix.substr(0, prefix.size() - 1), architecture(config_text));
    std::vector<std::string> head;
    for (auto it = checkpoint.begin(); it != checkpoint.end();) {
      const bool in_base = it->first.compare(0, prefix.size(), prefix) == 0;
      if (!in_base) head.push_back(it->first);
      it = in_base ? std::next(it) : checkpoint.erase(it);
    }
    if (!head.empty()) {
      spdlog::warn("'{}': skipping {} entries outside '{}' (a task head; the base model is exported): {}", source,
                   head.size(), prefix, join_names(head));
    }
    return;
  }
  const std::string& base = model.base_model_prefix;
  const bool base_alone = !base.empty() && std::none_of(checkpoint.begin(), checkpoint.end(), [&](const auto& entry) {
    return entry.first.compare(0, base.size(), base) == 0;
  });
  if (!base_alone) return;
  Checkpoint renamed;
  for (auto& [name, tensor] : checkpoint) renamed.emplace(base + name, tensor);
  checkpoint = std::move(renamed);
}

}  // namespace

WeightedModel load_hf_model(const ExportOptions& options, bool streamable) {
  const fs::path dir(options.hf_dir);
  if (!fs::is_directory(dir)) throw ExportError("--hf-dir '" + options.hf_dir + "' is not a directory");
  const fs::path config_path = dir / "config.json";
  if (!fs::is_regular_file(config_path)) throw ExportError("'" + options.hf_dir + "' is not a Hugging Face model directory: no config.json");
  const std::string config_text = onnxio::read_file(config_path.string());
  auto [checkpoint, source] = directory_weights(dir);  // headers only: the values stay in the files
  zoo::ZooOptions zoo_options;
  zoo_options.batch = options.batch;
  zoo_options.seq_len = options.seq_len;
  zoo_options.draw_weights = false;  // place_weights draws them, unless they are streamed
  torch::manual_seed(options.seed);
  zoo::ZooModel model;
  try {
    model = zoo::make_hf_model(config_text, zoo_options);
  } catch (const std::invalid_argument& e) {
    throw ExportError("'" + config_path.string() + "': " + e.what());
  }
  if (source.empty()) {
    WeightedModel drawn = place_weights(std::move(model), nullptr, source, streamable);
    spdlog::warn("'{}' holds no weights (model.safetensors, an index of shards, pytorch_model.bin): drawing them from --seed {}",
                 options.hf_dir, options.seed);
    return drawn;
  }
  match_checkpoint_names(model, checkpoint, source, config_text);
  return place_weights(std::move(model), &checkpoint, source, streamable);
}

}  // namespace htp::exporter
