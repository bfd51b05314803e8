// Attention kernels that torch runs as one op: nn.MultiheadAttention's and
// nn.TransformerEncoderLayer's fast paths (eval mode, no autograd) and the 1.13
// _scaled_dot_product_attention. Each becomes MatMul / Softmax / LayerNormalization nodes, all
// tagged with the scope of the module that called the op.
#include "convert/registry.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace htp::exporter {
namespace {

using torch::jit::Node;
using torch::jit::Value;

struct Attention {
  std::string output;
  std::string weights;  // softmax probabilities, heads kept
};

// How a mask enters the scores: added (float), or a bool mask selecting the excluded positions.
struct Mask {
  std::string tensor;  // empty: no mask
  bool additive = false;
};

std::vector<int64_t> swap_last_two(int64_t rank) {
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) perm[static_cast<size_t>(d)] = d;
  std::swap(perm[static_cast<size_t>(rank - 2)], perm[static_cast<size_t>(rank - 1)]);
  return perm;
}

// softmax(q·kᵀ + mask)·v over the last two dims of rank-`rank` tensors; `q` carries the scale.
// Excluded positions get -inf, so their probability is exactly 0 (a row with every key excluded
// is NaN, as in torch).
Attention attend(ConversionContext& ctx, const std::string& q, const std::string& k, const std::string& v, int64_t rank,
                 const Mask& mask, at::ScalarType dtype) {
  std::string scores = ctx.op("MatMul", {q, ctx.op("Transpose", {k}, {{"perm", swap_last_two(rank)}})});
  if (!mask.tensor.empty()) {
    scores = mask.additive ? ctx.op("Add", {scores, mask.tensor})
                           : ctx.op("Where", {mask.tensor, ctx.scalar(-std::numeric_limits<double>::infinity(), dtype), scores});
  }
  std::string weights = ctx.op("Softmax", {scores}, {{"axis", int64_t{-1}}});
  return {ctx.op("MatMul", {weights, v}), weights};
}

// The packed parameters of torch's fused multi-head attention.
struct MultiHeadParams {
  int64_t embed_dim, heads;
  std::string in_weight, in_bias, out_weight, out_bias;  // (3E, E), (3E), (E, E), (E)
};

// q, k and v projections of (B, T, E) inputs: one MatMul on the packed weight when the three
// inputs are one tensor (self-attention, as torch's kernel does), one per input otherwise.
std::vector<std::string> in_projection(ConversionContext& ctx, const std::string& query, const std::string& key,
                                       const std::string& value, const MultiHeadParams& p) {
  std::string thirds = ctx.constant_ints({p.embed_dim, p.embed_dim, p.embed_dim});
  if (query == key && key == value) {
    std::string packed = emit_linear(ctx, query, 3, p.in_weight, p.in_bias);
    return ctx.op("Split", {packed, thirds}, 3, {{"axis", int64_t{-1}}});
  }
  auto weights = ctx.op("Split", {p.in_weight, thirds}, 3, {{"axis", int64_t{0}}});
  auto biases = ctx.op("Split", {p.in_bias, thirds}, 3, {{"axis", int64_t{0}}});
  std::vector<std::string> inputs{query, key, value};
  for (size_t i = 0; i < 3; ++i) inputs[i] = emit_linear(ctx, inputs[i], 3, weights[i], biases[i]);
  return inputs;
}

// (B, T, E) → (B, H, T, E/H) and back.
std::string split_heads(ConversionContext& ctx, const std::string& x, const MultiHeadParams& p) {
  std::string heads = ctx.op("Reshape", {x, ctx.constant_ints({0, 0, p.heads, p.embed_dim / p.heads})});
  return ctx.op("Transpose", {heads}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
}

std::string merge_heads(ConversionContext& ctx, const std::string& x, const MultiHeadParams& p) {
  std::string tokens = ctx.op("Transpose", {x}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
  return ctx.op("Reshape", {tokens, ctx.constant_ints({0, 0, p.embed_dim})});
}

// Multi-head attention as torch's fused kernel computes it on batch-first (B, L, E) query and
// (B, S, E) key/value: projections, q scaled by 1/√(E/H), per-head attention, out-projection.
// The weights come back per head, (B, H, L, S).
Attention multi_head(ConversionContext& ctx, const std::string& query, const std::string& key, const std::string& value,
                     const MultiHeadParams& p, const Mask& mask, at::ScalarType dtype) {
  if (p.heads <= 0 || p.embed_dim % p.heads != 0) ctx.fail("embed_dim is not a multiple of num_heads");
  auto qkv = in_projection(ctx, query, key, value, p);
  double scale = 1.0 / std::sqrt(static_cast<double>(p.embed_dim / p.heads));
  std::string q = ctx.op("Mul", {split_heads(ctx, qkv[0], p), ctx.scalar(scale, dtype)});
  Attention heads = attend(ctx, q, split_heads(ctx, qkv[1], p), split_heads(ctx, qkv[2], p), 4, mask, dtype);
  return {emit_linear(ctx, merge_heads(ctx, heads.output, p), 3, p.out_weight, p.out_bias), heads.weights};
}

// The optional mask of the fused kernels, True (or non-zero: torch converts a float mask to
// bool) where a key is excluded. A (B, S) key-padding mask (mask_type 1) applies to every head
// and query; mask_type 0 marks an (L, S) attention mask; a 4-D mask is per batch and head.
Mask fused_mask(ConversionContext& ctx, const Value* mask, const Value* mask_type) {
  if (ctx.is_none(mask)) return {};
  std::string excluded = ctx.tensor_as(mask, at::kBool);
  int64_t rank = ctx.rank(mask);
  if (rank == 4) return {excluded};
  if (rank != 2) ctx.fail("attention mask of rank " + std::to_string(rank) + "; torch takes (B, S), (L, S) or (B, H, L, S)");
  bool attention_mask = !ctx.is_none(mask_type) && ctx.get_int(mask_type) == 0;
  return {attention_mask ? excluded : ctx.op("Unsqueeze", {excluded, ctx.constant_ints({1, 2})})};
}

MultiHeadParams multi_head_params(ConversionContext& ctx, const Node* n, size_t first, at::ScalarType dtype) {
  return {ctx.get_int(n->input(first)), ctx.get_int(n->input(first + 1)), ctx.tensor_as(n->input(first + 2), dtype),
          ctx.tensor_as(n->input(first + 3), dtype), ctx.tensor_as(n->input(first + 4), dtype),
          ctx.tensor_as(n->input(first + 5), dtype)};
}

void require_batched(ConversionContext& ctx, const Value* v) {
  int64_t rank = ctx.rank(v);
  if (rank != 3) ctx.fail("expected a batch-first (B, T, E) input, got rank " + std::to_string(rank));
}

// aten::_native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, qkv_bias,
//   proj_weight, proj_bias, mask?, need_weights, average_attn_weights, mask_type?) -> (out, weights)
// Without need_weights, torch returns an undefined tensor as weights; it stays unbound, so a
// reader of it fails to convert.
void native_multi_head_attention(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  for (size_t i = 0; i < 3; ++i) require_batched(ctx, n->input(i));
  std::string query = ctx.tensor_as(n->input(0), dtype), key = ctx.tensor_as(n->input(1), dtype),
              value = ctx.tensor_as(n->input(2), dtype);
  Attention result = multi_head(ctx, query, key, value, multi_head_params(ctx, n, 3, dtype), fused_mask(ctx, n->input(9), n->input(12)), dtype);
  ctx.bind(n->output(0), result.output);
  if (!ctx.get_bool(n->input(10))) return;
  bool average = ctx.get_bool(n->input(11));
  ctx.bind(n->output(1), average ? ctx.op("ReduceMean", {result.weights}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}})
                                 : result.weights);
}

// aten::_transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight,
//   proj_bias, use_gelu, norm_first, eps, norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2,
//   ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2, mask?, mask_type?): self-attention and a
// relu/gelu feed-forward block, each with a residual, layer-normalized before (norm_first) or after.
void transformer_encoder_layer(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output());
  require_batched(ctx, n->input(0));
  bool use_gelu = ctx.get_bool(n->input(7)), norm_first = ctx.get_bool(n->input(8));
  float eps = static_cast<float>(ctx.get_double(n->input(9)));
  auto param = [&](size_t i) { return ctx.tensor_as(n->input(i), dtype); };
  auto norm = [&](const std::string& x, size_t weight) {
    return ctx.op("LayerNormalization", {x, param(weight), param(weight + 1)}, {{"axis", int64_t{-1}}, {"epsilon", eps}});
  };
  std::string src = ctx.tensor_as(n->input(0), dtype);
  std::string attention_in = norm_first ? norm(src, 10) : src;
  MultiHeadParams p = multi_head_params(ctx, n, 1, dtype);
  std::string attended = multi_head(ctx, attention_in, attention_in, attention_in, p, fused_mask(ctx, n->input(18), n->input(19)), dtype).output;
  std::string x = ctx.op("Add", {attended, src});
  if (!norm_first) x = norm(x, 10);
  std::string hidden = emit_linear(ctx, norm_first ? norm(x, 12) : x, 3, param(14), param(15));
  hidden = use_gelu ? emit_gelu(ctx, hidden, dtype, "none") : ctx.op("Relu", {hidden});
  x = ctx.op("Add", {emit_linear(ctx, hidden, 3, param(16), param(17)), x});
  ctx.bind(n->output(), norm_first ? x : norm(x, 12));
}

// Dims [from, to) of x's run-time shape.
std::string shape_dims(ConversionContext& ctx, const std::string& x, int64_t from, int64_t to) {
  return ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constant_ints({from}), ctx.constant_ints({to})});
}

// The positions is_causal excludes: above the diagonal of the (L, S) scores, L and S read from
// the run-time shapes of q and k.
std::string causal_excluded(ConversionContext& ctx, const std::string& q, const std::string& k, at::ScalarType dtype) {
  std::string shape = ctx.op("Concat", {shape_dims(ctx, q, -2, -1), shape_dims(ctx, k, -2, -1)}, {{"axis", int64_t{0}}});
  std::string ones = ctx.op("ConstantOfShape", {shape}, {{"value", at::ones({1}, at::TensorOptions().dtype(dtype))}});
  return ctx.op("Equal", {ctx.op("Trilu", {ones}, {{"upper", int64_t{0}}}), ctx.scalar(0, dtype)});
}

// aten::_scaled_dot_product_attention(query, key, value, attn_mask?, dropout_p, need_attn_weights,
//   is_causal) -> (output, weights), torch 1.13: softmax(q·kᵀ/√E + mask)·v, where a bool mask (or
// is_causal's lower triangle) marks the positions that take part and a float mask is added. The
// weights are returned whatever need_attn_weights says.
void scaled_dot_product_attention(ConversionContext& ctx, const Node* n) {
  at::ScalarType dtype = ctx.scalar_type(n->output(0));
  if (ctx.get_double(n->input(4)) > 0.0) ctx.fail("dropout_p > 0 drops attention weights at random");
  std::string q = ctx.tensor_as(n->input(0), dtype), k = ctx.tensor_as(n->input(1), dtype);
  Mask mask;
  if (ctx.get_bool(n->input(6))) {
    if (!ctx.is_none(n->input(3))) ctx.fail("is_causal with an explicit attn_mask");
    mask.tensor = causal_excluded(ctx, q, k, dtype);
  } else if (!ctx.is_none(n->input(3))) {
    mask.additive = ctx.scalar_type(n->input(3)) != at::kBool;
    mask.tensor = mask.additive ? ctx.tensor_as(n->input(3), dtype) : ctx.op("Not", {ctx.tensor(n->input(3))});
  }
  std::string embed = ctx.cast(shape_dims(ctx, q, -1, std::numeric_limits<int64_t>::max()), dtype);
  std::string scaled = ctx.op("Div", {q, ctx.op("Sqrt", {embed})});
  Attention result = attend(ctx, scaled, k, ctx.tensor_as(n->input(2), dtype), ctx.rank(n->input(0)), mask, dtype);
  ctx.bind(n->output(0), result.output);
  ctx.bind(n->output(1), result.weights);
}

}  // namespace

void register_attention_ops(ConverterRegistry& r) {
  r.add("aten::_native_multi_head_attention", native_multi_head_attention);
  r.add("aten::_transformer_encoder_layer_fwd", transformer_encoder_layer);
  r.add("aten::_scaled_dot_product_attention", scaled_dot_product_attention);
}

}  // namespace htp::exporter
