// Recurrent nets: aten::lstm/gru/rnn_tanh/rnn_relu → one ONNX LSTM/GRU/RNN per layer, chained, and
// the cells (aten::lstm_cell, ...) → the same op over one time step.
//
// Torch stacks each direction's gate blocks in its own order (LSTM i,f,g,o; GRU r,z,n); ONNX wants
// i,o,f,c and z,r,h, and one [num_directions, ...] tensor per weight kind with the biases as
// [Wb, Rb]. The parameters stay initializers under their state_dict names: Split/Concat/Unsqueeze
// on them rearrange the blocks (constant folding turns them into reordered initializers).
//
// ONNX LSTM has no projection (torch's proj_size). With h_t = W_hr·h'_t, where h'_t = o ⊙ tanh(c_t) is
// what ONNX keeps as its hidden state, the recurrence W_hh·h_{t-1} equals (W_hh·W_hr)·h'_{t-1}: ONNX
// runs with R = W_hh·W_hr and its outputs are projected by W_hr afterwards. The given projected h0
// enters through the input instead: X gains, per direction, P extra features holding h0 at that
// direction's first step and zeros elsewhere, with W_hh as their weights, while ONNX starts from
// h'_0 = 0. Sequence length and batch stay dynamic.
#include "convert/registry.h"

#include <ATen/ATen.h>

namespace htp::exporter {
namespace {

using torch::jit::Node;

enum class Cell { kLstm, kGru, kRnnTanh, kRnnRelu };

struct CellSpec {
  const char* onnx_type;
  int64_t gates;
  std::vector<size_t> onnx_order;  // torch's gate block index for each of ONNX's gates
};

const CellSpec& spec(Cell cell) {
  static const CellSpec lstm{"LSTM", 4, {0, 3, 1, 2}};  // i,f,g,o → i,o,f,c
  static const CellSpec gru{"GRU", 3, {1, 0, 2}};       // r,z,n → z,r,h
  static const CellSpec rnn{"RNN", 1, {0}};
  return cell == Cell::kLstm ? lstm : cell == Cell::kGru ? gru : rnn;
}

// One direction of one layer, in torch's layout; "" for an absent bias or projection.
struct DirectionParams {
  std::string w_ih, w_hh, b_ih, b_hh, w_hr;
};

// A layer's results: y [seq, D, batch, hidden], h and c [D, batch, hidden] (c only for LSTM),
// hidden being proj_size when projected.
struct LayerOutputs {
  std::string y, h, c;
};

// Static shape facts of a layer, read from its parameters.
struct LayerShape {
  int64_t hidden;  // ONNX hidden_size: torch's hidden_size (the cell state's size)
  int64_t proj;    // torch's proj_size, 0 without projection
};

class RecurrentBuilder {
 public:
  RecurrentBuilder(ConversionContext& ctx, Cell cell, at::ScalarType dtype)
      : ctx_(ctx), cell_(cell), spec_(spec(cell)), dtype_(dtype) {}

  // One ONNX op over `x` [seq, batch, input] for the given directions (1 or 2); h0/c0
  // [D, batch, hidden or proj] or "" for zeros.
  LayerOutputs layer(const std::string& x, const std::vector<DirectionParams>& directions, const LayerShape& shape,
                     const std::string& h0, const std::string& c0) {
    const bool projected = shape.proj > 0;
    std::vector<std::string> w, r, b;
    for (size_t d = 0; d < directions.size(); ++d) {
      const DirectionParams& p = directions[d];
      std::string w_ih = in_onnx_order(p.w_ih, shape.hidden), w_hh = in_onnx_order(p.w_hh, shape.hidden);
      if (projected) {
        w.push_back(ctx_.op("Concat", with_h0_columns(w_ih, w_hh, d, directions.size(), shape), {{"axis", int64_t{1}}}));
        r.push_back(ctx_.op("MatMul", {w_hh, p.w_hr}));
      } else {
        w.push_back(w_ih);
        r.push_back(w_hh);
      }
      if (!p.b_ih.empty() || !p.b_hh.empty()) {
        b.push_back(ctx_.op("Concat", {bias_or_zeros(p.b_ih, shape.hidden), bias_or_zeros(p.b_hh, shape.hidden)},
                            {{"axis", int64_t{0}}}));
      }
    }
    std::string input = projected ? ctx_.op("Concat", with_h0_features(x, h0, directions.size()), {{"axis", int64_t{2}}}) : x;
    std::vector<std::string> inputs{input, stack(w), stack(r), b.empty() ? "" : stack(b), "",
                                    projected ? "" : h0};
    if (cell_ == Cell::kLstm) inputs.push_back(c0);
    while (inputs.back().empty()) inputs.pop_back();
    size_t outputs = cell_ == Cell::kLstm ? 3 : 2;
    auto results = ctx_.op(spec_.onnx_type, inputs, outputs, attributes(directions.size(), shape.hidden));
    std::string y = results[0], h = results[1];
    if (projected) {
      std::string w_hr = stack_projections(directions);
      y = ctx_.op("MatMul", {y, w_hr});
      h = ctx_.op("MatMul", {h, w_hr});
    }
    return {y, h, outputs == 3 ? results[2] : ""};
  }

 private:
  // A torch weight or bias with its gate blocks (of `hidden` rows each) in ONNX's order.
  std::string in_onnx_order(const std::string& tensor, int64_t hidden) {
    if (spec_.gates == 1) return tensor;
    auto blocks = ctx_.op("Split", {tensor, ctx_.constant_ints(std::vector<int64_t>(spec_.gates, hidden))},
                          static_cast<size_t>(spec_.gates), {{"axis", int64_t{0}}});
    std::vector<std::string> ordered;
    for (size_t index : spec_.onnx_order) ordered.push_back(blocks[index]);
    return ctx_.op("Concat", ordered, {{"axis", int64_t{0}}});
  }

  std::string bias_or_zeros(const std::string& bias, int64_t hidden) {
    if (bias.empty()) return ctx_.constant(at::zeros({spec_.gates * hidden}, at::TensorOptions().dtype(dtype_)));
    return in_onnx_order(bias, hidden);
  }

  // [W_ih | W_hh in this direction's h0 columns | zeros in the other direction's].
  std::vector<std::string> with_h0_columns(const std::string& w_ih, const std::string& w_hh, size_t direction,
                                           size_t directions, const LayerShape& shape) {
    std::vector<std::string> columns{w_ih};
    for (size_t d = 0; d < directions; ++d) {
      columns.push_back(d == direction ? w_hh
                                       : ctx_.constant(at::zeros({spec_.gates * shape.hidden, shape.proj},
                                                                 at::TensorOptions().dtype(dtype_))));
    }
    return columns;
  }

  // [x, h0 of each direction at its first step (t = 0 forward, t = seq-1 reverse), zeros elsewhere].
  std::vector<std::string> with_h0_features(const std::string& x, const std::string& h0, size_t directions) {
    std::string steps = ctx_.op("Shape", {x}, {{"start", int64_t{0}}, {"end", int64_t{1}}});
    std::string others = ctx_.op("Sub", {steps, ctx_.constant_ints({1})});
    std::string zeros = ctx_.constant_ints({0, 0});
    std::vector<std::string> features{x};
    for (size_t d = 0; d < directions; ++d) {
      std::string state = ctx_.op("Slice", {h0, ctx_.constant_ints({static_cast<int64_t>(d)}),
                                            ctx_.constant_ints({static_cast<int64_t>(d + 1)}), ctx_.constant_ints({0})});
      // pads: [begin seq, batch, feature, end seq, batch, feature]
      std::vector<std::string> pads = d == 0 ? std::vector<std::string>{ctx_.constant_ints({0}), zeros, others, zeros}
                                             : std::vector<std::string>{others, zeros, ctx_.constant_ints({0}), zeros};
      features.push_back(ctx_.op("Pad", {state, ctx_.op("Concat", pads, {{"axis", int64_t{0}}})}));
    }
    return features;
  }

  // W_hrᵀ of each direction as [D, hidden, proj], to project [.., D, batch, hidden] results.
  std::string stack_projections(const std::vector<DirectionParams>& directions) {
    std::vector<std::string> transposed;
    for (const auto& p : directions) transposed.push_back(ctx_.op("Transpose", {p.w_hr}));
    return stack(transposed);
  }

  // Per-direction tensors stacked on a new leading axis.
  std::string stack(const std::vector<std::string>& tensors) {
    std::string axes = ctx_.constant_ints({0});
    std::vector<std::string> expanded;
    for (const auto& t : tensors) expanded.push_back(ctx_.op("Unsqueeze", {t, axes}));
    return expanded.size() == 1 ? expanded[0] : ctx_.op("Concat", expanded, {{"axis", int64_t{0}}});
  }

  std::vector<Attr> attributes(size_t directions, int64_t hidden) {
    std::vector<Attr> attrs{{"hidden_size", hidden},
                            {"direction", std::string(directions == 2 ? "bidirectional" : "forward")}};
    if (cell_ == Cell::kGru) attrs.push_back({"linear_before_reset", int64_t{1}});  // torch applies r after W_hn·h + b_hn
    if (cell_ == Cell::kRnnRelu) attrs.push_back({"activations", std::vector<std::string>(directions, "Relu")});
    return attrs;
  }

  ConversionContext& ctx_;
  Cell cell_;
  const CellSpec& spec_;
  at::ScalarType dtype_;
};

int64_t static_dim(const ConversionContext& ctx, const torch::jit::Value* v, size_t dim) {
  auto sizes = ctx.sizes(v);
  if (!sizes || sizes->size() <= dim) ctx.fail("the shape of parameter %" + v->debugName() + " is unknown");
  return (*sizes)[dim];
}

// aten::lstm/gru/rnn_*(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
// -> (output, h_n[, c_n]). params: per layer and direction w_ih, w_hh[, b_ih, b_hh][, w_hr].
void sequence(ConversionContext& ctx, const Node* n, Cell cell) {
  // The packed overload (data, batch_sizes, hx, params, has_biases, ...) has its flags one place later.
  if (n->inputs().size() != 9 || n->input(3)->type()->kind() != c10::TypeKind::BoolType) {
    ctx.fail("packed sequences (the data, batch_sizes overload) are not supported: run on a padded batch instead");
  }
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  if (ctx.rank(n->input(0)) != 3) ctx.fail("expected a 3-D input");
  bool has_biases = ctx.get_bool(n->input(3)), bidirectional = ctx.get_bool(n->input(7)), batch_first = ctx.get_bool(n->input(8));
  int64_t layers = ctx.get_int(n->input(4));
  if (layers < 1) ctx.fail("num_layers must be at least 1");
  if (ctx.get_bool(n->input(6)) && layers > 1 && ctx.get_double(n->input(5)) > 0) {
    ctx.fail("dropout between layers in training mode is random: export the model in eval mode");
  }
  const int64_t directions = bidirectional ? 2 : 1;
  auto params = ctx.list_elements(n->input(2));
  const size_t plain = 2 + (has_biases ? 2 : 0), count = static_cast<size_t>(layers * directions);
  const bool projected = cell == Cell::kLstm && params.size() == count * (plain + 1);
  const size_t stride = plain + (projected ? 1 : 0);
  if (params.size() != count * stride) {
    ctx.fail("expected " + std::to_string(count * plain) + " parameters, got " + std::to_string(params.size()));
  }

  std::string h0, c0;
  if (cell == Cell::kLstm) {
    auto states = ctx.list_elements(n->input(1));
    if (states.size() != 2) ctx.fail("expected hx = (h0, c0)");
    h0 = ctx.tensor_as(states[0], dtype);
    c0 = ctx.tensor_as(states[1], dtype);
  } else {
    h0 = ctx.tensor_as(n->input(1), dtype);
  }

  RecurrentBuilder builder(ctx, cell, dtype);
  std::string x = ctx.tensor_as(n->input(0), dtype);
  if (batch_first) x = ctx.op("Transpose", {x}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  std::vector<std::string> hs, cs;
  for (int64_t l = 0; l < layers; ++l) {
    std::vector<DirectionParams> layer;
    const size_t first = static_cast<size_t>(l * directions) * stride;
    for (int64_t d = 0; d < directions; ++d) {
      auto param = [&](size_t k) { return ctx.tensor_as(params[first + static_cast<size_t>(d) * stride + k], dtype); };
      layer.push_back({param(0), param(1), has_biases ? param(2) : "", has_biases ? param(3) : "", projected ? param(plain) : ""});
    }
    LayerShape shape{static_dim(ctx, params[first + 1], 0) / spec(cell).gates,
                     projected ? static_dim(ctx, params[first + plain], 0) : 0};
    auto slice = [&](const std::string& states) {  // this layer's [D, batch, hidden] of [layers·D, ...]
      if (layers == 1) return states;
      return ctx.op("Slice", {states, ctx.constant_ints({l * directions}), ctx.constant_ints({(l + 1) * directions}),
                              ctx.constant_ints({0})});
    };
    LayerOutputs out = builder.layer(x, layer, shape, slice(h0), cell == Cell::kLstm ? slice(c0) : "");
    // [seq, D, batch, hidden] → [seq, batch, D·hidden], the last layer's to [batch, seq, ...] with batch_first
    std::vector<int64_t> perm = batch_first && l + 1 == layers ? std::vector<int64_t>{2, 0, 1, 3} : std::vector<int64_t>{0, 2, 1, 3};
    x = ctx.op("Transpose", {out.y}, {{"perm", perm}});
    x = ctx.op("Reshape", {x, ctx.constant_ints({0, 0, -1})});
    hs.push_back(out.h);
    if (cell == Cell::kLstm) cs.push_back(out.c);
  }
  auto stacked = [&](const std::vector<std::string>& states) {
    return states.size() == 1 ? states[0] : ctx.op("Concat", states, {{"axis", int64_t{0}}});
  };
  ctx.bind(n->output(0), x);
  ctx.bind(n->output(1), stacked(hs));
  if (cell == Cell::kLstm) ctx.bind(n->output(2), stacked(cs));
}

// aten::lstm_cell(input, hx[h, c], w_ih, w_hh, b_ih?, b_hh?) -> (h, c);
// aten::gru_cell / rnn_*_cell(input, hx, w_ih, w_hh, b_ih?, b_hh?) -> h: one step of one layer.
void cell_step(ConversionContext& ctx, const Node* n, Cell cell) {
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  if (ctx.rank(n->input(0)) != 2) ctx.fail("expected a 2-D input [batch, features]");
  auto optional = [&](size_t i) { return ctx.is_none(n->input(i)) ? std::string() : ctx.tensor_as(n->input(i), dtype); };
  DirectionParams p{ctx.tensor_as(n->input(2), dtype), ctx.tensor_as(n->input(3), dtype), optional(4), optional(5), ""};
  LayerShape shape{static_dim(ctx, n->input(3), 0) / spec(cell).gates, 0};

  std::string axes = ctx.constant_ints({0});
  auto step = [&](const torch::jit::Value* v) { return ctx.op("Unsqueeze", {ctx.tensor_as(v, dtype), axes}); };
  std::string h0, c0;
  if (cell == Cell::kLstm) {
    auto states = ctx.list_elements(n->input(1));
    if (states.size() != 2) ctx.fail("expected hx = (h, c)");
    h0 = step(states[0]);
    c0 = step(states[1]);
  } else {
    h0 = step(n->input(1));
  }
  LayerOutputs out = RecurrentBuilder(ctx, cell, dtype).layer(step(n->input(0)), {p}, shape, h0, c0);
  ctx.bind(n->output(0), ctx.op("Squeeze", {out.h, axes}));
  if (cell == Cell::kLstm) ctx.bind(n->output(1), ctx.op("Squeeze", {out.c, axes}));
}

}  // namespace

void register_recurrent_ops(ConverterRegistry& r) {
  const std::pair<const char*, Cell> kinds[] = {
      {"lstm", Cell::kLstm}, {"gru", Cell::kGru}, {"rnn_tanh", Cell::kRnnTanh}, {"rnn_relu", Cell::kRnnRelu}};
  for (const auto& [name, cell] : kinds) {
    r.add(std::string("aten::") + name, [cell = cell](ConversionContext& ctx, const Node* n) { sequence(ctx, n, cell); });
    r.add(std::string("aten::") + name + "_cell",
          [cell = cell](ConversionContext& ctx, const Node* n) { cell_step(ctx, n, cell); });
  }
}

}  // namespace htp::exporter
