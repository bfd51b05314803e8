// The inputs htp-export reads from users, fed one at a time as the CLI would read them. A malformed
// input must end in htp::Error (the CLI's one-line refusal); any other exception, a crash, a hang or
// a sanitizer report is a finding. Shared by the libFuzzer entry points (tests/fuzz/fuzz_main.cpp,
// built by scripts/fuzz.sh) and the unit test that replays every finding kept in fixtures/fuzz/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace htp::fuzz {

// read_onnx_model, then what `tag` and `optimize` do: scopes from node names, inheritance, tags,
// optimization, serialization in memory.
void onnx_pipeline(std::string_view data);
// read_onnx_model_deferring_weights (tag, extract, partition) against read_onnx_model: the same
// refusal, or the same file written from what each read. A difference throws std::logic_error.
void deferred_weights_reader(std::string_view data);
// read_state_dict: safetensors or a torch.save archive.
void state_dict_reader(std::string_view data);
// read_npy, as --input and --save-io read example inputs.
void npy_reader(std::string_view data);
// parse_module_classes, as `tag --modules` reads its JSON.
void modules_json_reader(std::string_view data);

// Writes `data` to `name` in a folder of this process's own and returns its path: the readers take
// paths, and resolve external data against the model's folder.
std::string scratch_file(std::string_view data, const std::string& name);

struct Target {
  const char* name;
  void (*run)(std::string_view);
};
const std::vector<Target>& targets();

}  // namespace htp::fuzz
