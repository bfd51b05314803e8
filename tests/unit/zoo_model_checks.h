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
