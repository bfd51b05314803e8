#include "htp/zoo/zoo.h"

#include "families.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace htp::zoo {
namespace {

using Builder = ZooModel (*)();

// --list-models order.
const std::vector<std::pair<std::string, Builder>>& registry() {
  static const std::vector<std::pair<std::string, Builder>> models = {
      {"resnet18", build_resnet18},
      {"resnet50", build_resnet50},
      {"mobilenet_v2", build_mobilenet_v2},
      {"mobilenet_v3_small", build_mobilenet_v3_small},
      {"efficientnet_b0", build_efficientnet_b0},
  };
  return models;
}

std::string joined_names() {
  std::string joined;
  for (const auto& name : model_names()) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

InputSpec image_input(const ZooOptions& options) {
  InputSpec input{"input", {1, 3, 224, 224}, torch::kFloat32};
  if (options.input_shape.empty()) return input;
  const auto& shape = options.input_shape;
  const bool positive = std::all_of(shape.begin(), shape.end(), [](int64_t dim) { return dim > 0; });
  if (shape.size() != 4 || shape[1] != 3 || !positive) {
    throw std::invalid_argument("image models take an input shape N,3,H,W with positive sizes");
  }
  input.shape = shape;
  return input;
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> result;
    for (const auto& entry : registry()) result.push_back(entry.first);
    return result;
  }();
  return names;
}

ZooModel make_model(const std::string& name, const ZooOptions& options) {
  const auto& models = registry();
  const auto found =
      std::find_if(models.begin(), models.end(), [&](const auto& entry) { return entry.first == name; });
  if (found == models.end()) {
    throw std::invalid_argument("unknown model '" + name + "'; known models: " + joined_names());
  }
  // Validate the options before drawing weights, so a bad shape fails fast.
  auto input = image_input(options);
  auto model = found->second();
  model.inputs = {std::move(input)};
  return model;
}

}  // namespace htp::zoo
