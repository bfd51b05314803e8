// Recurrent ops: LSTM, GRU, RNN (opset 14 semantics: layout, sequence_lens, initial states,
// peepholes, clip, activations with alpha/beta, GRU's linear_before_reset). A step at a time in ATen.
#include "evaluator/registry.h"

#include <cmath>
#include <functional>
#include <unordered_map>

namespace htp::optimizer::eval {
namespace {

// One entry of the `activations` list with the alpha/beta it consumed.
struct Activation {
  std::string name;
  float alpha = 0, beta = 0;

  at::Tensor operator()(const at::Tensor& x) const {
    if (name == "Sigmoid") return at::sigmoid(x);
    if (name == "Tanh") return at::tanh(x);
    if (name == "Relu") return at::relu(x);
    if (name == "Affine") return x * alpha + beta;
    if (name == "LeakyRelu") return at::where(x >= 0, x, x * alpha);
    if (name == "ThresholdedRelu") return at::where(x >= alpha, x, at::zeros_like(x));
    if (name == "ScaledTanh") return at::tanh(x * beta) * alpha;
    if (name == "HardSigmoid") return at::clamp(x * alpha + beta, 0, 1);
    if (name == "Elu") return at::where(x >= 0, x, (at::exp(x) - 1) * alpha);
    if (name == "Softsign") return x / (at::abs(x) + 1);
    return at::clamp_min(x, 0) + at::log1p(at::exp(-at::abs(x)));  // Softplus, stable for large x
  }
};

// The activations of every direction, `per_direction` each; alphas and betas are consumed in list
// order by the functions that take them, defaults when the lists run out.
std::vector<Activation> activations(const NodeContext& ctx, const std::vector<std::string>& defaults, size_t directions) {
  std::vector<std::string> names;
  if (const auto* a = ctx.attribute("activations")) {
    names.assign(a->strings().begin(), a->strings().end());
  } else {
    for (size_t d = 0; d < directions; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  }
  if (names.size() != defaults.size() * directions) {
    ctx.fail("expected " + std::to_string(defaults.size() * directions) + " activations, got " + std::to_string(names.size()));
  }
  // name → default alpha, default beta; NaN where the function takes none.
  static const std::unordered_map<std::string, std::pair<float, float>> params{
      {"Sigmoid", {NAN, NAN}},        {"Tanh", {NAN, NAN}},           {"Relu", {NAN, NAN}},
      {"Softsign", {NAN, NAN}},       {"Softplus", {NAN, NAN}},       {"Affine", {1.0f, 0.0f}},
      {"LeakyRelu", {0.01f, NAN}},    {"ThresholdedRelu", {1.0f, NAN}}, {"ScaledTanh", {1.0f, 1.0f}},
      {"HardSigmoid", {0.2f, 0.5f}},  {"Elu", {1.0f, NAN}}};
  std::vector<float> alphas = ctx.attr_floats("activation_alpha"), betas = ctx.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<Activation> result;
  for (const auto& name : names) {
    auto it = params.find(name);
    if (it == params.end()) ctx.fail("unknown activation '" + name + "'");
    Activation f{name};
    if (!std::isnan(it->second.first)) f.alpha = next_alpha < alphas.size() ? alphas[next_alpha++] : it->second.first;
    if (!std::isnan(it->second.second)) f.beta = next_beta < betas.size() ? betas[next_beta++] : it->second.second;
    result.push_back(std::move(f));
  }
  return result;
}

// What one time step of one direction sees: the input projection x·Wᵀ + Wb of this step [batch,
// gates·hidden], the state (h, and c for LSTM) and the direction's index.
using Step = std::function<std::vector<at::Tensor>(const at::Tensor& projected, const std::vector<at::Tensor>& state, int64_t d)>;

struct Recurrence {
  int64_t gates;
  std::vector<std::string> default_activations;
  size_t states;  // outputs after Y: Y_h (and Y_c)
};

// The shared frame: layout, directions, sequence_lens and initial states; `make_step` builds the
// cell from the weights [D, gates·hidden, hidden] (R), the recurrence biases and the activations.
std::vector<at::Tensor> run(const NodeContext& ctx, const Recurrence& kind,
                            const std::function<Step(const at::Tensor& r, const at::Tensor& rb, const std::vector<Activation>&)>& make_step) {
  const std::string direction = ctx.attr_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") ctx.fail("unknown direction '" + direction + "'");
  const int64_t directions = direction == "bidirectional" ? 2 : 1;
  const bool batch_major = ctx.attr_int("layout", 0) == 1;
  at::Tensor x = ctx.input(0);
  if (x.dim() != 3) ctx.fail("X must be 3-D");
  if (batch_major) x = x.transpose(0, 1);
  const at::Tensor& w = ctx.input(1);
  const at::Tensor& r = ctx.input(2);
  const int64_t steps = x.size(0), batch = x.size(1), hidden = r.size(2);
  if (w.dim() != 3 || r.dim() != 3 || w.size(0) != directions || r.size(0) != directions || w.size(1) != kind.gates * hidden ||
      r.size(1) != kind.gates * hidden || w.size(2) != x.size(2)) {
    ctx.fail("W " + c10::str(w.sizes()) + " and R " + c10::str(r.sizes()) + " do not fit X " + c10::str(x.sizes()) +
             " with " + std::to_string(directions) + " direction(s)");
  }
  if (ctx.has_attribute("hidden_size") && ctx.attr_int("hidden_size", 0) != hidden) ctx.fail("hidden_size differs from R");
  at::Tensor b = ctx.has_input(3) ? ctx.input(3) : at::zeros({directions, 2 * kind.gates * hidden}, x.options());
  if (b.sizes() != at::IntArrayRef{directions, 2 * kind.gates * hidden}) ctx.fail("B has shape " + c10::str(b.sizes()));
  at::Tensor lengths = ctx.has_input(4) ? ctx.input(4).to(at::kLong) : at::full({batch}, steps, at::kLong);
  if (lengths.dim() != 1 || lengths.size(0) != batch) ctx.fail("sequence_lens must hold one length per batch entry");
  if ((lengths < 0).any().item<bool>() || (lengths > steps).any().item<bool>()) ctx.fail("sequence_lens outside [0, seq_length]");
  // Initial states [D, batch, hidden] (layout 1: [batch, D, hidden]); zeros when omitted.
  std::vector<at::Tensor> initial;
  for (size_t k = 0; k < kind.states; ++k) {
    at::Tensor s = ctx.has_input(5 + k) ? ctx.input(5 + k) : at::zeros({directions, batch, hidden}, x.options());
    if (batch_major && ctx.has_input(5 + k)) s = s.transpose(0, 1);
    if (s.sizes() != at::IntArrayRef{directions, batch, hidden}) ctx.fail("initial state has shape " + c10::str(s.sizes()));
    initial.push_back(s);
  }
  std::vector<Activation> fs = activations(ctx, kind.default_activations, static_cast<size_t>(directions));
  const size_t per_direction = kind.default_activations.size();

  // Steps past a sequence's length leave its state alone and output zeros. The reverse direction
  // runs forward over each sequence reversed within its length.
  at::Tensor time = at::arange(steps, at::kLong).unsqueeze(1);                     // [T, 1]
  at::Tensor valid = time < lengths.unsqueeze(0);                                  // [T, B]
  at::Tensor reversed = at::where(valid, lengths.unsqueeze(0) - 1 - time, time);   // an involution
  auto reorder = [&](const at::Tensor& t) {  // [T, B, ...] along T per batch entry
    at::Tensor index = reversed.reshape({steps, batch, 1}).expand({steps, batch, t.size(2)});
    return at::gather(t, 0, index);
  };
  std::vector<at::Tensor> ys;
  std::vector<std::vector<at::Tensor>> final_states(kind.states);
  for (int64_t d = 0; d < directions; ++d) {
    const bool backward = direction == "reverse" || d == 1;
    const int64_t gh = kind.gates * hidden;
    at::Tensor xs = backward ? reorder(x) : x;
    at::Tensor projected = at::matmul(xs, w[d].t()) + b[d].slice(0, 0, gh);
    std::vector<Activation> dir_fs(fs.begin() + d * per_direction, fs.begin() + (d + 1) * per_direction);
    Step step = make_step(r[d], b[d].slice(0, gh, 2 * gh), dir_fs);
    std::vector<at::Tensor> state;
    for (const auto& s : initial) state.push_back(s[d]);
    std::vector<at::Tensor> outputs;
    for (int64_t t = 0; t < steps; ++t) {
      std::vector<at::Tensor> next = step(projected[t], state, d);
      at::Tensor keep = valid[t].unsqueeze(1);
      for (size_t k = 0; k < state.size(); ++k) state[k] = at::where(keep, next[k], state[k]);
      outputs.push_back(at::where(keep, next[0], at::zeros_like(next[0])));
    }
    at::Tensor y = steps > 0 ? at::stack(outputs) : at::zeros({0, batch, hidden}, x.options());
    ys.push_back(backward ? reorder(y) : y);
    for (size_t k = 0; k < state.size(); ++k) final_states[k].push_back(state[k]);
  }
  at::Tensor y = at::stack(ys, 1);  // [T, D, B, H]
  std::vector<at::Tensor> results{batch_major ? y.permute({2, 0, 1, 3}).contiguous() : y};
  for (const auto& s : final_states) {
    at::Tensor stacked = at::stack(s);  // [D, B, H]
    results.push_back(batch_major ? stacked.transpose(0, 1).contiguous() : stacked);
  }
  return results;
}

// Clips activation inputs to [-clip, clip] when the attribute is given.
std::function<at::Tensor(const at::Tensor&)> clipper(const NodeContext& ctx) {
  if (!ctx.has_attribute("clip")) return [](const at::Tensor& v) { return v; };
  float clip = ctx.attr_float("clip", 0);
  return [clip](const at::Tensor& v) { return at::clamp(v, -clip, clip); };
}

// i = f(xi + h·Riᵀ + Rbi + Pi⊙c), f = f(.. Pf⊙c), c̃ = g(..), C = f⊙c + i⊙c̃, o = f(.. + Po⊙C), H = o⊙h(C);
// gates in the order i, o, f, c.
std::vector<at::Tensor> lstm(const NodeContext& ctx) {
  if (ctx.attr_int("input_forget", 0) != 0) ctx.fail("input_forget=1 is not supported");
  const int64_t directions = ctx.attr_string("direction", "forward") == "bidirectional" ? 2 : 1;
  at::Tensor peepholes = ctx.has_input(7) ? ctx.input(7) : at::Tensor();
  if (peepholes.defined() && peepholes.sizes() != at::IntArrayRef{directions, 3 * ctx.input(2).size(2)}) {
    ctx.fail("P has shape " + c10::str(peepholes.sizes()));
  }
  auto clip = clipper(ctx);
  return run(ctx, {4, {"Sigmoid", "Tanh", "Tanh"}, 2}, [&](const at::Tensor& r, const at::Tensor& rb, const std::vector<Activation>& fs) -> Step {
    return [&, r, rb, fs](const at::Tensor& projected, const std::vector<at::Tensor>& state, int64_t d) {
      const at::Tensor &h = state[0], &c = state[1];
      std::vector<at::Tensor> g = (projected + at::matmul(h, r.t()) + rb).chunk(4, 1);  // i, o, f, c
      at::Tensor pi, po, pf;
      if (peepholes.defined()) {
        std::vector<at::Tensor> p = peepholes[d].chunk(3);
        pi = p[0], po = p[1], pf = p[2];
      }
      auto peep = [&](at::Tensor v, const at::Tensor& weight, const at::Tensor& cell) {
        return weight.defined() ? v + weight * cell : v;
      };
      at::Tensor i = fs[0](clip(peep(g[0], pi, c))), f = fs[0](clip(peep(g[2], pf, c)));
      at::Tensor cell = f * c + i * fs[1](clip(g[3]));
      at::Tensor o = fs[0](clip(peep(g[1], po, cell)));
      return std::vector<at::Tensor>{o * fs[2](cell), cell};
    };
  });
}

// z = f(xz + h·Rzᵀ + Rbz), r = f(..), h̃ = g(xh + r⊙(h·Rhᵀ + Rbh)) with linear_before_reset, else
// g(xh + (r⊙h)·Rhᵀ + Rbh); H = (1 - z)⊙h̃ + z⊙h. Gates in the order z, r, h.
std::vector<at::Tensor> gru(const NodeContext& ctx) {
  const bool linear_before_reset = ctx.attr_int("linear_before_reset", 0) != 0;
  auto clip = clipper(ctx);
  return run(ctx, {3, {"Sigmoid", "Tanh"}, 1}, [&](const at::Tensor& r, const at::Tensor& rb, const std::vector<Activation>& fs) -> Step {
    std::vector<at::Tensor> rs = r.chunk(3), rbs = rb.chunk(3);
    return [=](const at::Tensor& projected, const std::vector<at::Tensor>& state, int64_t) {
      const at::Tensor& h = state[0];
      std::vector<at::Tensor> x = projected.chunk(3, 1);
      at::Tensor z = fs[0](clip(x[0] + at::matmul(h, rs[0].t()) + rbs[0]));
      at::Tensor reset = fs[0](clip(x[1] + at::matmul(h, rs[1].t()) + rbs[1]));
      at::Tensor recurrent = linear_before_reset ? reset * (at::matmul(h, rs[2].t()) + rbs[2])
                                                 : at::matmul(reset * h, rs[2].t()) + rbs[2];
      at::Tensor candidate = fs[1](clip(x[2] + recurrent));
      return std::vector<at::Tensor>{(1 - z) * candidate + z * h};
    };
  });
}

// H = f(x·Wᵀ + h·Rᵀ + Wb + Rb).
std::vector<at::Tensor> rnn(const NodeContext& ctx) {
  auto clip = clipper(ctx);
  return run(ctx, {1, {"Tanh"}, 1}, [&](const at::Tensor& r, const at::Tensor& rb, const std::vector<Activation>& fs) -> Step {
    return [=](const at::Tensor& projected, const std::vector<at::Tensor>& state, int64_t) {
      return std::vector<at::Tensor>{fs[0](clip(projected + at::matmul(state[0], r.t()) + rb))};
    };
  });
}

}  // namespace

void register_recurrent_ops(EvaluatorRegistry& r) {
  r.add("LSTM", lstm);
  r.add("GRU", gru);
  r.add("RNN", rnn);
}

}  // namespace htp::optimizer::eval
