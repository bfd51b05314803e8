// Zoo model names, without pulling in LibTorch headers.
#pragma once

#include <string>
#include <vector>

namespace htp::zoo {

// Names accepted by make_model, in --list-models order.
const std::vector<std::string>& model_names();

// "a, b, c", for messages that list the known names.
std::string joined(const std::vector<std::string>& names);

// The config.json model_type values make_hf_model (hf.h) builds.
const std::vector<std::string>& hf_model_types();

}  // namespace htp::zoo
