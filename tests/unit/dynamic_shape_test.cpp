// Sizes taken with zoo::Size stay symbolic in a trace: the traced graph reruns correctly at other
// sizes, where sizes read as plain integers would have been baked in.
#include "dynamic_shape.h"

#include <gtest/gtest.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/torch.h>

namespace {

using htp::zoo::Size;

std::shared_ptr<torch::jit::Graph> trace(const torch::Tensor& example, const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  auto run = [&](torch::jit::Stack inputs) { return torch::jit::Stack{fn(inputs[0].toTensor())}; };
  auto no_names = [](const torch::autograd::Variable&) { return std::string(); };
  return std::get<0>(torch::jit::tracer::trace({example}, run, no_names, false, false, nullptr))->graph;
}

torch::Tensor run_graph(const std::shared_ptr<torch::jit::Graph>& graph, const torch::Tensor& input) {
  torch::jit::GraphFunction function("traced", graph->copy(), nullptr);
  return function({input}).toTensor();
}

// Split the last dim into heads, add position ids of the runtime length, merge back.
torch::Tensor heads_and_positions(const torch::Tensor& x) {
  Size batch = Size::of(x, 0), length = Size::of(x, 1), hidden = Size::of(x, -1);
  torch::Tensor heads = htp::zoo::view(x, {batch, length, 2, -1}).permute({0, 2, 1, 3});
  torch::Tensor positions = htp::zoo::arange(length, torch::kFloat).unsqueeze(0);
  torch::Tensor table = torch::arange(64, torch::kFloat).unsqueeze(0);
  torch::Tensor sliced = htp::zoo::slice(table, 1, 0, length);
  torch::Tensor merged = htp::zoo::reshape(heads.permute({0, 2, 1, 3}), {batch, length, hidden});
  return merged + htp::zoo::expand((positions + sliced).unsqueeze(-1), {batch, length, Size(1) * hidden});
}

TEST(DynamicShape, TracedGraphRunsAtOtherSizes) {
  torch::manual_seed(0);
  auto graph = trace(torch::randn({2, 5, 8}), heads_and_positions);
  for (auto shape : {std::vector<int64_t>{2, 5, 8}, {3, 7, 8}, {1, 2, 4}}) {
    torch::Tensor x = torch::randn(shape);
    torch::Tensor expected = heads_and_positions(x);
    torch::Tensor actual = run_graph(graph, x);
    ASSERT_EQ(actual.sizes(), expected.sizes());
    EXPECT_TRUE(torch::equal(actual, expected));
  }
}

TEST(DynamicShape, PlainSizesBakeTheExampleIn) {
  // The control: the same function with x.size() fails at another length.
  auto baked = [](const torch::Tensor& x) { return x.view({x.size(0), x.size(1), 2, -1}); };
  auto graph = trace(torch::randn({2, 5, 8}), baked);
  EXPECT_ANY_THROW(run_graph(graph, torch::randn({3, 7, 8})));
}

TEST(DynamicShape, ArithmeticOnSizes) {
  torch::Tensor x = torch::randn({2, 3, 4});
  Size product = Size::of(x, 0) * Size::of(x, 1), sum = Size::of(x, 2) + 1, difference = Size(10) - Size::of(x, 2);
  EXPECT_EQ(product.value(), 6);
  EXPECT_EQ(sum.value(), 5);
  EXPECT_EQ(difference.value(), 6);
  EXPECT_FALSE(product.traced().defined());  // outside a trace sizes are plain integers
}

}  // namespace
