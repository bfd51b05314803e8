// Checks the transformer zoo tests share: a model's module tree and parameters as rows to compare
// with Hugging Face's, its example inputs, determinism per seed, and a trace rerun at other sizes.
#pragma once

#include "trace_zoo.h"

#include "htp/zoo/scoped.h"
#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

using ModuleRows = std::vector<std::pair<std::string, std::string>>;
using TensorRows = std::vector<std::pair<std::string, std::vector<int64_t>>>;

// (path, Python class name) of every module, root first, in named_modules() order.
inline ModuleRows module_rows(const torch::nn::Module& root) {
  ModuleRows rows;
  for (const auto& item : root.named_modules()) rows.emplace_back(item.key(), htp::zoo::class_name(*item.value()));
  return rows;
}

// (state_dict key, shape) of every parameter, in Python's state_dict order.
inline TensorRows parameter_rows(const torch::nn::Module& root) {
  TensorRows rows;
  for (const auto& item : root.named_parameters()) rows.emplace_back(item.key(), item.value().sizes().vec());
  return rows;
}

inline int64_t parameter_count(const torch::nn::Module& root) {
  int64_t count = 0;
  for (const auto& tensor : root.parameters()) count += tensor.numel();
  return count;
}

// The model's example inputs drawn at `shape` from the current torch seed.
inline std::vector<torch::Tensor> example_inputs(const htp::zoo::ZooModel& model, const std::vector<int64_t>& shape) {
  std::vector<torch::Tensor> inputs;
  for (const auto& spec : model.inputs) inputs.push_back(spec.example(shape));
  return inputs;
}

// `outputs_for_seed` gives the same outputs for the same seed and different ones for another.
inline void expect_deterministic_per_seed(const std::function<std::vector<torch::Tensor>(uint64_t)>& outputs_for_seed) {
  const auto first = outputs_for_seed(5);
  const auto second = outputs_for_seed(5);
  const auto other = outputs_for_seed(6);
  ASSERT_EQ(first.size(), second.size());
  ASSERT_EQ(first.size(), other.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_TRUE(torch::equal(first[i], second[i])) << "output " << i;
    EXPECT_FALSE(torch::allclose(first[i], other[i])) << "output " << i;
  }
}

// Runs `traced` (with its parameters) on `inputs` and expects the eager model's outputs there; returns
// the traced outputs. Inputs of other sizes than the traced example show that no size was baked in.
inline std::vector<torch::Tensor> expect_trace_matches_eager(const htp::zoo::ZooModel& model,
                                                             const htp::exporter::TracedGraph& traced,
                                                             const std::vector<torch::Tensor>& inputs,
                                                             const std::string& context = "") {
  torch::jit::GraphExecutor executor(traced.graph, "traced");
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  for (size_t i = inputs.size(); i < traced.graph->inputs().size(); ++i) {
    stack.emplace_back(traced.parameters.at(traced.graph->inputs()[i]).value);
  }
  executor.run(stack);
  const auto expected = model.forward(inputs);
  EXPECT_EQ(stack.size(), expected.size()) << context;
  std::vector<torch::Tensor> outputs;
  for (size_t i = 0; i < std::min(stack.size(), expected.size()); ++i) {
    outputs.push_back(stack[i].toTensor());
    EXPECT_EQ(outputs[i].sizes(), expected[i].sizes()) << context << " output " << i;
    if (outputs[i].sizes() == expected[i].sizes()) {
      EXPECT_TRUE(torch::allclose(outputs[i], expected[i], 1e-5, 1e-6)) << context << " output " << i;
    }
  }
  return outputs;
}

// The scopes of the traced nodes of `kind` (e.g. "aten::softmax"): which modules run that computation.
inline std::set<std::string> scopes_running(const htp::exporter::TracedGraph& traced, const char* kind) {
  std::set<std::string> scopes;
  for (const auto* node : traced.graph->nodes()) {
    if (node->kind() == c10::Symbol::fromQualString(kind)) scopes.insert(traced.scope_of(node));
  }
  return scopes;
}

// A text model's interface: int64 inputs `input_names` of [batch, sequence] (default 2×16) and the
// outputs `output_names` with dims `output_dims`.
inline void expect_sequence_interface(const htp::zoo::ZooModel& model, const std::vector<std::string>& input_names,
                                      const std::vector<std::string>& output_names,
                                      const std::vector<std::vector<std::string>>& output_dims) {
  ASSERT_EQ(model.inputs.size(), input_names.size());
  for (size_t i = 0; i < input_names.size(); ++i) {
    EXPECT_EQ(model.inputs[i].name, input_names[i]);
    EXPECT_EQ(model.inputs[i].shape, (std::vector<int64_t>{2, 16}));
    EXPECT_EQ(model.inputs[i].dtype, torch::kInt64);
    EXPECT_EQ(model.inputs[i].dim_names, (std::vector<std::string>{"batch", "sequence"}));
  }
  EXPECT_EQ(model.output_names, output_names);
  EXPECT_EQ(model.output_dim_names, output_dims);
}

// The interface of an ids_and_mask_model (DistilBERT, GPT-2): input_ids and attention_mask, one
// last_hidden_state output; example inputs at 4×8 are ids below `vocab_size` and a mask padding the
// last quarter of every second row.
inline void expect_ids_and_mask_interface(const htp::zoo::ZooModel& model, int64_t vocab_size) {
  expect_sequence_interface(model, {"input_ids", "attention_mask"}, {"last_hidden_state"}, {{"batch", "sequence", ""}});

  const auto inputs = example_inputs(model, {4, 8});
  EXPECT_EQ(inputs[0].scalar_type(), torch::kInt64);
  EXPECT_TRUE(inputs[0].ge(0).all().item<bool>() && inputs[0].lt(vocab_size).all().item<bool>());
  const auto full_row = torch::ones({8}, torch::kInt64);
  const auto padded_row = torch::tensor({1, 1, 1, 1, 1, 1, 0, 0}, torch::kInt64);
  EXPECT_TRUE(torch::equal(inputs[1], torch::stack({full_row, padded_row, full_row, padded_row})));
}

// A causal decoder of input_ids and attention_mask (GPT-2, Llama): a new token at position 9 changes
// positions 9 onwards and none before.
inline void expect_later_tokens_do_not_reach_earlier_positions(const htp::zoo::ZooModel& model) {
  auto inputs = example_inputs(model, {2, 16});
  inputs[1].fill_(1);
  const auto before = model.forward(inputs)[0];
  inputs[0].select(1, 9).add_(1);  // a new token at position 9 of every row
  const auto after = model.forward(inputs)[0];
  EXPECT_TRUE(torch::allclose(after.slice(1, 0, 9), before.slice(1, 0, 9)));
  EXPECT_FALSE(torch::allclose(after.slice(1, 9, 16), before.slice(1, 9, 16)));
}

// The same decoder with position 3 masked out in row 1 only: a new token there reaches row 0's later
// positions and, in row 1, only position 3 itself.
inline void expect_masked_positions_do_not_reach_the_others(const htp::zoo::ZooModel& model) {
  auto inputs = example_inputs(model, {2, 16});
  inputs[1].fill_(1);
  inputs[1][1][3] = 0;
  const auto before = model.forward(inputs)[0];
  inputs[0].select(1, 3).add_(1);
  const auto after = model.forward(inputs)[0];
  EXPECT_FALSE(torch::allclose(after[0].slice(0, 4, 16), before[0].slice(0, 4, 16)));
  EXPECT_TRUE(torch::allclose(after[1].slice(0, 0, 3), before[1].slice(0, 0, 3)));
  EXPECT_TRUE(torch::allclose(after[1].slice(0, 4, 16), before[1].slice(0, 4, 16)));
  EXPECT_FALSE(torch::allclose(after[1][3], before[1][3]));
}

// The zoo model `name` refuses a sequence longer than `max_length`, a negative batch and an image shape.
inline void expect_sequence_size_limits(const std::string& name, int64_t max_length) {
  htp::zoo::ZooOptions too_long;
  too_long.seq_len = max_length + 1;
  EXPECT_THROW(htp::zoo::make_model(name, too_long), std::invalid_argument);
  htp::zoo::ZooOptions negative_batch;
  negative_batch.batch = -1;
  EXPECT_THROW(htp::zoo::make_model(name, negative_batch), std::invalid_argument);
  htp::zoo::ZooOptions image_shape;
  image_shape.input_shape = {1, 3, 224, 224};
  EXPECT_THROW(htp::zoo::make_model(name, image_shape), std::invalid_argument);
}
