#include "weights.h"

#include "archive_bounds.h"
#include "archive_kind.h"

#include "htp/exporter/errors.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/import_read.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <cstring>
#include <optional>
#include <set>

namespace htp::exporter {
namespace {

at::ScalarType safetensors_dtype(const std::string& code, const std::string& path) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16}, {"I64", at::kLong},
      {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},  {"U8", at::kByte},       {"BOOL", at::kBool}};
  auto it = kTypes.find(code);
  if (it == kTypes.end()) throw ExportError("'" + path + "': unsupported safetensors dtype " + code);
  return it->second;
}

// A JSON array of integers, or nullopt: a float there (1e300) would not convert to int64 safely.
// Values above INT64_MAX become -1, which every caller rejects as negative.
std::optional<std::vector<int64_t>> integers(const nlohmann::json& array) {
  if (!array.is_array()) return std::nullopt;
  std::vector<int64_t> values;
  for (const auto& value : array) {
    if (!value.is_number_integer()) return std::nullopt;
    values.push_back(value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX) ? -1 : value.get<int64_t>());
  }
  return values;
}

// An open file that checkpoint tensors read from with pread, shared by every tensor of the file.
class SharedFile {
 public:
  explicit SharedFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    struct stat info {};
    if (fd_ < 0 || ::fstat(fd_, &info) != 0) throw Error("cannot read '" + path + "': " + std::strerror(errno));
    if (S_ISDIR(info.st_mode)) throw Error("cannot read '" + path + "': it is a folder, not a file");
    size_ = static_cast<uint64_t>(info.st_size);
  }
  SharedFile(const SharedFile&) = delete;
  SharedFile& operator=(const SharedFile&) = delete;
  ~SharedFile() { ::close(fd_); }

  uint64_t size() const { return size_; }

  // The whole file.
  std::string contents() const {
    std::string bytes(size_, '\0');
    if (!read(bytes.data(), size_, 0)) throw Error("cannot read '" + path_ + "': it ended while being read");
    return bytes;
  }

  // Exactly `n` bytes at `offset`, or false when the file ends first.
  bool read(void* into, uint64_t n, uint64_t offset) const {
    auto* cursor = static_cast<char*>(into);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, cursor, std::min<uint64_t>(n, uint64_t{1} << 30), static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw Error("cannot read '" + path_ + "': " + std::strerror(errno));
      if (got == 0) return false;
      cursor += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<uint64_t>(got);
    }
    return true;
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_ = 0;
};

// safetensors: u64 little-endian header size, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian data the offsets point into. The header is read and checked against the
// file's size; each tensor's data is read when the tensor is (bools at once, to check their bytes).
Checkpoint read_safetensors(const std::shared_ptr<SharedFile>& file, const std::string& path) {
  // By value: the tensors' readers keep it after this call returns.
  auto bad = [path](const std::string& why) { return ExportError("'" + path + "' is not a valid safetensors file: " + why); };
  unsigned char size_bytes[8] = {};
  if (!file->read(size_bytes, 8, 0)) throw bad("shorter than its header size");
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= uint64_t(size_bytes[i]) << (8 * i);
  // The format's own limit (safetensors' MAX_HEADER_SIZE): a larger header is a corrupt size field.
  constexpr uint64_t kMaxHeaderSize = 100'000'000;
  if (header_size > kMaxHeaderSize) {
    throw bad("a header of " + std::to_string(header_size) + " bytes, more than the format allows (100000000)");
  }
  if (header_size > file->size() - 8) throw bad("header size exceeds the file");
  std::string header_text(header_size, '\0');
  if (!file->read(header_text.data(), header_size, 8)) throw bad("header size exceeds the file");
  nlohmann::json header = nlohmann::json::parse(header_text, nullptr, false);
  if (!header.is_object()) throw bad("header is not a JSON object");
  const uint64_t data_start = 8 + header_size;
  Checkpoint result;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    try {
      for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!info.is_object() || !info.contains(key)) throw bad("tensor '" + name + "' has no '" + key + "'");
      }
      std::optional<std::vector<int64_t>> shape = integers(info.at("shape"));
      if (!shape) throw bad("tensor '" + name + "' has a shape that is not a list of integers");
      std::optional<std::vector<int64_t>> maybe_offsets = integers(info.at("data_offsets"));
      if (!maybe_offsets) throw bad("tensor '" + name + "' has data_offsets that are not a list of integers");
      const std::vector<int64_t>& offsets = *maybe_offsets;  // signed: negatives are rejected
      if (offsets.size() != 2 || offsets[0] < 0 || offsets[1] < offsets[0] ||
          uint64_t(offsets[1]) > file->size() - data_start) {
        throw bad("tensor '" + name + "' has inconsistent offsets");
      }
      const at::ScalarType dtype = safetensors_dtype(info.at("dtype").get<std::string>(), path);
      // The shape is checked against the data before anything is allocated.
      uint64_t length = uint64_t(offsets[1] - offsets[0]), numel = 1, nbytes = 0;
      for (int64_t dim : *shape) {
        if (dim < 0 || __builtin_mul_overflow(numel, uint64_t(dim), &numel)) throw bad("tensor '" + name + "' has a bad shape");
      }
      if (__builtin_mul_overflow(numel, c10::elementSize(dtype), &nbytes) || nbytes != length) {
        throw bad("tensor '" + name + "' has inconsistent offsets");
      }
      const uint64_t offset = data_start + uint64_t(offsets[0]);
      auto read = [file, offset, nbytes, shape = *shape, dtype, bad, name]() {
        at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(dtype));
        if (nbytes && !file->read(tensor.data_ptr(), nbytes, offset)) throw bad("tensor '" + name + "' ends past the file");
        return tensor;
      };
      if (dtype == at::kBool) {
        const at::Tensor flags = read();
        const auto* data = static_cast<const unsigned char*>(flags.data_ptr());
        if (std::any_of(data, data + nbytes, [](unsigned char b) { return b > 1; })) {
          throw bad("tensor '" + name + "' has a bool element that is neither 0 nor 1");
        }
        result.emplace(name, CheckpointTensor{dtype, *shape, [flags] { return flags; }});
      } else {
        result.emplace(name, CheckpointTensor{dtype, *shape, std::move(read)});
      }
    } catch (const nlohmann::json::exception& e) {
      throw bad("tensor '" + name + "': " + e.what());
    }
  }
  return result;
}

// The archive's bytes for LibTorch's zip reader, every read clamped to them. torch::pickle_load reads
// through LibTorch 1.13's VectorReader, which copies whatever range miniz asks for: a damaged central
// directory made it read 64 KiB past the buffer (fixtures/fuzz/state_dict_reader/). A short read here
// is an error miniz reports, which becomes the "damaged" message below.
class BoundedReader : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReader(const std::string& bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    const size_t available = std::min<uint64_t>(n, bytes_.size() - pos);
    std::memcpy(buf, bytes_.data() + pos, available);
    return available;
  }

 private:
  const std::string& bytes_;
};

// torch::pickle_load's own steps, on a BoundedReader.
c10::IValue pickle_load(const std::string& bytes) {
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BoundedReader>(bytes));
  return torch::jit::readArchiveAndTensors("data", /*pickle_prefix=*/"", /*tensor_prefix=*/"", c10::nullopt, c10::nullopt,
                                           c10::nullopt, reader);
}

Checkpoint read_torch_save(const std::string& bytes, const std::string& path) {
  if (auto problem = archive_bounds_problem(bytes)) {
    throw ExportError("'" + path + "' is not a torch.save archive of a plain dict: " + *problem);
  }
  c10::IValue value;
  try {
    value = pickle_load(bytes);
  } catch (const std::exception&) {
    // LibTorch's own message here is an internal assertion that would only mislead.
    const ArchiveKind kind = archive_kind(bytes);
    throw ExportError("'" + path + "' is not a torch.save archive of a plain dict: " +
                      (kind == ArchiveKind::kDamaged       ? "its zip structure is damaged"
                       : kind == ArchiveKind::kTorchScript ? "it is a TorchScript archive (give it to --torchscript)"
                                                           : "save it with torch.save(dict(model.state_dict()), f); "
                                                             "an OrderedDict cannot be read from C++"));
  }
  if (!value.isGenericDict()) throw ExportError("'" + path + "' holds a " + value.tagKind() + ", not a dict of tensors");
  Checkpoint result;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw ExportError("'" + path + "' holds a dict whose entries are not name → tensor");
    }
    const at::Tensor tensor = entry.value().toTensor();
    result.emplace(entry.key().toStringRef(), CheckpointTensor{tensor.scalar_type(), tensor.sizes().vec(), [tensor] { return tensor; }});
  }
  return result;
}

// `key` matches `pattern` where every '*' stands for one non-empty name component (no '.').
bool matches(const std::string& pattern, const std::string& key) {
  size_t p = 0, k = 0;
  while (p < pattern.size() && k < key.size()) {
    if (pattern[p] == '*') {
      const size_t end = key.find('.', k);
      const size_t component_end = end == std::string::npos ? key.size() : end;
      if (component_end == k) return false;
      k = component_end;
      ++p;
    } else if (pattern[p++] != key[k++]) {
      return false;
    }
  }
  return p == pattern.size() && k == key.size();
}

using Targets = std::map<std::string, at::Tensor>;

// The prefix the base model's entries carry in `state`: of "" and every leading "component." of its
// keys, the one under which most target names are found ("" on a tie), so that a checkpoint missing a
// tensor still reads under its prefix and the error names just that tensor.
std::string base_model_prefix(const Targets& targets, const Checkpoint& state) {
  std::set<std::string> candidates;
  for (const auto& entry : state) {
    const size_t dot = entry.first.find('.');
    if (dot != std::string::npos) candidates.insert(entry.first.substr(0, dot + 1));
  }
  auto found_under = [&](const std::string& prefix) {
    return std::count_if(targets.begin(), targets.end(), [&](const auto& entry) { return state.count(prefix + entry.first) > 0; });
  };
  std::string best;
  auto best_count = found_under(best);
  for (const auto& prefix : candidates) {
    if (const auto count = found_under(prefix); count > best_count) {
      best = prefix;
      best_count = count;
    }
  }
  return best;
}

// The entries of `state` that are the model's, named as the model names them: under the base prefix
// and not ignored. Logs what it leaves out.
Checkpoint model_entries(const Targets& targets, const Checkpoint& state, const std::vector<std::string>& ignored_keys,
                         const std::string& path) {
  const std::string prefix = base_model_prefix(targets, state);
  Checkpoint entries;
  std::vector<std::string> outside, ignored;
  for (const auto& [key, tensor] : state) {
    if (key.compare(0, prefix.size(), prefix) != 0) {
      outside.push_back(key);
      continue;
    }
    const std::string name = key.substr(prefix.size());
    const bool skip = std::any_of(ignored_keys.begin(), ignored_keys.end(), [&](const auto& p) { return matches(p, name); });
    if (skip) {
      ignored.push_back(key);
    } else {
      entries.emplace(name, tensor);
    }
  }
  if (!prefix.empty()) {
    spdlog::info("weights '{}': the model's tensors are under '{}'", path, prefix);
  }
  if (!outside.empty()) {
    spdlog::warn("weights '{}': ignoring {} entries outside '{}' (not part of this model): {}", path, outside.size(),
                 prefix, join_names(outside));
  }
  if (!ignored.empty()) {
    spdlog::info("weights '{}': ignoring {} buffers this model does not keep: {}", path, ignored.size(), join_names(ignored));
  }
  return entries;
}

// A checkpoint tensor of dtype `from` loads into a tensor of dtype `to` when both are floating point (F16 and
// BF16 widen to float32 exactly; F64 rounds as a Python load_state_dict would) or both are integers or bools.
bool converts_exactly_enough(at::ScalarType from, at::ScalarType to) {
  if (at::isComplexType(from) || at::isComplexType(to)) return from == to;
  return at::isFloatingType(from) == at::isFloatingType(to);
}


}  // namespace

std::string join_names(const std::vector<std::string>& names) {
  std::string result;
  for (size_t i = 0; i < names.size() && i < 5; ++i) result += (i ? ", " : "") + names[i];
  if (names.size() > 5) result += ", ... (" + std::to_string(names.size()) + " in all)";
  return result;
}

std::map<std::string, at::Tensor> module_targets(const torch::nn::Module& module) {
  Targets targets;
  for (const auto& item : module.named_parameters()) targets.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers()) targets.emplace(item.key(), item.value());
  return targets;
}

std::string checkpoint_prefix(const torch::nn::Module& module, const Checkpoint& state) {
  return base_model_prefix(module_targets(module), state);
}

Checkpoint read_checkpoint(const std::string& path) {
  auto file = std::make_shared<SharedFile>(path);
  char magic[9] = {};
  const bool long_enough = file->read(magic, sizeof magic, 0);
  if (magic[0] == 'P' && magic[1] == 'K') return read_torch_save(file->contents(), path);
  if (long_enough && magic[8] == '{') return read_safetensors(file, path);
  throw ExportError("'" + path + "' is neither a safetensors file nor a torch.save archive");
}

std::map<std::string, at::Tensor> read_state_dict(const std::string& path) {
  std::map<std::string, at::Tensor> state;
  for (const auto& [name, entry] : read_checkpoint(path)) state.emplace(name, entry.read());
  return state;
}

Checkpoint match_state_dict(const torch::nn::Module& module, const Checkpoint& checkpoint, const std::string& path,
                            const std::vector<std::string>& ignored_keys) {
  const Targets targets = module_targets(module);
  Checkpoint state = model_entries(targets, checkpoint, ignored_keys, path);
  std::vector<std::string> missing, unexpected, misshaped, mistyped;
  for (const auto& [name, target] : targets) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
    } else if (at::IntArrayRef(it->second.shape) != target.sizes()) {
      misshaped.push_back(name + " " + c10::str(at::IntArrayRef(it->second.shape)) + " vs " + c10::str(target.sizes()));
    } else if (!converts_exactly_enough(it->second.dtype, target.scalar_type())) {
      mistyped.push_back(name + " " + c10::toString(it->second.dtype) + " vs " + c10::toString(target.scalar_type()));
    }
  }
  for (const auto& entry : state) {
    if (!targets.count(entry.first)) unexpected.push_back(entry.first);
  }
  std::string problems;
  if (!missing.empty()) problems += "missing " + join_names(missing);
  if (!unexpected.empty()) problems += std::string(problems.empty() ? "" : "; ") + "unexpected " + join_names(unexpected);
  if (!misshaped.empty()) problems += std::string(problems.empty() ? "" : "; ") + "wrong shape " + join_names(misshaped);
  if (!mistyped.empty()) problems += std::string(problems.empty() ? "" : "; ") + "wrong dtype " + join_names(mistyped);
  if (!problems.empty()) throw ExportError("weights '" + path + "' do not match the model: " + problems);
  return state;
}

void load_state_dict(torch::nn::Module& module, const Checkpoint& checkpoint, const std::string& path,
                     const std::vector<std::string>& ignored_keys) {
  const Checkpoint state = match_state_dict(module, checkpoint, path, ignored_keys);
  Targets targets = module_targets(module);
  at::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(state.at(name).read());  // one checkpoint tensor in memory at a time
}

}  // namespace htp::exporter
