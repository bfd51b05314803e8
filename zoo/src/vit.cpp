// Hugging Face transformers' ViTModel (eager attention, eval mode, add_pooling_layer=True) in the published
// configurations of google/vit-base-patch16-224-in21k and facebook/deit-small-patch16-224 (a ViTModel
// checkpoint): the module tree, class names and state_dict keys of `transformers.ViTModel`, so their state
// dicts load by name.
#include "bert_blocks.h"
#include "dynamic_shape.h"
#include "families.h"
#include "init.h"
#include "leaf_modules.h"
#include "transformer_parts.h"
#include "vit.h"
#include "htp/zoo/scoped.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace htp::zoo {
namespace {

// google/vit-base-patch16-224-in21k and facebook/deit-small-patch16-224.
constexpr ViTConfig kViTBase = {12, 768, 12, 3072};
constexpr ViTConfig kDeiTSmall = {12, 384, 6, 1536};

// ViTConfig fields every configuration shares (see vit.h).
constexpr int64_t kImageSize = 224;
constexpr int64_t kPatchSize = 16;
constexpr int64_t kChannels = 3;
constexpr double kLayerNormEps = 1e-12;
constexpr double kDropout = 0.0;  // hidden_dropout_prob and attention_probs_dropout_prob
constexpr double kInitializerRange = 0.02;

constexpr int64_t kPatches = (kImageSize / kPatchSize) * (kImageSize / kPatchSize);

// Cuts the image into non-overlapping patches and projects each to `hidden`: [batch, patches, hidden].
class ViTPatchEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ViTPatchEmbeddingsImpl(int64_t hidden)
      : projection_(register_module(
            "projection",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(kChannels, hidden, kPatchSize).stride(kPatchSize)))) {}

  torch::Tensor forward(const torch::Tensor& pixel_values) {
    // Like Hugging Face (without interpolate_pos_encoding): the position table fits one image size only.
    const bool fits = pixel_values.dim() == 4 && pixel_values.size(1) == kChannels &&
                      pixel_values.size(2) == kImageSize && pixel_values.size(3) == kImageSize;
    if (!fits) throw std::invalid_argument("ViT takes pixel_values of shape [batch, 3, 224, 224]");
    return call(*this, projection_, pixel_values).flatten(2).transpose(1, 2);
  }

 private:
  torch::nn::Conv2d projection_;
};
TORCH_MODULE(ViTPatchEmbeddings);

class ViTEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ViTEmbeddingsImpl(int64_t hidden)
      : cls_token_(register_parameter("cls_token", torch::zeros({1, 1, hidden}))),
        patch_embeddings_(register_module("patch_embeddings", ViTPatchEmbeddings(hidden))),
        position_embeddings_(register_parameter("position_embeddings", torch::zeros({1, kPatches + 1, hidden}))),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))) {}

  torch::Tensor forward(const torch::Tensor& pixel_values) {
    const auto patches = call(*this, patch_embeddings_, pixel_values);
    // The traced batch, so that one export runs at any batch size.
    const auto cls_tokens = expand(cls_token_, {Size::of(pixel_values, 0), -1, -1});
    const auto embeddings = torch::cat({cls_tokens, patches}, 1) + position_embeddings_;
    return call(*this, dropout_, embeddings);
  }

 private:
  torch::Tensor cls_token_;
  ViTPatchEmbeddings patch_embeddings_;
  torch::Tensor position_embeddings_;
  torch::nn::Dropout dropout_;
};
TORCH_MODULE(ViTEmbeddings);

// ViTSelfOutput and ViTOutput: dropout(dense(x)). Being pre-norm, ViT adds the attention's residual in
// ViTLayer and the feed-forward's in ViTOutput; neither has a LayerNorm of its own.
class DenseDropout : public torch::nn::Module {
 protected:
  DenseDropout(int64_t in, int64_t out)
      : dense_(register_module("dense", Linear(in, out))),
        dropout_(register_module("dropout", torch::nn::Dropout(kDropout))) {}

  torch::Tensor project(const torch::Tensor& hidden_states) {
    return call(*this, dropout_, call(*this, dense_, hidden_states));
  }

 private:
  Linear dense_;
  torch::nn::Dropout dropout_;
};

class ViTSelfOutputImpl : public DenseDropout {
 public:
  explicit ViTSelfOutputImpl(int64_t hidden) : DenseDropout(hidden, hidden) {}
  torch::Tensor forward(const torch::Tensor& hidden_states) { return project(hidden_states); }
};
TORCH_MODULE(ViTSelfOutput);

class ViTOutputImpl : public DenseDropout {
 public:
  ViTOutputImpl(int64_t intermediate, int64_t hidden) : DenseDropout(intermediate, hidden) {}
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& input_tensor) {
    return project(hidden_states) + input_tensor;
  }
};
TORCH_MODULE(ViTOutput);

class ViTAttentionImpl : public torch::nn::Module {
 public:
  ViTAttentionImpl(int64_t hidden, int64_t heads)
      : attention_(register_module("attention", SelfAttention("ViT", hidden, heads, kDropout))),
        output_(register_module("output", ViTSelfOutput(hidden))) {}

  // No attention mask: every patch attends to every patch.
  torch::Tensor forward(const torch::Tensor& hidden_states) {
    return call(*this, output_, call(*this, attention_, hidden_states));
  }

 private:
  SelfAttention attention_;
  ViTSelfOutput output_;
};
TORCH_MODULE(ViTAttention);

class ViTLayerImpl : public torch::nn::Module {
 public:
  explicit ViTLayerImpl(const ViTConfig& config)
      : attention_(register_module("attention", ViTAttention(config.hidden, config.heads))),
        intermediate_(register_module("intermediate", Intermediate("ViT", config.hidden, config.intermediate))),
        output_(register_module("output", ViTOutput(config.intermediate, config.hidden))),
        layernorm_before_(register_module("layernorm_before", layer_norm(config.hidden, kLayerNormEps))),
        layernorm_after_(register_module("layernorm_after", layer_norm(config.hidden, kLayerNormEps))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states) {
    const auto attention_output = call(*this, attention_, call(*this, layernorm_before_, hidden_states));
    const auto attended = attention_output + hidden_states;
    const auto intermediate_output = call(*this, intermediate_, call(*this, layernorm_after_, attended));
    return call(*this, output_, intermediate_output, attended);
  }

 private:
  ViTAttention attention_;
  Intermediate intermediate_;
  ViTOutput output_;
  torch::nn::LayerNorm layernorm_before_;
  torch::nn::LayerNorm layernorm_after_;
};
TORCH_MODULE(ViTLayer);

class ViTEncoderImpl : public torch::nn::Module {
 public:
  explicit ViTEncoderImpl(const ViTConfig& config) : layer_(register_module("layer", torch::nn::ModuleList())) {
    for (int64_t i = 0; i < config.layers; ++i) layer_->push_back(ViTLayer(config));
  }

  torch::Tensor forward(torch::Tensor hidden_states) {
    // A ModuleList runs no forward of its own; its scope only prefixes the indexed layers' paths.
    TraceScope list_scope(child_name(*this, *layer_));
    for (size_t i = 0; i < layer_->size(); ++i) {
      auto vit_layer = layer_->ptr<ViTLayerImpl>(i);
      hidden_states = call(*layer_, vit_layer, hidden_states);
    }
    return hidden_states;
  }

 private:
  torch::nn::ModuleList layer_;
};
TORCH_MODULE(ViTEncoder);

struct ViTOutputs {
  torch::Tensor last_hidden_state;
  torch::Tensor pooler_output;
};

class ViTModelImpl : public torch::nn::Module {
 public:
  explicit ViTModelImpl(const ViTConfig& config)
      : embeddings_(register_module("embeddings", ViTEmbeddings(config.hidden))),
        encoder_(register_module("encoder", ViTEncoder(config))),
        layernorm_(register_module("layernorm", layer_norm(config.hidden, kLayerNormEps))) {
    if (config.add_pooling_layer) pooler_ = register_module("pooler", Pooler("ViT", config.hidden));
  }

  // pooler_output is undefined without a pooler.
  ViTOutputs forward(const torch::Tensor& pixel_values) {
    const auto embedding_output = call(*this, embeddings_, pixel_values);
    const auto sequence_output = call(*this, layernorm_, call(*this, encoder_, embedding_output));
    return {sequence_output, pooler_ ? call(*this, pooler_, sequence_output) : torch::Tensor()};
  }

 private:
  ViTEmbeddings embeddings_;
  ViTEncoder encoder_;
  torch::nn::LayerNorm layernorm_;
  Pooler pooler_{nullptr};
};
TORCH_MODULE(ViTModel);

// ViTPreTrainedModel._init_weights draws the Linear and Conv2d weights, cls_token and position_embeddings
// from trunc_normal_(std=initializer_range), whose default cut-off of ±2 is 100 standard deviations away: a
// plain normal draw. Biases and LayerNorms are drawn too, as for BERT (see init_transformer_weights).
void init_vit_weights(ViTModelImpl& root) {
  init_transformer_weights(root, kInitializerRange);
  torch::NoGradGuard no_grad;
  auto parameters = root.named_parameters();
  for (const char* name : {"embeddings.cls_token", "embeddings.position_embeddings",
                           "embeddings.patch_embeddings.projection.weight",
                           "embeddings.patch_embeddings.projection.bias"}) {
    parameters[name].normal_(0.0, kInitializerRange);
  }
}

// [batch, 3, 224, 224] float pixels with a dynamic batch; --seq-len and --input-shape do not apply.
InputSpec pixel_values(const std::string& model_name, const ZooOptions& options) {
  if (options.seq_len != 0) {
    throw std::invalid_argument(model_name + " takes images: --seq-len applies to sequence models only");
  }
  if (!options.input_shape.empty()) {
    throw std::invalid_argument(model_name + " takes images of 3x224x224 only: choose the batch with --batch, not --input-shape");
  }
  if (options.batch < 0) {
    throw std::invalid_argument(model_name + ": the batch size must not be negative, got " + std::to_string(options.batch));
  }
  const int64_t batch = options.batch == 0 ? kDefaultBatch : options.batch;
  return {"pixel_values", {batch, kChannels, kImageSize, kImageSize}, torch::kFloat32, {"batch", "", "", ""}, nullptr};
}

}  // namespace

ZooModel vit_model(const std::string& model_name, const ViTConfig& config, const ZooOptions& options) {
  // Validate the options before drawing weights, so a bad size fails fast.
  auto input = pixel_values(model_name, options);
  auto root = ViTModel(config).ptr();
  init_vit_weights(*root);
  freeze(*root);
  ZooModel model;
  model.module = root;
  model.forward = [root](const std::vector<torch::Tensor>& args) {
    if (args.size() != 1) throw std::invalid_argument("ViT takes exactly one input, pixel_values");
    const auto outputs = root->forward(args[0]);
    if (!outputs.pooler_output.defined()) return std::vector<torch::Tensor>{outputs.last_hidden_state};
    return std::vector<torch::Tensor>{outputs.last_hidden_state, outputs.pooler_output};
  };
  model.inputs = {std::move(input)};
  model.output_names = {"last_hidden_state"};
  model.output_dim_names = {{"batch", "", ""}};
  if (config.add_pooling_layer) {
    model.output_names.push_back("pooler_output");
    model.output_dim_names.push_back({"batch", ""});
  } else {
    model.ignored_checkpoint_keys = {"pooler.dense.weight", "pooler.dense.bias"};  // a pooler the checkpoint may still hold
  }
  return model;
}

ZooModel build_vit_base(const ZooOptions& options) { return vit_model("vit-base", kViTBase, options); }

ZooModel build_deit_small(const ZooOptions& options) { return vit_model("deit-small", kDeiTSmall, options); }

}  // namespace htp::zoo
