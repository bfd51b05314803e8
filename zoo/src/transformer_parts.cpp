#include "transformer_parts.h"

#include "dynamic_shape.h"

#include <torch/nn/modules/linear.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <utility>

namespace htp::zoo {
namespace {

// An option of 0 keeps the default; negative sizes are rejected.
int64_t size_option(int64_t value, int64_t default_value, const std::string& what) {
  if (value < 0) throw std::invalid_argument(what + " must not be negative, got " + std::to_string(value));
  return value == 0 ? default_value : value;
}

}  // namespace

torch::nn::LayerNorm layer_norm(int64_t width, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(eps));
}

torch::nn::Embedding embedding(int64_t count, int64_t width) {
  return torch::nn::Embedding(torch::nn::EmbeddingOptions(count, width));
}

torch::Tensor GELUActivationImpl::forward(const torch::Tensor& x) { return torch::gelu(x); }

torch::Tensor NewGELUActivationImpl::forward(const torch::Tensor& x) {
  const double sqrt_2_over_pi = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + torch::tanh(sqrt_2_over_pi * (x + 0.044715 * torch::pow(x, 3.0))));
}

torch::Tensor SiLUActivationImpl::forward(const torch::Tensor& x) { return torch::silu(x); }

Conv1DImpl::Conv1DImpl(int64_t in_features, int64_t out_features)
    : weight(register_parameter("weight", torch::empty({in_features, out_features}))),
      bias(register_parameter("bias", torch::zeros({out_features}))) {}

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
  // size_out = x.size()[:-1] + (nf,), with every size read from the runtime input.
  Shape size_out;
  for (int64_t dim = 0; dim + 1 < x.dim(); ++dim) size_out.push_back(Size::of(x, dim));
  size_out.push_back(weight.size(1));
  const auto product = torch::addmm(bias, view(x, {-1, Size::of(x, -1)}), weight);
  return view(product, size_out);
}

TiedLinearImpl::TiedLinearImpl(torch::Tensor weight) : torch::nn::Module("Linear"), weight_(std::move(weight)) {}

torch::Tensor TiedLinearImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight_); }

void as_causal_lm(ZooModel& model, const std::string& base_prefix, bool tied_head) {
  model.output_names = {"logits"};
  model.base_model_prefix = base_prefix;
  if (tied_head) model.ignored_checkpoint_keys.push_back("lm_head.weight");
}

void init_transformer_weights(torch::nn::Module& root, double initializer_range) {
  torch::NoGradGuard no_grad;
  for (const auto& module : root.modules()) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, initializer_range);
      if (linear->bias.defined()) linear->bias.normal_(0.0, initializer_range);
    }
    if (auto* conv1d = module->as<Conv1D>()) {
      conv1d->weight.normal_(0.0, initializer_range);
      conv1d->bias.normal_(0.0, initializer_range);
    }
    if (auto* table = module->as<torch::nn::Embedding>()) {
      table->weight.normal_(0.0, initializer_range);
      if (const auto padding = table->options.padding_idx()) table->weight[*padding].zero_();
    }
    if (auto* norm = module->as<torch::nn::LayerNorm>()) {
      norm->weight.uniform_(0.8, 1.2);
      norm->bias.uniform_(-0.1, 0.1);
    }
  }
}

std::vector<int64_t> sequence_shape(const std::string& model_name, const ZooOptions& options, int64_t default_batch,
                                    int64_t default_length, int64_t max_positions) {
  const int64_t batch = size_option(options.batch, default_batch, model_name + ": the batch size");
  const int64_t length = size_option(options.seq_len, default_length, model_name + ": the sequence length");
  if (length > max_positions) {
    throw std::invalid_argument(model_name + ": the sequence length " + std::to_string(length) +
                                " exceeds the model's " + std::to_string(max_positions) + " positions");
  }
  return {batch, length};
}

InputSpec sequence_input(const std::string& name, const std::vector<int64_t>& shape,
                         std::function<torch::Tensor(const std::vector<int64_t>&)> example) {
  return {name, shape, torch::kInt64, {"batch", "sequence"}, std::move(example)};
}

std::function<torch::Tensor(const std::vector<int64_t>&)> random_token_ids(int64_t vocab_size) {
  return [vocab_size](const std::vector<int64_t>& shape) { return torch::randint(vocab_size, shape, torch::kInt64); };
}

torch::Tensor split_heads(const torch::Tensor& x, int64_t heads, int64_t head_size) {
  return view(x, {Size::of(x, 0), Size::of(x, 1), heads, head_size}).permute({0, 2, 1, 3});
}

torch::Tensor merge_heads(const torch::Tensor& x, int64_t all_head_size) {
  const auto merged = x.permute({0, 2, 1, 3}).contiguous();
  return view(merged, {Size::of(merged, 0), Size::of(merged, 1), all_head_size});
}

torch::Tensor causal_mask(const Size& length) {
  const auto positions = arange(length);
  return positions.unsqueeze(0).le(positions.unsqueeze(1));
}

torch::Tensor padded_attention_mask(const std::vector<int64_t>& shape) {
  auto mask = torch::ones(shape, torch::kInt64);
  const int64_t length = shape.at(1);
  mask.slice(0, 1, shape.at(0), 2).slice(1, length - length / 4, length).zero_();
  return mask;
}

}  // namespace htp::zoo
