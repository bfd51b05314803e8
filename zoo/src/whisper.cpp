// Hugging Face transformers' WhisperModel (eval mode, no key/value cache) in the published openai/whisper-tiny
// and openai/whisper-base configurations: the module tree, class names and state_dict keys of `transformers.WhisperModel`, so that
// checkpoint's state dict loads by name. Encoder and decoder run in one forward, as WhisperModel's does.
//
// Attention is the eager computation of WhisperAttention, the class every attention implementation of
// transformers >= 4.48 instantiates (earlier releases defaulted to its WhisperSdpaAttention subclass: same
// parameters, same result).
#include "whisper.h"

#include "dynamic_shape.h"
#include "families.h"
#include "init.h"
#include "leaf_modules.h"
#include "transformer_parts.h"
#include "htp/zoo/scoped.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace htp::zoo {
namespace {

constexpr WhisperSize kWhisperTiny = {4, 4, 384, 6, 1536};  // openai/whisper-tiny (37.76M weights)
constexpr WhisperSize kWhisperBase = {6, 6, 512, 8, 2048};  // openai/whisper-base (72.59M weights)

// The rest of the WhisperConfig, the same for tiny and base.
constexpr int64_t kMelBins = 80;             // num_mel_bins
constexpr int64_t kSourcePositions = 1500;   // max_source_positions: encoder frames after conv2's stride 2
constexpr int64_t kFrames = 2 * kSourcePositions;  // WhisperEncoder rejects input_features of any other length
constexpr int64_t kTargetPositions = 448;    // max_target_positions
constexpr int64_t kVocabSize = 51865;
constexpr int64_t kPadTokenId = 50257;
constexpr double kLayerNormEps = 1e-5;  // nn.LayerNorm's default: Whisper sets no epsilon
constexpr double kInitStd = 0.02;       // init_std
// dropout, attention_dropout and activation_dropout are 0 and applied functionally (no modules): nothing in eval.

class WhisperAttentionImpl : public torch::nn::Module {
 public:
  WhisperAttentionImpl(int64_t embed_dim, int64_t heads)
      : heads_(heads),
        head_dim_(embed_dim / heads),
        scaling_(1.0 / std::sqrt(static_cast<double>(head_dim_))),
        k_proj_(register_module("k_proj", Linear(torch::nn::LinearOptions(embed_dim, embed_dim).bias(false)))),
        v_proj_(register_module("v_proj", Linear(embed_dim, embed_dim))),
        q_proj_(register_module("q_proj", Linear(embed_dim, embed_dim))),
        out_proj_(register_module("out_proj", Linear(embed_dim, embed_dim))) {}

  // Self-attention, or cross-attention to `key_value_states` (the encoder's output) when that is defined.
  // `attention_mask`, when defined, is added to the scores (the decoder's causal mask).
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& key_value_states,
                        const torch::Tensor& attention_mask) {
    const auto& source = key_value_states.defined() ? key_value_states : hidden_states;
    // The query is scaled before the product, as Hugging Face does.
    const auto query = split_heads(call(*this, q_proj_, hidden_states) * scaling_, heads_, head_dim_);
    const auto key = split_heads(call(*this, k_proj_, source), heads_, head_dim_);
    const auto value = split_heads(call(*this, v_proj_, source), heads_, head_dim_);
    auto weights = torch::matmul(query, key.transpose(-1, -2));
    if (attention_mask.defined()) weights = weights + attention_mask;
    weights = torch::softmax(weights, -1);
    return call(*this, out_proj_, merge_heads(torch::matmul(weights, value), heads_ * head_dim_));
  }

 private:
  int64_t heads_;
  int64_t head_dim_;
  double scaling_;
  Linear k_proj_;  // no bias, as in OpenAI's original
  Linear v_proj_;
  Linear q_proj_;
  Linear out_proj_;
};
TORCH_MODULE(WhisperAttention);

// The residual feed-forward block both layer kinds end with: x + fc2(act(fc1(final_layer_norm(x)))).
torch::Tensor feed_forward(const torch::nn::Module& layer, torch::nn::LayerNorm& final_layer_norm, Linear& fc1,
                           GELUActivation& activation_fn, Linear& fc2, const torch::Tensor& hidden_states) {
  const auto inner = call(layer, activation_fn, call(layer, fc1, call(layer, final_layer_norm, hidden_states)));
  return hidden_states + call(layer, fc2, inner);
}

// Pre-LayerNorm: x + self_attn(norm(x)), then the feed-forward block. Members in Hugging Face's order.
class WhisperEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit WhisperEncoderLayerImpl(const WhisperSize& size)
      : self_attn_(register_module("self_attn", WhisperAttention(size.d_model, size.attention_heads))),
        self_attn_layer_norm_(register_module("self_attn_layer_norm", layer_norm(size.d_model, kLayerNormEps))),
        activation_fn_(register_module("activation_fn", GELUActivation())),
        fc1_(register_module("fc1", Linear(size.d_model, size.ffn_dim))),
        fc2_(register_module("fc2", Linear(size.ffn_dim, size.d_model))),
        final_layer_norm_(register_module("final_layer_norm", layer_norm(size.d_model, kLayerNormEps))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states) {
    const auto normed = call(*this, self_attn_layer_norm_, hidden_states);
    const auto attended = hidden_states + call(*this, self_attn_, normed, torch::Tensor(), torch::Tensor());
    return feed_forward(*this, final_layer_norm_, fc1_, activation_fn_, fc2_, attended);
  }

 private:
  WhisperAttention self_attn_;
  torch::nn::LayerNorm self_attn_layer_norm_;
  GELUActivation activation_fn_;
  Linear fc1_;
  Linear fc2_;
  torch::nn::LayerNorm final_layer_norm_;
};
TORCH_MODULE(WhisperEncoderLayer);

// Causal self-attention, cross-attention to the encoder's output, then the feed-forward block; each pre-norm
// with its residual. Members in Hugging Face's order (activation_fn before the first LayerNorm).
class WhisperDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit WhisperDecoderLayerImpl(const WhisperSize& size)
      : self_attn_(register_module("self_attn", WhisperAttention(size.d_model, size.attention_heads))),
        activation_fn_(register_module("activation_fn", GELUActivation())),
        self_attn_layer_norm_(register_module("self_attn_layer_norm", layer_norm(size.d_model, kLayerNormEps))),
        encoder_attn_(register_module("encoder_attn", WhisperAttention(size.d_model, size.attention_heads))),
        encoder_attn_layer_norm_(
            register_module("encoder_attn_layer_norm", layer_norm(size.d_model, kLayerNormEps))),
        fc1_(register_module("fc1", Linear(size.d_model, size.ffn_dim))),
        fc2_(register_module("fc2", Linear(size.ffn_dim, size.d_model))),
        final_layer_norm_(register_module("final_layer_norm", layer_norm(size.d_model, kLayerNormEps))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& encoder_hidden_states,
                        const torch::Tensor& causal_attention_mask) {
    const auto self_normed = call(*this, self_attn_layer_norm_, hidden_states);
    const auto attended =
        hidden_states + call(*this, self_attn_, self_normed, torch::Tensor(), causal_attention_mask);
    const auto cross_normed = call(*this, encoder_attn_layer_norm_, attended);
    const auto crossed =
        attended + call(*this, encoder_attn_, cross_normed, encoder_hidden_states, torch::Tensor());
    return feed_forward(*this, final_layer_norm_, fc1_, activation_fn_, fc2_, crossed);
  }

 private:
  WhisperAttention self_attn_;
  GELUActivation activation_fn_;
  torch::nn::LayerNorm self_attn_layer_norm_;
  WhisperAttention encoder_attn_;
  torch::nn::LayerNorm encoder_attn_layer_norm_;
  Linear fc1_;
  Linear fc2_;
  torch::nn::LayerNorm final_layer_norm_;
};
TORCH_MODULE(WhisperDecoderLayer);

class WhisperEncoderImpl : public torch::nn::Module {
 public:
  explicit WhisperEncoderImpl(const WhisperSize& size)
      : conv1_(register_module("conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(kMelBins, size.d_model, 3).padding(1)))),
        conv2_(register_module(
            "conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(size.d_model, size.d_model, 3).stride(2).padding(1)))),
        embed_positions_(register_module("embed_positions", embedding(kSourcePositions, size.d_model))),
        layers_(register_module("layers", torch::nn::ModuleList())),
        layer_norm_(register_module("layer_norm", layer_norm(size.d_model, kLayerNormEps))) {
    for (int64_t i = 0; i < size.encoder_layers; ++i) layers_->push_back(WhisperEncoderLayer(size));
  }

  torch::Tensor forward(const torch::Tensor& input_features) {
    const bool fits = input_features.dim() == 3 && input_features.size(1) == kMelBins && input_features.size(2) == kFrames;
    if (!fits) {
      throw std::invalid_argument("Whisper takes input_features of shape [batch, " + std::to_string(kMelBins) + ", " +
                                  std::to_string(kFrames) + "] (mel bins, frames)");
    }
    // The convolutions' GELUs are functional calls in WhisperEncoder.forward, not modules.
    const auto features = torch::gelu(call(*this, conv1_, input_features));
    const auto inputs_embeds = torch::gelu(call(*this, conv2_, features)).permute({0, 2, 1});
    // The whole position table is added, read as a tensor (embed_positions' forward never runs): the frame count is
    // fixed, so there is nothing to slice.
    auto hidden_states = inputs_embeds + embed_positions_->weight;
    hidden_states = run_layers<WhisperEncoderLayerImpl>(*this, layers_, hidden_states);
    return call(*this, layer_norm_, hidden_states);
  }

 private:
  torch::nn::Conv1d conv1_;
  torch::nn::Conv1d conv2_;
  torch::nn::Embedding embed_positions_;
  torch::nn::ModuleList layers_;
  torch::nn::LayerNorm layer_norm_;
};
TORCH_MODULE(WhisperEncoder);

// An nn.Embedding whose forward returns the table's first rows, one per decoder position (no key/value cache, so
// no offset): the slice ends at the runtime length.
class WhisperPositionalEmbeddingImpl : public torch::nn::EmbeddingImpl {
 public:
  WhisperPositionalEmbeddingImpl(int64_t positions, int64_t width)
      : torch::nn::EmbeddingImpl(torch::nn::EmbeddingOptions(positions, width)) {}

  torch::Tensor forward(const torch::Tensor& input_ids) { return slice(weight, 0, 0, Size::of(input_ids, 1)); }
};
TORCH_MODULE(WhisperPositionalEmbedding);

class WhisperDecoderImpl : public torch::nn::Module {
 public:
  explicit WhisperDecoderImpl(const WhisperSize& size)
      : embed_tokens_(register_module(
            "embed_tokens", torch::nn::Embedding(torch::nn::EmbeddingOptions(kVocabSize, size.d_model).padding_idx(kPadTokenId)))),
        embed_positions_(register_module("embed_positions", WhisperPositionalEmbedding(kTargetPositions, size.d_model))),
        layers_(register_module("layers", torch::nn::ModuleList())),
        layer_norm_(register_module("layer_norm", layer_norm(size.d_model, kLayerNormEps))) {
    for (int64_t i = 0; i < size.decoder_layers; ++i) layers_->push_back(WhisperDecoderLayer(size));
  }

  // Hugging Face first views input_ids to [-1, length], an identity for the 2-d ids taken here; scale_embedding is
  // false, so the token embeddings are not scaled.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& encoder_hidden_states) {
    const auto inputs_embeds = call(*this, embed_tokens_, input_ids);
    const auto mask = causal_attention_mask(Size::of(input_ids, -1), inputs_embeds.options());
    auto hidden_states = inputs_embeds + call(*this, embed_positions_, input_ids);
    hidden_states = run_layers<WhisperDecoderLayerImpl>(*this, layers_, hidden_states, encoder_hidden_states, mask);
    return call(*this, layer_norm_, hidden_states);
  }

 private:
  // _prepare_4d_causal_attention_mask without a decoder_attention_mask: 0 where the key position is at or before
  // the query position, the lowest float after it. Hugging Face expands it to [batch, 1, length, length]; the
  // [length, length] mask broadcasts to the same scores.
  static torch::Tensor causal_attention_mask(const Size& length, const torch::TensorOptions& options) {
    return torch::where(causal_mask(length), torch::zeros({}, options), torch::full({}, kMaskValue, options));
  }

  torch::nn::Embedding embed_tokens_;
  WhisperPositionalEmbedding embed_positions_;
  torch::nn::ModuleList layers_;
  torch::nn::LayerNorm layer_norm_;
};
TORCH_MODULE(WhisperDecoder);

// The outputs of WhisperModel.forward that are not None without caches, attentions or hidden-state lists.
struct WhisperOutputs {
  torch::Tensor last_hidden_state;
  torch::Tensor encoder_last_hidden_state;
};

class WhisperModelImpl : public torch::nn::Module {
 public:
  explicit WhisperModelImpl(const WhisperSize& size)
      : encoder_(register_module("encoder", WhisperEncoder(size))),
        decoder_(register_module("decoder", WhisperDecoder(size))) {}

  // SpecAugment masking of input_features happens in training only.
  WhisperOutputs forward(const torch::Tensor& input_features, const torch::Tensor& decoder_input_ids) {
    const auto encoder_output = call(*this, encoder_, input_features);
    return {call(*this, decoder_, decoder_input_ids, encoder_output), encoder_output};
  }

 private:
  WhisperEncoder encoder_;
  WhisperDecoder decoder_;
};
TORCH_MODULE(WhisperModel);

// Hugging Face's `sinusoids(length, channels)`: sines then cosines of position · 10000^(-i / (channels/2 - 1)).
torch::Tensor sinusoids(int64_t length, int64_t channels) {
  const int64_t half = channels / 2;
  const double increment = std::log(10000.0) / static_cast<double>(half - 1);
  const auto inv_timescales = torch::exp(-increment * torch::arange(half, torch::kFloat32));
  const auto scaled_time = torch::arange(length, torch::kFloat32).unsqueeze(1) * inv_timescales.unsqueeze(0);
  return torch::cat({scaled_time.sin(), scaled_time.cos()}, 1);
}

// WhisperPreTrainedModel._init_weights: N(0, init_std) Linear, Conv1d and Embedding weights (biases and LayerNorms
// drawn too, as for the other transformers; see init_transformer_weights), and the encoder's position table set
// to sinusoids.
void init_whisper_weights(WhisperModelImpl& root) {
  init_transformer_weights(root, kInitStd);
  torch::NoGradGuard no_grad;
  for (const auto& module : root.modules()) {
    if (auto* conv = module->as<torch::nn::Conv1d>()) {
      conv->weight.normal_(0.0, kInitStd);
      conv->bias.normal_(0.0, kInitStd);
    }
  }
  auto positions = root.named_parameters()["encoder.embed_positions.weight"];
  positions.copy_(sinusoids(positions.size(0), positions.size(1)));
}

}  // namespace

ZooModel build_whisper(const WhisperSize& size, const ZooOptions& options, const std::string& name) {
  // Validate the options before drawing weights, so a bad size fails fast.
  const auto shape = sequence_shape(name, options, kDefaultBatch, kDefaultSequence, kTargetPositions);
  if (size.attention_heads <= 0 || size.d_model % size.attention_heads != 0 || size.d_model % 2 != 0) {
    throw std::invalid_argument("Whisper needs an even d_model divisible by the attention heads");
  }
  auto root = WhisperModel(size).ptr();
  init_whisper_weights(*root);
  freeze(*root);
  ZooModel model;
  model.module = root;
  model.forward = [root](const std::vector<torch::Tensor>& args) {
    if (args.size() != 2) throw std::invalid_argument("Whisper takes input_features and decoder_input_ids");
    const auto outputs = root->forward(args[0], args[1]);
    return std::vector<torch::Tensor>{outputs.last_hidden_state, outputs.encoder_last_hidden_state};
  };
  // Standard normal features stand in for log-mel spectrograms; the frame axis stays fixed.
  model.inputs = {{"input_features", {shape[0], kMelBins, kFrames}, torch::kFloat32, {"batch", "", ""}, nullptr},
                  sequence_input("decoder_input_ids", shape, random_token_ids(kVocabSize))};
  // Seq2SeqModelOutput's order: the decoder's last hidden state first.
  model.output_names = {"last_hidden_state", "encoder_last_hidden_state"};
  model.output_dim_names = {{"batch", "sequence", ""}, {"batch", "", ""}};
  return model;
}

ZooModel build_whisper_tiny(const ZooOptions& options) { return build_whisper(kWhisperTiny, options, "whisper-tiny"); }
ZooModel build_whisper_base(const ZooOptions& options) { return build_whisper(kWhisperBase, options, "whisper-base"); }

}  // namespace htp::zoo
