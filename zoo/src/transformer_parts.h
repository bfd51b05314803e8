// Pieces shared by the zoo's Hugging Face transformers (BERT and its relatives, GPT-2): leaf modules
// named like transformers' own, their weight initialisation and the example token inputs.
#pragma once

#include "dynamic_shape.h"
#include "htp/zoo/scoped.h"
#include "htp/zoo/zoo.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace htp::zoo {

// Every text and vision transformer's example shape unless --batch and --seq-len say otherwise.
inline constexpr int64_t kDefaultBatch = 2;
inline constexpr int64_t kDefaultSequence = 16;

// torch.finfo(torch.float32).min, Hugging Face's value for masked-out attention scores.
inline constexpr float kMaskValue = std::numeric_limits<float>::lowest();

torch::nn::LayerNorm layer_norm(int64_t width, double eps);

torch::nn::Embedding embedding(int64_t count, int64_t width);

// transformers.activations.GELUActivation: the exact (erf) GELU, a module of its own in Hugging Face's tree.
class GELUActivationImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(GELUActivation);

// transformers.activations.NewGELUActivation (GPT-2's "gelu_new"): the tanh approximation of GELU, written
// out op for op as Hugging Face does rather than as torch's gelu(approximate="tanh").
class NewGELUActivationImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(NewGELUActivation);

// transformers.activations.SiLUActivation (Llama's MLP): silu(x) = x·sigmoid(x). Current releases build it for
// ACT2FN["silu"]; earlier ones (4.45 among them) built torch.nn.SiLU there, the same function under another name.
class SiLUActivationImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(SiLUActivation);

// transformers.pytorch_utils.Conv1D (GPT-2's projections): a Linear whose weight is stored transposed,
// [in_features, out_features], computing addmm(bias, x flattened to 2-d, weight).
class Conv1DImpl : public torch::nn::Module {
 public:
  Conv1DImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;
  torch::Tensor bias;
};
TORCH_MODULE(Conv1D);

// A causal LM's `lm_head` tied to its token embeddings (tie_word_embeddings): nn.Linear without bias whose
// weight is the embedding table itself. The weight is not registered here, so the state dict names it once,
// as the embedding's, and a checkpoint's copy loads through the embedding.
class TiedLinearImpl : public torch::nn::Module {
 public:
  explicit TiedLinearImpl(torch::Tensor weight);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight_;
};
TORCH_MODULE(TiedLinear);

// The `for layer_module in self.layer` loop of these models (`for block in self.h` in GPT-2): each
// `LayerImpl` of the ModuleList `layers` (a child of `parent`) maps (hidden_states, shared...) to the next
// hidden states; `shared` is what every layer gets alike, such as the attention mask. A ModuleList runs no
// forward of its own; its scope only prefixes the indexed layers' paths.
template <typename LayerImpl, typename... Shared>
torch::Tensor run_layers(const torch::nn::Module& parent, const torch::nn::ModuleList& layers,
                         torch::Tensor hidden_states, const Shared&... shared) {
  TraceScope list_scope(child_name(parent, *layers));
  for (size_t i = 0; i < layers->size(); ++i) {
    auto layer = layers->ptr<LayerImpl>(i);
    hidden_states = call(*layers, layer, hidden_states, shared...);
  }
  return hidden_states;
}

// PreTrainedModel._init_weights of these families draws N(0, initializer_range) Linear, Conv1D and Embedding
// weights with zero biases and identity LayerNorms; biases (of the layers that have one) and LayerNorm parameters
// are drawn too, so that a converter dropping or mixing up one of them changes the numerics. Embedding rows at
// padding_idx stay zero.
void init_transformer_weights(torch::nn::Module& root, double initializer_range);

// The example's [batch, sequence] shape: --batch and --seq-len (0 keeps the defaults), rejecting negative
// sizes and sequences longer than the model's position table before any weight is drawn.
std::vector<int64_t> sequence_shape(const std::string& model_name, const ZooOptions& options, int64_t default_batch,
                                    int64_t default_length, int64_t max_positions);

// An int64 input with dynamic dims "batch" and "sequence", drawn by `example`.
InputSpec sequence_input(const std::string& name, const std::vector<int64_t>& shape,
                         std::function<torch::Tensor(const std::vector<int64_t>&)> example);

// Draws uniformly random token ids below `vocab_size`.
std::function<torch::Tensor(const std::vector<int64_t>&)> random_token_ids(int64_t vocab_size);

// Hugging Face's transpose_for_scores (BERT family, ViT) and _split_heads (GPT-2):
// [batch, seq, heads·head_size] -> [batch, heads, seq, head_size], with traced sizes.
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads, int64_t head_size);
// The inverse: [batch, heads, seq, head_size] -> [batch, seq, all_head_size].
torch::Tensor merge_heads(const torch::Tensor& x, int64_t all_head_size);

// Causal self-attention's mask over a runtime `length`: [length, length], true where the key position is at or
// before the query position (Hugging Face's tril of ones, or arange(length) < arange(length) + 1 per row).
torch::Tensor causal_mask(const Size& length);

// Every second row has its last quarter of positions padded out, so the mask changes the outputs.
torch::Tensor padded_attention_mask(const std::vector<int64_t>& shape);

// The ZooModel of a text model whose root forward(input_ids, attention_mask) returns the last hidden
// state (DistilBERT, GPT-2): its inputs, output and dynamic dims.
template <typename RootImpl>
ZooModel ids_and_mask_model(std::shared_ptr<RootImpl> root, const std::vector<int64_t>& shape, int64_t vocab_size) {
  ZooModel model;
  model.module = root;
  model.forward = [root](const std::vector<torch::Tensor>& args) {
    if (args.size() != 2) throw std::invalid_argument("the model takes input_ids and attention_mask");
    return std::vector<torch::Tensor>{root->forward(args[0], args[1])};
  };
  model.inputs = {sequence_input("input_ids", shape, random_token_ids(vocab_size)),
                  sequence_input("attention_mask", shape, padded_attention_mask)};
  model.output_names = {"last_hidden_state"};
  model.output_dim_names = {{"batch", "sequence", ""}};
  return model;
}

// Turns a text model's ZooModel into its causal LM's: the output is `logits` [batch, sequence, vocab], and a
// checkpoint of the base model alone loads under `base_prefix`. A tied head's own copy in a checkpoint
// ("lm_head.weight") is skipped.
void as_causal_lm(ZooModel& model, const std::string& base_prefix, bool tied_head);

}  // namespace htp::zoo
