// Hugging Face transformers' LlamaModel (the layout of transformers >= 4.45: one rotary embedding at the model
// level; eager attention; eval mode): the module tree, class names and state_dict keys of
// `transformers.LlamaModel`, so a Llama checkpoint's state dict (without lm_head) loads by name.
#include "llama.h"

#include "dynamic_shape.h"
#include "families.h"
#include "init.h"
#include "transformer_parts.h"
#include "htp/zoo/scoped.h"

#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <memory>
#include <stdexcept>
#include <utility>

namespace htp::zoo {
namespace {

constexpr double kInitializerRange = 0.02;

void validate(const LlamaConfig& config) {
  const bool heads_fit = config.num_attention_heads > 0 && config.num_key_value_heads > 0 &&
                         config.hidden_size % config.num_attention_heads == 0 &&
                         config.num_attention_heads % config.num_key_value_heads == 0;
  if (!heads_fit) {
    throw std::invalid_argument("Llama needs hidden_size divisible by num_attention_heads, and those by num_key_value_heads");
  }
  if ((config.hidden_size / config.num_attention_heads) % 2 != 0) {
    throw std::invalid_argument("Llama's rotary embedding needs an even head dimension");
  }
}

// Python's nn.Linear(in, out, bias=False), with its weight allocated on the model's device and left for
// ZooModel::draw_weight to draw: torch::nn::Linear would first fill a CPU weight with kaiming-uniform values that
// are overwritten at once (seconds for 1.1B parameters), and could not list a model on the meta device.
class BiasFreeLinearImpl : public torch::nn::Module {
 public:
  BiasFreeLinearImpl(int64_t in_features, int64_t out_features, const torch::TensorOptions& options)
      : torch::nn::Module("Linear"),
        weight(register_parameter("weight", torch::empty({out_features, in_features}, options))) {}

  torch::Tensor forward(const torch::Tensor& x) { return torch::linear(x, weight); }

  torch::Tensor weight;
};
TORCH_MODULE(BiasFreeLinear);

// LlamaRMSNorm: weight · x / sqrt(mean(x², last dim) + eps). Hugging Face computes it in float32 and casts back
// to the input's dtype; both casts are no-ops for this float32 model, so they are left out.
class LlamaRMSNormImpl : public torch::nn::Module {
 public:
  LlamaRMSNormImpl(int64_t hidden_size, double eps, const torch::TensorOptions& options)
      : weight(register_parameter("weight", torch::empty({hidden_size}, options))), variance_epsilon_(eps) {}

  torch::Tensor forward(const torch::Tensor& hidden_states) {
    const auto variance = hidden_states.pow(2).mean(-1, /*keepdim=*/true);
    return weight * (hidden_states * torch::rsqrt(variance + variance_epsilon_));
  }

  torch::Tensor weight;

 private:
  double variance_epsilon_;
};
TORCH_MODULE(LlamaRMSNorm);

// LlamaRotaryEmbedding with the default rope (rope_scaling None, attention_scaling 1): the cos and sin of
// position · inv_freq, each frequency twice, [1, sequence, head_dim] for the position_ids [1, sequence].
class LlamaRotaryEmbeddingImpl : public torch::nn::Module {
 public:
  explicit LlamaRotaryEmbeddingImpl(const LlamaConfig& config)
      : inv_freq(default_inv_freq(config.hidden_size / config.num_attention_heads, config.rope_theta)) {}

  // Hugging Face also takes the hidden states, for their dtype and device only: float32 on the CPU here.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& position_ids) {
    const auto inv_freq_expanded = expand(inv_freq.unsqueeze(0).unsqueeze(-1), {Size::of(position_ids, 0), -1, 1});
    const auto position_ids_expanded = position_ids.unsqueeze(1).to(torch::kFloat32);
    const auto freqs = torch::matmul(inv_freq_expanded, position_ids_expanded).transpose(1, 2);
    const auto emb = torch::cat({freqs, freqs}, -1);
    return {emb.cos(), emb.sin()};
  }

  // 1 / theta^(2i / head_dim), computed in float32 as Hugging Face does. Not registered: Hugging Face's
  // buffer is non-persistent (not in the state dict), and the trace embeds the tensor as a constant.
  torch::Tensor inv_freq;

 private:
  static torch::Tensor default_inv_freq(int64_t head_dim, double theta) {
    const auto exponents = torch::arange(0, head_dim, 2, torch::kInt64).to(torch::kFloat32) / head_dim;
    return 1.0 / torch::pow(theta, exponents);
  }
};
TORCH_MODULE(LlamaRotaryEmbedding);

// rotate_half: (x1, x2) -> (-x2, x1) over the two halves of the last dim.
torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

// LlamaAttention with eager_attention_forward: rotary embeddings on queries and keys, then softmax(q·kᵀ·scaling +
// mask)·v, each key/value head shared by num_attention_heads / num_key_value_heads query heads.
class LlamaAttentionImpl : public torch::nn::Module {
 public:
  LlamaAttentionImpl(const LlamaConfig& config, const torch::TensorOptions& options)
      : head_dim_(config.hidden_size / config.num_attention_heads),
        num_key_value_heads_(config.num_key_value_heads),
        num_key_value_groups_(config.num_attention_heads / config.num_key_value_heads),
        scaling_(std::pow(static_cast<double>(head_dim_), -0.5)),
        q_proj_(register_module("q_proj", BiasFreeLinear(config.hidden_size, config.num_attention_heads * head_dim_, options))),
        k_proj_(register_module("k_proj", BiasFreeLinear(config.hidden_size, num_key_value_heads_ * head_dim_, options))),
        v_proj_(register_module("v_proj", BiasFreeLinear(config.hidden_size, num_key_value_heads_ * head_dim_, options))),
        o_proj_(register_module("o_proj", BiasFreeLinear(config.num_attention_heads * head_dim_, config.hidden_size, options))) {}

  // `attention_mask` is LlamaModel's additive [batch, 1, query, key] mask; cos and sin are its rotary embeddings.
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask, const torch::Tensor& cos,
                        const torch::Tensor& sin) {
    const Size batch = Size::of(hidden_states, 0);
    const Size length = Size::of(hidden_states, 1);
    const Shape hidden_shape = {batch, length, -1, head_dim_};
    auto query = view(call(*this, q_proj_, hidden_states), hidden_shape).transpose(1, 2);
    auto key = view(call(*this, k_proj_, hidden_states), hidden_shape).transpose(1, 2);
    const auto value = view(call(*this, v_proj_, hidden_states), hidden_shape).transpose(1, 2);

    // apply_rotary_pos_emb, unsqueeze_dim 1: one rotation per position, broadcast over the heads.
    const auto head_cos = cos.unsqueeze(1);
    const auto head_sin = sin.unsqueeze(1);
    query = query * head_cos + rotate_half(query) * head_sin;
    key = key * head_cos + rotate_half(key) * head_sin;

    auto weights = torch::matmul(query, repeat_kv(key).transpose(2, 3)) * scaling_;
    weights = weights + attention_mask;
    weights = torch::softmax(weights, -1, torch::kFloat32);
    const auto output = torch::matmul(weights, repeat_kv(value)).transpose(1, 2).contiguous();
    return call(*this, o_proj_, reshape(output, {batch, length, -1}));
  }

 private:
  // repeat_kv: [batch, kv_heads, sequence, head_dim] -> [batch, kv_heads · groups, sequence, head_dim], each
  // key/value head repeated for its group of query heads (expand, then merge the two head dims).
  torch::Tensor repeat_kv(const torch::Tensor& hidden_states) const {
    if (num_key_value_groups_ == 1) return hidden_states;
    const Size batch = Size::of(hidden_states, 0);
    const Size length = Size::of(hidden_states, 2);
    const auto expanded =
        expand(hidden_states.unsqueeze(2), {batch, num_key_value_heads_, num_key_value_groups_, length, head_dim_});
    return reshape(expanded, {batch, num_key_value_heads_ * num_key_value_groups_, length, head_dim_});
  }

  int64_t head_dim_;
  int64_t num_key_value_heads_;
  int64_t num_key_value_groups_;
  double scaling_;
  BiasFreeLinear q_proj_;
  BiasFreeLinear k_proj_;
  BiasFreeLinear v_proj_;
  BiasFreeLinear o_proj_;
};
TORCH_MODULE(LlamaAttention);

// LlamaMLP (SwiGLU): down_proj(silu(gate_proj(x)) · up_proj(x)).
class LlamaMLPImpl : public torch::nn::Module {
 public:
  LlamaMLPImpl(const LlamaConfig& config, const torch::TensorOptions& options)
      : gate_proj_(register_module("gate_proj", BiasFreeLinear(config.hidden_size, config.intermediate_size, options))),
        up_proj_(register_module("up_proj", BiasFreeLinear(config.hidden_size, config.intermediate_size, options))),
        down_proj_(register_module("down_proj", BiasFreeLinear(config.intermediate_size, config.hidden_size, options))),
        act_fn_(register_module("act_fn", SiLUActivation())) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const auto gated = call(*this, act_fn_, call(*this, gate_proj_, x)) * call(*this, up_proj_, x);
    return call(*this, down_proj_, gated);
  }

 private:
  BiasFreeLinear gate_proj_;
  BiasFreeLinear up_proj_;
  BiasFreeLinear down_proj_;
  SiLUActivation act_fn_;
};
TORCH_MODULE(LlamaMLP);

// Pre-norm residual block: x + self_attn(input_layernorm(x)), then + mlp(post_attention_layernorm(.)).
class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  LlamaDecoderLayerImpl(const LlamaConfig& config, const torch::TensorOptions& options)
      : self_attn_(register_module("self_attn", LlamaAttention(config, options))),
        mlp_(register_module("mlp", LlamaMLP(config, options))),
        input_layernorm_(register_module("input_layernorm", LlamaRMSNorm(config.hidden_size, config.rms_norm_eps, options))),
        post_attention_layernorm_(register_module("post_attention_layernorm",
                                                  LlamaRMSNorm(config.hidden_size, config.rms_norm_eps, options))) {}

  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& attention_mask, const torch::Tensor& cos,
                        const torch::Tensor& sin) {
    const auto normed = call(*this, input_layernorm_, hidden_states);
    const auto attended = hidden_states + call(*this, self_attn_, normed, attention_mask, cos, sin);
    return attended + call(*this, mlp_, call(*this, post_attention_layernorm_, attended));
  }

 private:
  LlamaAttention self_attn_;
  LlamaMLP mlp_;
  LlamaRMSNorm input_layernorm_;
  LlamaRMSNorm post_attention_layernorm_;
};
TORCH_MODULE(LlamaDecoderLayer);

class LlamaModelImpl : public torch::nn::Module {
 public:
  LlamaModelImpl(const LlamaConfig& config, const torch::TensorOptions& options)
      : embed_tokens_(register_module("embed_tokens", torch::nn::Embedding(embedding_options(config, options)))),
        layers_(register_module("layers", torch::nn::ModuleList())),
        norm_(register_module("norm", LlamaRMSNorm(config.hidden_size, config.rms_norm_eps, options))),
        rotary_emb_(register_module("rotary_emb", LlamaRotaryEmbedding(config))) {
    for (int64_t i = 0; i < config.num_hidden_layers; ++i) layers_->push_back(LlamaDecoderLayer(config, options));
  }

  // Without a cache, the positions are 0 .. length-1 (cache_position) for the rotary embeddings and the mask.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
    const auto inputs_embeds = call(*this, embed_tokens_, input_ids);
    const Size length = Size::of(inputs_embeds, 1);
    const auto position_ids = arange(length).unsqueeze(0);
    const auto mask = additive_causal_mask(attention_mask, length);
    const auto [cos, sin] = call(*this, rotary_emb_, position_ids);
    const auto hidden_states = run_layers<LlamaDecoderLayerImpl>(*this, layers_, inputs_embeds, mask, cos, sin);
    return call(*this, norm_, hidden_states);
  }

  const torch::Tensor& token_embeddings() const { return embed_tokens_->weight; }

 private:
  // The weight is allocated here (and drawn by ZooModel::draw_weight): given no table, torch::nn::Embedding would
  // allocate and draw one on the CPU itself. pad_token_id is None: no padding_idx.
  static torch::nn::EmbeddingOptions embedding_options(const LlamaConfig& config, const torch::TensorOptions& options) {
    return torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size)
        ._weight(torch::empty({config.vocab_size, config.hidden_size}, options));
  }

  // Hugging Face's create_causal_mask for eager attention: [batch, 1, query, key], 0 where the key is at or
  // before the query and not padding, the lowest float elsewhere; every layer adds it to its scores.
  static torch::Tensor additive_causal_mask(const torch::Tensor& attention_mask, const Size& length) {
    const auto padding = attention_mask.unsqueeze(1).unsqueeze(2).to(torch::kBool);
    const auto allowed = torch::logical_and(causal_mask(length), padding);
    return torch::where(allowed, torch::zeros({}, torch::kFloat32), torch::full({}, kMaskValue, torch::kFloat32));
  }

  torch::nn::Embedding embed_tokens_;
  torch::nn::ModuleList layers_;
  LlamaRMSNorm norm_;
  LlamaRotaryEmbedding rotary_emb_;
};
TORCH_MODULE(LlamaModel);

// LlamaForCausalLM without a cache: LlamaModel under `model`, then `lm_head` onto the vocabulary, its own
// bias-free Linear or, with tie_word_embeddings, the token embedding table.
class LlamaForCausalLMImpl : public torch::nn::Module {
 public:
  LlamaForCausalLMImpl(const LlamaConfig& config, bool tie_word_embeddings, const torch::TensorOptions& options)
      : model_(register_module("model", LlamaModel(config, options))),
        lm_head_(tie_word_embeddings
                     ? torch::nn::AnyModule(register_module("lm_head", TiedLinear(model_->token_embeddings())))
                     : torch::nn::AnyModule(register_module("lm_head", BiasFreeLinear(config.hidden_size, config.vocab_size, options)))) {}

  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
    const auto hidden_states = call(*this, model_, input_ids, attention_mask);
    TraceScope scope("lm_head");
    return lm_head_.forward<torch::Tensor>(hidden_states);
  }

 private:
  LlamaModel model_;
  torch::nn::AnyModule lm_head_;
};
TORCH_MODULE(LlamaForCausalLM);

// How LlamaPreTrainedModel._init_weights draws each parameter: N(0, initializer_range) for Linear and Embedding
// weights. It sets RMSNorm weights to 1; those are drawn from U(0.8, 1.2) here, so that a converter dropping or
// mixing up one of them changes the numerics.
using WeightDraw = std::function<void(torch::Tensor&, at::Generator&)>;

std::map<std::string, WeightDraw> llama_weight_draws(const torch::nn::Module& root) {
  const WeightDraw normal = [](torch::Tensor& weight, at::Generator& generator) { weight.normal_(0.0, kInitializerRange, generator); };
  const WeightDraw around_one = [](torch::Tensor& weight, at::Generator& generator) { weight.uniform_(0.8, 1.2, generator); };
  std::map<std::string, WeightDraw> draws;
  for (const auto& item : root.named_modules()) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    const auto& module = *item.value();
    if (module.as<BiasFreeLinearImpl>() || module.as<torch::nn::Embedding>()) draws.emplace(prefix + "weight", normal);
    if (module.as<LlamaRMSNormImpl>()) draws.emplace(prefix + "weight", around_one);
  }
  return draws;
}

// Each weight has a generator of its own, seeded from the torch seed current at build time and the weight's
// name (FNV-1a, then splitmix64's finaliser), so the streaming writer can draw any weight alone, in any order,
// with the values an in-memory draw gives it.
uint64_t weight_seed(uint64_t seed, const std::string& name) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) hash = (hash ^ c) * 0x100000001b3ULL;
  uint64_t mixed = seed ^ hash;
  mixed = (mixed ^ (mixed >> 30)) * 0xbf58476d1ce4e5b9ULL;
  mixed = (mixed ^ (mixed >> 27)) * 0x94d049bb133111ebULL;
  return mixed ^ (mixed >> 31);
}

// Sets `model.draw_weight` and, when the options ask for drawn weights, draws every parameter with it.
void set_llama_draws(ZooModel& model, const ZooOptions& options) {
  const uint64_t seed = at::detail::getDefaultCPUGenerator().current_seed();
  model.draw_weight = [draws = llama_weight_draws(*model.module), seed](const std::string& name, torch::Tensor& weight) {
    const auto it = draws.find(name);
    if (it == draws.end()) throw std::invalid_argument("Llama draws no weight named '" + name + "'");
    auto generator = at::detail::createCPUGenerator(weight_seed(seed, name));
    torch::NoGradGuard no_grad;
    it->second(weight, generator);
  };
  if (!options.draw_weights) return;
  for (auto& item : model.module->named_parameters()) model.draw_weight(item.key(), item.value());
}

std::shared_ptr<LlamaModelImpl> make_llama(const LlamaConfig& config, torch::Device device) {
  validate(config);
  return std::make_shared<LlamaModelImpl>(config, torch::TensorOptions().device(device));
}

// Rotary frequencies older checkpoints saved per layer (or once) under the base model's `prefix`; the model
// computes them.
std::vector<std::string> legacy_rotary_buffers(const std::string& prefix) {
  return {prefix + "layers.*.self_attn.rotary_emb.inv_freq", prefix + "rotary_emb.inv_freq"};
}

}  // namespace

std::shared_ptr<torch::nn::Module> llama_module(const LlamaConfig& config, torch::Device device) {
  return make_llama(config, device);
}

ZooModel build_llama(const LlamaConfig& config, const ZooOptions& options) {
  // Validate the options before allocating weights, so a bad size fails fast.
  const auto shape = sequence_shape("llama", options, kDefaultBatch, kDefaultSequence, config.max_position_embeddings);
  auto root = make_llama(config, torch::kCPU);
  freeze(*root);
  auto model = ids_and_mask_model(root, shape, config.vocab_size);
  model.ignored_checkpoint_keys = legacy_rotary_buffers("");
  set_llama_draws(model, options);
  return model;
}

ZooModel build_llama_for_causal_lm(const LlamaConfig& config, bool tie_word_embeddings, const ZooOptions& options) {
  const auto shape = sequence_shape("llama", options, kDefaultBatch, kDefaultSequence, config.max_position_embeddings);
  validate(config);
  auto root = std::make_shared<LlamaForCausalLMImpl>(config, tie_word_embeddings, torch::TensorOptions());
  freeze(*root);
  auto model = ids_and_mask_model(root, shape, config.vocab_size);
  model.ignored_checkpoint_keys = legacy_rotary_buffers("model.");
  as_causal_lm(model, "model.", tie_word_embeddings);
  set_llama_draws(model, options);
  return model;
}

ZooModel build_tinyllama(const ZooOptions& options) { return build_llama(kTinyLlama, options); }

}  // namespace htp::zoo
