// Loss functions, each decomposed as torch computes it, with torch's reductions (0 none, 1 mean,
// 2 sum), class weights, ignore_index and label smoothing.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <cmath>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// torch's Reduction enum applied to a per-element loss: mean or sum of every element, or none.
std::string reduce_loss(ConversionContext& ctx, const std::string& loss, int64_t reduction) {
  if (reduction == 0) return loss;
  if (reduction != 1 && reduction != 2) ctx.fail("unknown reduction " + std::to_string(reduction));
  return emit_reduce(ctx, reduction == 1 ? "ReduceMean" : "ReduceSum", loss, {}, false);
}

std::string onnx_reduction(ConversionContext& ctx, int64_t reduction) {
  if (reduction < 0 || reduction > 2) ctx.fail("unknown reduction " + std::to_string(reduction));
  return reduction == 0 ? "none" : reduction == 1 ? "mean" : "sum";
}

// Emits the per-element loss of two operands in the output dtype, then reduces it.
Converter pointwise_loss(size_t reduction_input,
                         std::function<std::string(ConversionContext&, const Node*, const std::string&, const std::string&, at::ScalarType)> loss) {
  return [reduction_input, loss](ConversionContext& ctx, const Node* n) {
    at::ScalarType dtype = ctx.scalar_type(n->output());
    std::string x = ctx.tensor_as(n->input(0), dtype), y = ctx.tensor_as(n->input(1), dtype);
    ctx.bind(n->output(), reduce_loss(ctx, loss(ctx, n, x, y, dtype), ctx.get_int(n->input(reduction_input))));
  };
}

std::string abs_diff(ConversionContext& ctx, const std::string& x, const std::string& y) {
  return ctx.op("Abs", {ctx.op("Sub", {x, y})});
}

std::string half_square(ConversionContext& ctx, const std::string& z, at::ScalarType dtype) {
  return ctx.op("Mul", {ctx.op("Mul", {z, z}), ctx.scalar(0.5, dtype)});
}

// smooth_l1: z < beta ? 0.5·z²/beta : z - 0.5·beta (the l1 loss for beta = 0).
std::string smooth_l1(ConversionContext& ctx, const Node* n, const std::string& x, const std::string& y, at::ScalarType dtype) {
  double beta = ctx.get_double(n->input(3));
  std::string z = abs_diff(ctx, x, y);
  if (beta == 0.0) return z;
  std::string quadratic = ctx.op("Div", {half_square(ctx, z, dtype), ctx.scalar(beta, dtype)});
  std::string linear = ctx.op("Sub", {z, ctx.scalar(0.5 * beta, dtype)});
  return ctx.op("Where", {ctx.op("Less", {z, ctx.scalar(beta, dtype)}), quadratic, linear});
}

// huber: z < delta ? 0.5·z² : delta·(z - 0.5·delta).
std::string huber(ConversionContext& ctx, const Node* n, const std::string& x, const std::string& y, at::ScalarType dtype) {
  double delta = ctx.get_double(n->input(3));
  std::string z = abs_diff(ctx, x, y);
  std::string linear = ctx.op("Mul", {ctx.op("Sub", {z, ctx.scalar(0.5 * delta, dtype)}), ctx.scalar(delta, dtype)});
  return ctx.op("Where", {ctx.op("Less", {z, ctx.scalar(delta, dtype)}), half_square(ctx, z, dtype), linear});
}

// kl_div(input, target, reduction, log_target): target·(log target - input) with 0·log 0 = 0, or
// exp(target)·(target - input) for a log target.
std::string kl_div(ConversionContext& ctx, const Node* n, const std::string& input, const std::string& target, at::ScalarType dtype) {
  if (ctx.get_bool(n->input(3))) return ctx.op("Mul", {ctx.op("Exp", {target}), ctx.op("Sub", {target, input})});
  std::string zero = ctx.scalar(0, dtype);
  std::string xlogx = ctx.op("Where", {ctx.op("Equal", {target, zero}), zero, ctx.op("Mul", {target, ctx.op("Log", {target})})});
  return ctx.op("Sub", {xlogx, ctx.op("Mul", {target, input})});
}

// soft_margin: log(1 + exp(-target·input)).
std::string soft_margin(ConversionContext& ctx, const Node*, const std::string& input, const std::string& target, at::ScalarType dtype) {
  std::string exp = ctx.op("Exp", {ctx.op("Neg", {ctx.op("Mul", {input, target})})});
  return ctx.op("Log", {ctx.op("Add", {exp, ctx.scalar(1, dtype)})});
}

// hinge_embedding: (target != 1 ? max(0, margin - x) : 0) + (target != -1 ? x : 0).
std::string hinge_embedding(ConversionContext& ctx, const Node* n, const std::string& x, const std::string& target, at::ScalarType dtype) {
  std::string zero = ctx.scalar(0, dtype);
  std::string margin = ctx.op("Relu", {ctx.op("Sub", {ctx.scalar(ctx.get_double(n->input(2)), dtype), x})});
  std::string margin_part = ctx.op("Where", {ctx.op("Equal", {target, ctx.scalar(1, dtype)}), zero, margin});
  std::string self_part = ctx.op("Where", {ctx.op("Equal", {target, ctx.scalar(-1, dtype)}), zero, x});
  return ctx.op("Add", {margin_part, self_part});
}

// An optional weight tensor multiplied into the loss (broadcast).
std::string weighted(ConversionContext& ctx, const std::string& loss, const Value* weight, at::ScalarType dtype) {
  return ctx.is_none(weight) ? loss : ctx.op("Mul", {loss, ctx.tensor_as(weight, dtype)});
}

// aten::binary_cross_entropy(input, target, weight?, reduction):
// (target - 1)·max(log(1 - x), -100) - target·max(log x, -100), the logs clamped as torch does.
void binary_cross_entropy(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = ctx.tensor_as(n->input(0), dtype), t = ctx.tensor_as(n->input(1), dtype);
  std::string one = ctx.scalar(1, dtype), floor = ctx.scalar(-100, dtype);
  std::string log_x = ctx.op("Max", {ctx.op("Log", {x}), floor});
  std::string log_not_x = ctx.op("Max", {ctx.op("Log", {ctx.op("Sub", {one, x})}), floor});
  std::string loss = ctx.op("Sub", {ctx.op("Mul", {ctx.op("Sub", {t, one}), log_not_x}), ctx.op("Mul", {t, log_x})});
  ctx.bind(n->output(), reduce_loss(ctx, weighted(ctx, loss, n->input(2), dtype), ctx.get_int(n->input(3))));
}

// aten::binary_cross_entropy_with_logits(input, target, weight?, pos_weight?, reduction):
// (1 - t)·x - (1 + (pos_weight - 1)·t)·log σ(x).
void binary_cross_entropy_with_logits(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = ctx.tensor_as(n->input(0), dtype), t = ctx.tensor_as(n->input(1), dtype);
  std::string one = ctx.scalar(1, dtype);
  std::string log_sigmoid = emit_log_sigmoid(ctx, x, dtype);
  if (!ctx.is_none(n->input(3))) {
    std::string pos_weight = ctx.tensor_as(n->input(3), dtype);
    std::string log_weight = ctx.op("Add", {ctx.op("Mul", {ctx.op("Sub", {pos_weight, one}), t}), one});
    log_sigmoid = ctx.op("Mul", {log_sigmoid, log_weight});
  }
  std::string loss = ctx.op("Sub", {ctx.op("Mul", {ctx.op("Sub", {one, t}), x}), log_sigmoid});
  ctx.bind(n->output(), reduce_loss(ctx, weighted(ctx, loss, n->input(2), dtype), ctx.get_int(n->input(4))));
}

// aten::poisson_nll_loss(input, target, log_input, full, eps, reduction): exp(x) - t·x for a log
// input, else x - t·log(x + eps); `full` adds Stirling's t·log t - t + ½·log(2πt) where t > 1.
void poisson_nll_loss(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string x = ctx.tensor_as(n->input(0), dtype), t = ctx.tensor_as(n->input(1), dtype);
  std::string loss = ctx.get_bool(n->input(2))
                         ? ctx.op("Sub", {ctx.op("Exp", {x}), ctx.op("Mul", {t, x})})
                         : ctx.op("Sub", {x, ctx.op("Mul", {t, ctx.op("Log", {ctx.op("Add", {x, ctx.scalar(ctx.get_double(n->input(4)), dtype)})})})});
  if (ctx.get_bool(n->input(3))) {
    std::string t_log_t = ctx.op("Sub", {ctx.op("Mul", {t, ctx.op("Log", {t})}), t});
    std::string log_2pi_t = ctx.op("Log", {ctx.op("Mul", {t, ctx.scalar(2 * M_PI, dtype)})});
    std::string stirling = ctx.op("Add", {t_log_t, ctx.op("Mul", {log_2pi_t, ctx.scalar(0.5, dtype)})});
    std::string small = ctx.op("LessOrEqual", {t, ctx.scalar(1, dtype)});
    loss = ctx.op("Add", {loss, ctx.op("Where", {small, ctx.scalar(0, dtype), stirling})});
  }
  ctx.bind(n->output(), reduce_loss(ctx, loss, ctx.get_int(n->input(5))));
}

// aten::margin_ranking_loss(x1, x2, target, margin, reduction): max(0, -target·(x1 - x2) + margin).
void margin_ranking_loss(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string diff = ctx.op("Sub", {ctx.tensor_as(n->input(0), dtype), ctx.tensor_as(n->input(1), dtype)});
  std::string margin = ctx.scalar(ctx.get_double(n->input(3)), dtype);
  std::string loss = ctx.op("Relu", {ctx.op("Sub", {margin, ctx.op("Mul", {ctx.tensor_as(n->input(2), dtype), diff})})});
  ctx.bind(n->output(), reduce_loss(ctx, loss, ctx.get_int(n->input(4))));
}

// aten::cosine_embedding_loss(x1, x2, target, margin, reduction): the cosine over the dim after
// the target's (with 1e-12 added to each squared norm, as torch does); 1 - cos where target = 1,
// max(0, cos - margin) where target = -1.
void cosine_embedding_loss(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  std::string a = ctx.tensor_as(n->input(0), dtype), b = ctx.tensor_as(n->input(1), dtype);
  std::vector<int64_t> axis{ctx.rank(n->input(2))};
  auto dot = [&](const std::string& u, const std::string& v) { return emit_reduce(ctx, "ReduceSum", ctx.op("Mul", {u, v}), axis, false); };
  std::string eps = ctx.scalar(1e-12, dtype);
  std::string denom = ctx.op("Sqrt", {ctx.op("Mul", {ctx.op("Add", {dot(a, a), eps}), ctx.op("Add", {dot(b, b), eps})})});
  std::string cos = ctx.op("Div", {dot(a, b), denom});
  std::string target = ctx.tensor_as(n->input(2), dtype), zero = ctx.scalar(0, dtype);
  std::string pos = ctx.op("Where", {ctx.op("Equal", {target, ctx.scalar(1, dtype)}), ctx.op("Sub", {ctx.scalar(1, dtype), cos}), zero});
  std::string neg = ctx.op("Relu", {ctx.op("Sub", {cos, ctx.scalar(ctx.get_double(n->input(3)), dtype)})});
  neg = ctx.op("Where", {ctx.op("Equal", {target, ctx.scalar(-1, dtype)}), neg, zero});
  ctx.bind(n->output(), reduce_loss(ctx, ctx.op("Add", {pos, neg}), ctx.get_int(n->input(4))));
}

// aten::triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction):
// max(0, margin + d(a, p) - d(a, n)) with d the pairwise distance; `swap` takes min(d(a, n), d(p, n)).
void triplet_margin_loss(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  double p = ctx.get_double(n->input(4)), eps = ctx.get_double(n->input(5));
  auto distance = [&](const Value* u, const Value* v) { return emit_pairwise_distance(ctx, u, v, p, eps, false, dtype); };
  std::string positive = distance(n->input(0), n->input(1));
  std::string negative = distance(n->input(0), n->input(2));
  if (ctx.get_bool(n->input(6))) negative = ctx.op("Min", {negative, distance(n->input(1), n->input(2))});
  std::string gap = ctx.op("Sub", {ctx.op("Add", {ctx.scalar(ctx.get_double(n->input(3)), dtype), positive}), negative});
  ctx.bind(n->output(), reduce_loss(ctx, ctx.op("Relu", {gap}), ctx.get_int(n->input(7))));
}

// The size of dim `axis` of `x` as a 0-d tensor of `dtype` (known at run time).
std::string dim_size(ConversionContext& ctx, const std::string& x, int64_t axis, at::ScalarType dtype) {
  std::string size = ctx.op("Gather", {ctx.op("Shape", {x}), ctx.constant(at::scalar_tensor(axis, at::kLong))}, {{"axis", int64_t{0}}});
  return dtype == at::kLong ? size : ctx.cast(size, dtype);
}

// One sample ([C], or a 0-d input as one class) as a batch [1, C]; the margin losses work on batches.
std::string batched(ConversionContext& ctx, const std::string& x, bool unbatched) {
  return unbatched ? ctx.op("Reshape", {x, ctx.constant_ints({1, -1})}) : x;
}

// The per-sample loss [N] back to the caller's shape (a scalar for one sample), then reduced.
std::string finish_samples(ConversionContext& ctx, std::string loss, bool unbatched, int64_t reduction) {
  if (unbatched) loss = ctx.op("Squeeze", {loss, ctx.constant_ints({0})});
  return reduce_loss(ctx, loss, reduction);
}

// aten::multi_margin_loss(input [N, C] | [C], target, p, margin, weight?, reduction): per sample,
// Σ_{i ≠ y} max(0, margin - x[y] + x[i])^p · weight[y] / C.
void multi_margin_loss(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  double p = ctx.get_double(n->input(2));
  if (p != 1.0 && p != 2.0) ctx.fail("multi_margin_loss supports p = 1 and 2 only, as torch does");
  bool unbatched = ctx.rank(n->input(0)) <= 1;
  std::string x = batched(ctx, ctx.tensor_as(n->input(0), dtype), unbatched);
  std::string target = ctx.op("Reshape", {ctx.tensor_as(n->input(1), at::kLong), ctx.constant_ints({-1, 1})});
  std::string x_target = ctx.op("GatherElements", {x, target}, {{"axis", int64_t{1}}});
  std::string margin = ctx.scalar(ctx.get_double(n->input(3)), dtype);
  std::string hinge = ctx.op("Relu", {ctx.op("Add", {ctx.op("Sub", {margin, x_target}), x})});
  if (p == 2.0) hinge = ctx.op("Mul", {hinge, hinge});
  std::string classes = ctx.op("Range", {ctx.constant(at::scalar_tensor(0, at::kLong)), dim_size(ctx, x, 1, at::kLong),
                                         ctx.constant(at::scalar_tensor(1, at::kLong))});
  hinge = ctx.op("Where", {ctx.op("Equal", {classes, target}), ctx.scalar(0, dtype), hinge});
  if (!ctx.is_none(n->input(4))) {
    std::string w = ctx.op("Gather", {ctx.tensor_as(n->input(4), dtype), target}, {{"axis", int64_t{0}}});
    hinge = ctx.op("Mul", {hinge, w});
  }
  std::string loss = ctx.op("Div", {emit_reduce(ctx, "ReduceSum", hinge, {1}, false), dim_size(ctx, x, 1, dtype)});
  ctx.bind(n->output(), finish_samples(ctx, loss, unbatched, ctx.get_int(n->input(5))));
}

// aten::multilabel_margin_loss(input [N, C] | [C], target, reduction): the target lists class
// indices up to the first -1. Per sample, Σ over listed positions j and unlisted classes i of
// max(0, 1 - (x[target[j]] - x[i])) / C (a class listed twice counts twice, as in torch's loop).
void multilabel_margin_loss(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  bool unbatched = ctx.rank(n->input(0)) <= 1;
  std::string x = batched(ctx, ctx.tensor_as(n->input(0), dtype), unbatched);
  std::string target = batched(ctx, ctx.tensor_as(n->input(1), at::kLong), unbatched);
  std::string zero_i = ctx.constant(at::scalar_tensor(0, at::kLong));
  std::string ended = ctx.cast(ctx.op("Equal", {target, ctx.constant(at::scalar_tensor(-1, at::kLong))}), at::kLong);
  std::string listed = ctx.op("Equal", {ctx.op("CumSum", {ended, ctx.constant(at::scalar_tensor(1, at::kLong))}), zero_i});  // [N, K]
  std::string classes = ctx.op("Range", {zero_i, dim_size(ctx, x, 1, at::kLong), ctx.constant(at::scalar_tensor(1, at::kLong))});
  std::string unsqueeze_last = ctx.constant_ints({-1});
  std::string hits = ctx.op("And", {ctx.op("Equal", {ctx.op("Unsqueeze", {target, unsqueeze_last}), classes}),
                                    ctx.op("Unsqueeze", {listed, unsqueeze_last})});                    // [N, K, C]
  std::string is_target = ctx.op("ReduceMax", {ctx.cast(hits, at::kLong)}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}});
  std::string x_listed = ctx.op("GatherElements", {x, ctx.op("Max", {target, zero_i})}, {{"axis", int64_t{1}}});  // [N, K]
  std::string margin = ctx.op("Sub", {ctx.scalar(1, dtype), ctx.op("Unsqueeze", {x_listed, unsqueeze_last})});
  std::string hinge = ctx.op("Relu", {ctx.op("Add", {margin, ctx.op("Unsqueeze", {x, ctx.constant_ints({1})})})});  // [N, K, C]
  std::string counted = ctx.op("And", {ctx.op("Unsqueeze", {listed, unsqueeze_last}), ctx.op("Equal", {is_target, zero_i})});
  hinge = ctx.op("Where", {counted, hinge, ctx.scalar(0, dtype)});
  std::string loss = ctx.op("Div", {emit_reduce(ctx, "ReduceSum", hinge, {1, 2}, false), dim_size(ctx, x, 1, dtype)});
  ctx.bind(n->output(), finish_samples(ctx, loss, unbatched, ctx.get_int(n->input(2))));
}

// Negative log-likelihood of log-probabilities [N, C, d...] or [C] at class indices: ONNX
// NegativeLogLikelihoodLoss has torch's weight, ignore_index and mean-over-weights semantics.
std::string nll(ConversionContext& ctx, const std::string& log_probs, bool unbatched, const Value* target, const Value* weight,
                int64_t reduction, int64_t ignore_index, at::ScalarType dtype) {
  std::string targets = ctx.tensor_as(target, at::kLong);
  if (unbatched) targets = ctx.op("Unsqueeze", {targets, ctx.constant_ints({0})});
  std::vector<std::string> inputs{batched(ctx, log_probs, unbatched), targets};
  if (!ctx.is_none(weight)) inputs.push_back(ctx.tensor_as(weight, dtype));
  std::string loss = ctx.op("NegativeLogLikelihoodLoss", inputs,
                            {{"reduction", onnx_reduction(ctx, reduction)}, {"ignore_index", ignore_index}});
  return unbatched && reduction == 0 ? ctx.op("Squeeze", {loss, ctx.constant_ints({0})}) : loss;
}

// aten::nll_loss_nd / nll_loss / nll_loss2d(input, target, weight?, reduction, ignore_index)
void nll_loss(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  ctx.bind(n->output(), nll(ctx, ctx.tensor_as(n->input(0), dtype), ctx.rank(n->input(0)) == 1, n->input(1), n->input(2),
                            ctx.get_int(n->input(3)), ctx.get_int(n->input(4)), dtype));
}

// Cross entropy against class probabilities: -Σ_c weight[c]·target[c]·log_softmax(x)[c], the mean
// dividing by the number of samples (every element but the class dim).
std::string cross_entropy_probabilities(ConversionContext& ctx, const Node* n, const std::string& log_probs, int64_t class_dim,
                                        double label_smoothing, int64_t reduction, at::ScalarType dtype) {
  std::string target = ctx.tensor_as(n->input(1), dtype);
  std::string classes = dim_size(ctx, log_probs, class_dim, dtype);
  if (label_smoothing > 0) {
    std::string kept = ctx.op("Mul", {target, ctx.scalar(1 - label_smoothing, dtype)});
    target = ctx.op("Add", {kept, ctx.op("Div", {ctx.scalar(label_smoothing, dtype), classes})});
  }
  std::string terms = ctx.op("Mul", {log_probs, target});
  if (!ctx.is_none(n->input(2))) {
    std::vector<int64_t> shape(static_cast<size_t>(ctx.rank(n->input(0)) - class_dim), 1);
    shape[0] = -1;
    terms = ctx.op("Mul", {terms, ctx.op("Reshape", {ctx.tensor_as(n->input(2), dtype), ctx.constant_ints(shape)})});
  }
  std::string per_sample = ctx.op("Neg", {emit_reduce(ctx, "ReduceSum", terms, {class_dim}, false)});
  if (reduction != 1) return reduce_loss(ctx, per_sample, reduction);
  std::string samples = ctx.op("Div", {ctx.cast(ctx.op("Size", {log_probs}), dtype), classes});
  return ctx.op("Div", {emit_reduce(ctx, "ReduceSum", per_sample, {}, false), samples});
}

// Label smoothing for class indices, as torch adds it to the nll term: (1 - ε)·nll + ε/C·smooth with
// smooth = -Σ_c weight[c]·log_softmax(x)[c] (0 at ignored targets), reduced like nll: the weighted
// mean divides by the weights of the kept targets, the plain mean by every element.
std::string smoothing_term(ConversionContext& ctx, const Node* n, const std::string& log_probs, int64_t class_dim, int64_t reduction,
                           int64_t ignore_index, at::ScalarType dtype) {
  std::string terms = log_probs;
  bool has_weight = !ctx.is_none(n->input(2));
  std::string weight = has_weight ? ctx.tensor_as(n->input(2), dtype) : "";
  if (has_weight) {
    std::vector<int64_t> shape(static_cast<size_t>(ctx.rank(n->input(0)) - class_dim), 1);
    shape[0] = -1;
    terms = ctx.op("Mul", {terms, ctx.op("Reshape", {weight, ctx.constant_ints(shape)})});
  }
  std::string smooth = ctx.op("Neg", {emit_reduce(ctx, "ReduceSum", terms, {class_dim}, false)});
  std::string target = ctx.tensor_as(n->input(1), at::kLong);
  std::string ignored = ctx.op("Equal", {target, ctx.constant(at::scalar_tensor(ignore_index, at::kLong))});
  std::string zero = ctx.scalar(0, dtype);
  smooth = ctx.op("Where", {ignored, zero, smooth});
  if (reduction != 1 || !has_weight) return reduce_loss(ctx, smooth, reduction);
  std::string safe_target = ctx.op("Where", {ignored, ctx.constant(at::scalar_tensor(0, at::kLong)), target});
  std::string target_weights = ctx.op("Where", {ignored, zero, ctx.op("Gather", {weight, safe_target}, {{"axis", int64_t{0}}})});
  return ctx.op("Div", {emit_reduce(ctx, "ReduceSum", smooth, {}, false), emit_reduce(ctx, "ReduceSum", target_weights, {}, false)});
}

// aten::cross_entropy_loss(input, target, weight?, reduction, ignore_index, label_smoothing):
// log_softmax over the class dim (1, or 0 for one sample), then nll for class indices or the
// probability form for a floating target.
void cross_entropy_loss(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  int64_t class_dim = ctx.rank(n->input(0)) == 1 ? 0 : 1;
  std::string log_probs = ctx.op("LogSoftmax", {ctx.tensor_as(n->input(0), dtype)}, {{"axis", class_dim}});
  int64_t reduction = ctx.get_int(n->input(3));
  double label_smoothing = ctx.get_double(n->input(5));
  if (at::isFloatingType(ctx.scalar_type(n->input(1)))) {
    return ctx.bind(n->output(), cross_entropy_probabilities(ctx, n, log_probs, class_dim, label_smoothing, reduction, dtype));
  }
  int64_t ignore_index = ctx.get_int(n->input(4));
  std::string loss = nll(ctx, log_probs, class_dim == 0, n->input(1), n->input(2), reduction, ignore_index, dtype);
  if (label_smoothing > 0) {
    std::string smooth = smoothing_term(ctx, n, log_probs, class_dim, reduction, ignore_index, dtype);
    std::string share = ctx.op("Div", {ctx.scalar(label_smoothing, dtype), dim_size(ctx, log_probs, class_dim, dtype)});
    loss = ctx.op("Add", {ctx.op("Mul", {loss, ctx.scalar(1 - label_smoothing, dtype)}), ctx.op("Mul", {smooth, share})});
  }
  ctx.bind(n->output(), loss);
}

}  // namespace

void register_loss_ops(ConverterRegistry& r) {
  using Ctx = ConversionContext;
  using S = const std::string&;
  r.add("aten::l1_loss", pointwise_loss(2, [](Ctx& ctx, const Node*, S x, S y, at::ScalarType) { return abs_diff(ctx, x, y); }));
  r.add("aten::mse_loss", pointwise_loss(2, [](Ctx& ctx, const Node*, S x, S y, at::ScalarType) {
          std::string d = ctx.op("Sub", {x, y});
          return ctx.op("Mul", {d, d});
        }));
  r.add("aten::smooth_l1_loss", pointwise_loss(2, smooth_l1));
  r.add("aten::huber_loss", pointwise_loss(2, huber));
  r.add("aten::kl_div", pointwise_loss(2, kl_div));
  r.add("aten::soft_margin_loss", pointwise_loss(2, soft_margin));
  r.add("aten::hinge_embedding_loss", pointwise_loss(3, hinge_embedding));
  r.add("aten::binary_cross_entropy", binary_cross_entropy);
  r.add("aten::binary_cross_entropy_with_logits", binary_cross_entropy_with_logits);
  r.add("aten::poisson_nll_loss", poisson_nll_loss);
  r.add("aten::margin_ranking_loss", margin_ranking_loss);
  r.add("aten::cosine_embedding_loss", cosine_embedding_loss);
  r.add("aten::triplet_margin_loss", triplet_margin_loss);
  r.add("aten::multi_margin_loss", multi_margin_loss);
  r.add("aten::multilabel_margin_loss", multilabel_margin_loss);
  for (const char* kind : {"aten::nll_loss_nd", "aten::nll_loss", "aten::nll_loss2d"}) r.add(kind, nll_loss);
  r.add("aten::cross_entropy_loss", cross_entropy_loss);
}

}  // namespace htp::exporter
