// The evaluator's LSTM, GRU and RNN against ATen's own recurrent kernels (at::lstm, at::gru,
// at::rnn_*), with torch's weights rearranged into ONNX's gate order, and against hand-computed
// single steps for what ATen lacks (peepholes, activations with alpha/beta, clip, GRU without
// linear_before_reset).
#include "evaluator_test_util.h"
#include "htp/onnxio/error.h"

#include <cmath>

namespace htp::test {
namespace {

constexpr int64_t kSteps = 4, kBatch = 3, kInput = 5, kHidden = 6;

// One direction's torch parameters: w_ih [G·H, I], w_hh [G·H, H], b_ih, b_hh [G·H].
struct TorchDirection {
  at::Tensor w_ih, w_hh, b_ih, b_hh;
};

std::vector<TorchDirection> torch_params(int64_t gates, int64_t directions) {
  std::vector<TorchDirection> result;
  for (int64_t d = 0; d < directions; ++d) {
    result.push_back({at::randn({gates * kHidden, kInput}) * 0.5, at::randn({gates * kHidden, kHidden}) * 0.5,
                      at::randn({gates * kHidden}) * 0.5, at::randn({gates * kHidden}) * 0.5});
  }
  return result;
}

std::vector<at::Tensor> flat(const std::vector<TorchDirection>& params) {
  std::vector<at::Tensor> result;
  for (const auto& p : params) result.insert(result.end(), {p.w_ih, p.w_hh, p.b_ih, p.b_hh});
  return result;
}

// ONNX's W, R, B from torch's parameters, gate blocks picked in `order` (torch block per ONNX gate).
std::vector<at::Tensor> onnx_params(const std::vector<TorchDirection>& params, const std::vector<int64_t>& order) {
  auto reorder = [&](const at::Tensor& t) {
    auto blocks = t.split(kHidden);
    std::vector<at::Tensor> picked;
    for (int64_t k : order) picked.push_back(blocks[k]);
    return at::cat(picked);
  };
  std::vector<at::Tensor> w, r, b;
  for (const auto& p : params) {
    w.push_back(reorder(p.w_ih));
    r.push_back(reorder(p.w_hh));
    b.push_back(at::cat({reorder(p.b_ih), reorder(p.b_hh)}));
  }
  return {at::stack(w), at::stack(r), at::stack(b)};
}

// ONNX Y [T, D, B, H] in torch's output layout [T, B, D·H].
at::Tensor as_torch_output(const at::Tensor& y) {
  return y.permute({0, 2, 1, 3}).reshape({y.size(0), y.size(2), -1});
}

const std::vector<int64_t> kLstmOrder{0, 3, 1, 2}, kGruOrder{1, 0, 2};

TEST(EvaluatorRecurrent, LstmMatchesATenBidirectionalWithStatesInBothLayouts) {
  at::manual_seed(1);
  auto params = torch_params(4, 2);
  at::Tensor x = at::randn({kSteps, kBatch, kInput}), h0 = at::randn({2, kBatch, kHidden}), c0 = at::randn({2, kBatch, kHidden});
  auto [want_y, want_h, want_c] = at::lstm(x, {h0, c0}, flat(params), true, 1, 0.0, false, true, false);
  auto onnx = onnx_params(params, kLstmOrder);
  NodeBuilder node("LSTM", 7, 3);
  node.attr("direction", "bidirectional").attr("hidden_size", kHidden);
  auto got = evaluate(node, {x, onnx[0], onnx[1], onnx[2], at::Tensor(), h0, c0});
  expect_tensor(as_torch_output(got[0]), want_y, 1e-5);
  expect_tensor(got[1], want_h, 1e-5);
  expect_tensor(got[2], want_c, 1e-5);

  // layout 1: X [B, T, I], states [B, D, H], Y [B, T, D, H]
  NodeBuilder batch_major("LSTM", 7, 3);
  batch_major.attr("direction", "bidirectional").attr("layout", int64_t{1});
  auto major = evaluate(batch_major, {x.transpose(0, 1), onnx[0], onnx[1], onnx[2], at::Tensor(), h0.transpose(0, 1), c0.transpose(0, 1)});
  expect_tensor(major[0], got[0].permute({2, 0, 1, 3}), 1e-6);
  expect_tensor(major[1], got[1].transpose(0, 1), 1e-6);
  expect_tensor(major[2], got[2].transpose(0, 1), 1e-6);
}

TEST(EvaluatorRecurrent, GruWithLinearBeforeResetMatchesATen) {
  at::manual_seed(2);
  auto params = torch_params(3, 2);
  at::Tensor x = at::randn({kSteps, kBatch, kInput}), h0 = at::randn({2, kBatch, kHidden});
  auto [want_y, want_h] = at::gru(x, h0, flat(params), true, 1, 0.0, false, true, false);
  auto onnx = onnx_params(params, kGruOrder);
  NodeBuilder node("GRU", 6, 2);
  node.attr("direction", "bidirectional").attr("linear_before_reset", int64_t{1});
  auto got = evaluate(node, {x, onnx[0], onnx[1], onnx[2], at::Tensor(), h0});
  expect_tensor(as_torch_output(got[0]), want_y, 1e-5);
  expect_tensor(got[1], want_h, 1e-5);
}

TEST(EvaluatorRecurrent, RnnReluForwardAndTanhReverseMatchATen) {
  at::manual_seed(3);
  auto params = torch_params(1, 1);
  at::Tensor x = at::randn({kSteps, kBatch, kInput}), h0 = at::randn({1, kBatch, kHidden});
  auto onnx = onnx_params(params, {0});
  auto [relu_y, relu_h] = at::rnn_relu(x, h0, flat(params), true, 1, 0.0, false, false, false);
  NodeBuilder relu("RNN", 6, 2);
  relu.attr("activations", std::vector<std::string>{"Relu"});
  auto got = evaluate(relu, {x, onnx[0], onnx[1], onnx[2], at::Tensor(), h0});
  expect_tensor(as_torch_output(got[0]), relu_y, 1e-5);
  expect_tensor(got[1], relu_h, 1e-5);

  // reverse: torch's forward run over the flipped sequence, flipped back; no B means zeros
  auto [tanh_y, tanh_h] = at::rnn_tanh(x.flip(0), h0, {params[0].w_ih, params[0].w_hh}, false, 1, 0.0, false, false, false);
  NodeBuilder reverse("RNN", 6, 2);
  reverse.attr("direction", "reverse");
  got = evaluate(reverse, {x, onnx[0], onnx[1], at::Tensor(), at::Tensor(), h0});
  expect_tensor(as_torch_output(got[0]), tanh_y.flip(0), 1e-5);
  expect_tensor(got[1], tanh_h, 1e-5);
}

// Per batch entry b: the first lengths[b] steps as torch runs them alone, zeros after, Y_h the
// state after its last valid step (the reverse direction starts at that step).
TEST(EvaluatorRecurrent, SequenceLensStopEachEntryAtItsLength) {
  at::manual_seed(4);
  auto params = torch_params(4, 2);
  at::Tensor x = at::randn({kSteps, kBatch, kInput});
  auto onnx = onnx_params(params, kLstmOrder);
  NodeBuilder node("LSTM", 5, 3);
  node.attr("direction", "bidirectional");
  const std::vector<int64_t> lengths{4, 2, 1};
  auto got = evaluate(node, {x, onnx[0], onnx[1], onnx[2], at::tensor(std::vector<int32_t>{4, 2, 1})});
  for (int64_t b = 0; b < kBatch; ++b) {
    const int64_t n = lengths[b];
    at::Tensor zeros = at::zeros({2, 1, kHidden});
    auto [y, h, c] = at::lstm(x.slice(0, 0, n).slice(1, b, b + 1), {zeros, zeros}, flat(params), true, 1, 0.0, false, true, false);
    at::Tensor got_y = as_torch_output(got[0]).slice(1, b, b + 1);
    expect_tensor(got_y.slice(0, 0, n), y, 1e-5);
    expect_tensor(got_y.slice(0, n), at::zeros({kSteps - n, 1, 2 * kHidden}));
    expect_tensor(got[1].slice(1, b, b + 1), h, 1e-5);
    expect_tensor(got[2].slice(1, b, b + 1), c, 1e-5);
  }
}

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// One LSTM step with hidden and input size 1: W = (i 1, o 2, f 3, c 4), R = 0, P = (i 0.5, o 0.25, f -1).
TEST(EvaluatorRecurrent, LstmPeepholesAndClipByHand) {
  at::Tensor x = floats({1}, {1, 1, 1}), w = floats({1, 2, 3, 4}, {1, 4, 1}), r = at::zeros({1, 4, 1});
  at::Tensor c0 = floats({2}, {1, 1, 1}), peepholes = floats({0.5, 0.25, -1}, {1, 3});
  auto got = evaluate(NodeBuilder("LSTM", 8, 3), {x, w, r, at::Tensor(), at::Tensor(), at::Tensor(), c0, peepholes});
  float i = sigmoid(1 + 0.5f * 2), f = sigmoid(3 - 2), cell = f * 2 + i * std::tanh(4.0f), o = sigmoid(2 + 0.25f * cell);
  expect_tensor(got[0], floats({o * std::tanh(cell)}, {1, 1, 1, 1}));
  expect_tensor(got[2], floats({cell}, {1, 1, 1}));

  NodeBuilder clipped("LSTM", 3, 3);  // every activation input clipped to [-1.5, 1.5]
  clipped.attr("clip", 1.5);
  got = evaluate(clipped, {x, w, r});
  i = sigmoid(1), f = sigmoid(1.5f), cell = i * std::tanh(1.5f), o = sigmoid(1.5f);
  expect_tensor(got[1], floats({o * std::tanh(cell)}, {1, 1, 1}));
}

TEST(EvaluatorRecurrent, ActivationsTakeAlphaAndBetaInOrder) {
  // RNN, one step, W = 1, R = 0: Affine(2, 0.5) forward, LeakyRelu(0.1) reverse.
  at::Tensor x = floats({-1}, {1, 1, 1}), w = at::ones({2, 1, 1}), r = at::zeros({2, 1, 1});
  NodeBuilder node("RNN", 3, 2);
  node.attr("direction", "bidirectional")
      .attr("activations", std::vector<std::string>{"Affine", "LeakyRelu"})
      .attr("activation_alpha", std::vector<float>{2, 0.1f})
      .attr("activation_beta", std::vector<float>{0.5f});
  expect_tensor(evaluate(node, {x, w, r})[1], floats({-1.5f, -0.1f}, {2, 1, 1}));
  NodeBuilder defaults("RNN", 3, 2);  // HardSigmoid's defaults: alpha 0.2, beta 0.5
  defaults.attr("activations", std::vector<std::string>{"HardSigmoid"});
  expect_tensor(evaluate(defaults, {x, w.slice(0, 0, 1), r.slice(0, 0, 1)})[1], floats({0.3f}, {1, 1, 1}));
}

// GRU without linear_before_reset: the reset gate scales h before Rh.
TEST(EvaluatorRecurrent, GruResetBeforeLinearByHand) {
  // hidden and input 1; W = (z 1, r 2, h 3), R = (z 0, r 0, h 4), h0 = 0.5, x = 1
  at::Tensor x = floats({1}, {1, 1, 1}), w = floats({1, 2, 3}, {1, 3, 1}), r = floats({0, 0, 4}, {1, 3, 1});
  at::Tensor h0 = floats({0.5}, {1, 1, 1});
  auto got = evaluate(NodeBuilder("GRU", 6, 2), {x, w, r, at::Tensor(), at::Tensor(), h0});
  float z = sigmoid(1), reset = sigmoid(2), candidate = std::tanh(3 + reset * 0.5f * 4);
  expect_tensor(got[1], floats({(1 - z) * candidate + z * 0.5f}, {1, 1, 1}));
}

TEST(EvaluatorRecurrent, RejectsWhatItCannotRun) {
  at::Tensor x = at::randn({2, 1, 3}), w = at::randn({1, 4, 3}), r = at::randn({1, 4, 1});
  EXPECT_THROW(evaluate(NodeBuilder("LSTM", 3, 3).attr("input_forget", int64_t{1}), {x, w, r}), Error);
  EXPECT_THROW(evaluate(NodeBuilder("RNN", 3, 2).attr("activations", std::vector<std::string>{"Swish"}),
                        {x, w.slice(1, 0, 1), r.slice(1, 0, 1)}),
               Error);
  EXPECT_THROW(evaluate(NodeBuilder("LSTM", 3, 3), {x, at::randn({1, 4, 2}), r}), Error);  // W's input size
  EXPECT_THROW(evaluate(NodeBuilder("LSTM", 3, 3).attr("direction", "bidirectional"), {x, w, r}), Error);
}

}  // namespace
}  // namespace htp::test
