#include "htp/zoo/zoo.h"

#include "families.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <utility>

namespace htp::zoo {
namespace {

using Builder = std::function<ZooModel(const ZooOptions&)>;

InputSpec image_input(const ZooOptions& options, int64_t default_side) {
  if (options.seq_len != 0) throw std::invalid_argument("--seq-len applies to sequence models only");
  InputSpec input{"input", {1, 3, default_side, default_side}, torch::kFloat32};
  if (!options.input_shape.empty()) {
    const auto& shape = options.input_shape;
    const bool positive = std::all_of(shape.begin(), shape.end(), [](int64_t dim) { return dim > 0; });
    if (shape.size() != 4 || shape[1] != 3 || !positive) {
      throw std::invalid_argument("image models take an input shape N,3,H,W with positive sizes");
    }
    input.shape = shape;
  }
  if (options.batch < 0) throw std::invalid_argument("--batch must be positive");
  if (options.batch > 0 && !options.input_shape.empty()) throw std::invalid_argument("give --batch or the N of --input-shape, not both");
  if (options.batch > 0) input.shape[0] = options.batch;
  return input;
}

// An image model: one input `input` of the chosen N,3,H,W, by default 1,3,default_side,default_side.
Builder image_model(ZooModel (*build)(), int64_t default_side = 224) {
  return [build, default_side](const ZooOptions& options) {
    InputSpec input = image_input(options, default_side);  // validated before drawing weights, so a bad shape fails fast
    ZooModel model = build();
    model.inputs = {std::move(input)};
    return model;
  };
}

template <EfficientNetVariant variant>
ZooModel efficientnet() {
  return build_efficientnet(variant);
}

Builder sequence_model(ZooModel (*build)(const ZooOptions&)) {
  return [build](const ZooOptions& options) {
    if (!options.input_shape.empty()) throw std::invalid_argument("sequence models take --batch and --seq-len, not --input-shape");
    return build(options);
  };
}

// --list-models order.
const std::vector<std::pair<std::string, Builder>>& registry() {
  static const std::vector<std::pair<std::string, Builder>> models = {
      {"resnet18", image_model(build_resnet18)},
      {"resnet50", image_model(build_resnet50)},
      {"mobilenet_v2", image_model(build_mobilenet_v2)},
      {"mobilenet_v3_small", image_model(build_mobilenet_v3_small)},
      {"efficientnet_b0", image_model(efficientnet<EfficientNetVariant::kB0>)},
      // Default sizes: the crop size of each variant's torchvision weights transforms.
      {"efficientnet_b1", image_model(efficientnet<EfficientNetVariant::kB1>, 240)},
      {"efficientnet_b2", image_model(efficientnet<EfficientNetVariant::kB2>, 288)},
      {"efficientnet_b3", image_model(efficientnet<EfficientNetVariant::kB3>, 300)},
      {"efficientnet_b4", image_model(efficientnet<EfficientNetVariant::kB4>, 380)},
      {"efficientnet_b5", image_model(efficientnet<EfficientNetVariant::kB5>, 456)},
      {"efficientnet_b6", image_model(efficientnet<EfficientNetVariant::kB6>, 528)},
      {"efficientnet_b7", image_model(efficientnet<EfficientNetVariant::kB7>, 600)},
      {"yolov8n", [](const ZooOptions& options) { return build_yolov8n(image_input(options, 640)); }},
      {"sam-vit-b", [](const ZooOptions& options) { return build_sam_vit_b(image_input(options, 1024)); }},
      {"bert-tiny", sequence_model(build_bert_tiny)},
      {"bert-base", sequence_model(build_bert_base)},
      {"distilbert", sequence_model(build_distilbert)},
      {"roberta", sequence_model(build_roberta)},
      {"vit-base", build_vit_base},  // vision transformers take --batch only and reject the other options
      {"deit-small", build_deit_small},
      {"gpt2", sequence_model(build_gpt2)},
      {"whisper-tiny", sequence_model(build_whisper_tiny)},  // --seq-len is the decoder length
      {"whisper-base", sequence_model(build_whisper_base)},
      {"tinyllama", sequence_model(build_tinyllama)},
  };
  return models;
}

}  // namespace

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

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
    throw std::invalid_argument("unknown model '" + name + "'; known models: " + joined(model_names()));
  }
  return found->second(options);
}

}  // namespace htp::zoo
