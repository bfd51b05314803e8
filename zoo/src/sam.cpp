// The image encoder of Segment Anything's ViT-B (segment_anything/modeling/image_encoder.py, built as
// build_sam.py's build_sam_vit_b: embed dim 768, depth 12, 12 heads, window 14, global attention in
// blocks 2, 5, 8 and 11, relative positions, 1024x1024 images). The root is Sam with its image_encoder
// only, so module paths and parameter names are those of sam_vit_b_01ec64.pth's image_encoder.* entries.
//
// Shapes: the image size is fixed at 1024 (pos_embed is 64x64 patches), so the window partition's
// padding (64 -> 70) and every reshape it needs are constants of the trace; the batch stays symbolic.
#include "dynamic_shape.h"
#include "families.h"
#include "init.h"
#include "leaf_modules.h"
#include "htp/zoo/scoped.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace htp::zoo {
namespace {

constexpr int64_t kImageSize = 1024;
constexpr int64_t kPatch = 16;
constexpr int64_t kGrid = kImageSize / kPatch;  // 64 patches a side
constexpr int64_t kWidth = 768;
constexpr int64_t kDepth = 12;
constexpr int64_t kHeads = 12;
constexpr int64_t kHeadDim = kWidth / kHeads;
constexpr int64_t kMlpWidth = 4 * kWidth;
constexpr int64_t kWindow = 14;
constexpr std::array<int64_t, 4> kGlobalBlocks = {2, 5, 8, 11};
constexpr int64_t kOutChannels = 256;
constexpr double kNormEps = 1e-6;

bool is_global(int64_t block) {
  return std::find(kGlobalBlocks.begin(), kGlobalBlocks.end(), block) != kGlobalBlocks.end();
}

class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl()
      : proj_(register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, kWidth, kPatch).stride(kPatch)))) {}
  // [B, 3, 1024, 1024] -> [B, 64, 64, 768]
  torch::Tensor forward(const torch::Tensor& x) { return call(*this, proj_, x).permute({0, 2, 3, 1}); }

 private:
  torch::nn::Conv2d proj_;
};
TORCH_MODULE(PatchEmbed);

// get_rel_pos for equal query and key sizes (every use here): the table row of each (query, key)
// offset, [size, size, head_dim].
torch::Tensor relative_positions(int64_t size, const torch::Tensor& table) {
  const auto coords = torch::arange(size).unsqueeze(1) - torch::arange(size).unsqueeze(0) + (size - 1);
  return table.index({coords});
}

// Multi-head attention over a [B, H, W, C] grid with decomposed relative positions (add_decomposed_rel_pos).
class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(int64_t side)
      : rel_pos_h(register_parameter("rel_pos_h", torch::zeros({2 * side - 1, kHeadDim}))),
        rel_pos_w(register_parameter("rel_pos_w", torch::zeros({2 * side - 1, kHeadDim}))),
        qkv_(register_module("qkv", Linear(kWidth, 3 * kWidth))),
        proj_(register_module("proj", Linear(kWidth, kWidth))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const Size batch = Size::of(x, 0);
    const int64_t h = x.size(1), w = x.size(2);
    const auto qkv = reshape(call(*this, qkv_, x), {batch, h * w, 3, kHeads, -1}).permute({2, 0, 3, 1, 4});
    const auto parts = reshape(qkv, {3, batch * kHeads, h * w, -1}).unbind(0);
    const auto& q = parts[0];
    auto attn = torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(kHeadDim))), parts[1].transpose(-2, -1));
    attn = add_relative_positions(attn, q, batch * kHeads, h, w).softmax(-1);
    const auto out = view(torch::matmul(attn, parts[2]), {batch, kHeads, h, w, -1}).permute({0, 2, 3, 1, 4});
    return call(*this, proj_, reshape(out, {batch, h, w, -1}));
  }

  torch::Tensor rel_pos_h;
  torch::Tensor rel_pos_w;

 private:
  torch::Tensor add_relative_positions(const torch::Tensor& attn, const torch::Tensor& q, const Size& heads_batch, int64_t h,
                                       int64_t w) const {
    const auto r_q = reshape(q, {heads_batch, h, w, kHeadDim});
    const auto rel_h = torch::einsum("bhwc,hkc->bhwk", {r_q, relative_positions(h, rel_pos_h)});
    const auto rel_w = torch::einsum("bhwc,wkc->bhwk", {r_q, relative_positions(w, rel_pos_w)});
    const auto grid = view(attn, {heads_batch, h, w, h, w}) + rel_h.unsqueeze(4) + rel_w.unsqueeze(3);
    return view(grid, {heads_batch, h * w, h * w});
  }

  Linear qkv_;
  Linear proj_;
};
TORCH_MODULE(Attention);

class MLPBlockImpl : public torch::nn::Module {
 public:
  MLPBlockImpl()
      : lin1_(register_module("lin1", Linear(kWidth, kMlpWidth))),
        lin2_(register_module("lin2", Linear(kMlpWidth, kWidth))),
        act_(register_module("act", torch::nn::GELU())) {}
  torch::Tensor forward(const torch::Tensor& x) { return call(*this, lin2_, call(*this, act_, call(*this, lin1_, x))); }

 private:
  Linear lin1_;
  Linear lin2_;
  torch::nn::GELU act_;
};
TORCH_MODULE(MLPBlock);

// window_partition: [B, H, W, C] padded at the end to multiples of the window, then cut into
// [B * windows, window, window, C].
torch::Tensor window_partition(const torch::Tensor& x, const Size& batch) {
  const int64_t h = x.size(1), w = x.size(2);
  const int64_t pad_h = (kWindow - h % kWindow) % kWindow, pad_w = (kWindow - w % kWindow) % kWindow;
  const auto padded = pad_h > 0 || pad_w > 0 ? torch::constant_pad_nd(x, {0, 0, 0, pad_w, 0, pad_h}) : x;
  const int64_t hp = h + pad_h, wp = w + pad_w;
  const auto cut = view(padded, {batch, hp / kWindow, kWindow, wp / kWindow, kWindow, kWidth});
  return view(cut.permute({0, 1, 3, 2, 4, 5}).contiguous(), {-1, kWindow, kWindow, kWidth});
}

// window_unpartition: the windows back to [B, Hp, Wp, C], then the padding cut off.
torch::Tensor window_unpartition(const torch::Tensor& windows, const Size& batch, int64_t h, int64_t w) {
  const int64_t hp = (h + kWindow - 1) / kWindow * kWindow, wp = (w + kWindow - 1) / kWindow * kWindow;
  const auto grid = view(windows, {batch, hp / kWindow, wp / kWindow, kWindow, kWindow, -1});
  const auto x = view(grid.permute({0, 1, 3, 2, 4, 5}).contiguous(), {batch, hp, wp, -1});
  return hp > h || wp > w ? x.slice(1, 0, h).slice(2, 0, w).contiguous() : x;
}

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(bool global)
      : window_(global ? 0 : kWindow),
        norm1_(register_module("norm1", layer_norm())),
        attn_(register_module("attn", Attention(global ? kGrid : kWindow))),
        norm2_(register_module("norm2", layer_norm())),
        mlp_(register_module("mlp", MLPBlock())) {}

  torch::Tensor forward(const torch::Tensor& x) {
    auto y = call(*this, norm1_, x);
    if (window_ > 0) {
      const Size batch = Size::of(x, 0);
      const int64_t h = y.size(1), w = y.size(2);
      y = window_unpartition(call(*this, attn_, window_partition(y, batch)), batch, h, w);
    } else {
      y = call(*this, attn_, y);
    }
    const auto hidden = x + y;
    return hidden + call(*this, mlp_, call(*this, norm2_, hidden));
  }

 private:
  static torch::nn::LayerNorm layer_norm() {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({kWidth}).eps(kNormEps));
  }
  int64_t window_;
  torch::nn::LayerNorm norm1_;
  Attention attn_;
  torch::nn::LayerNorm norm2_;
  MLPBlock mlp_;
};
TORCH_MODULE(Block);

// segment_anything's LayerNorm2d: a LayerNorm over the channels of [B, C, H, W], written out.
class LayerNorm2dImpl : public torch::nn::Module {
 public:
  explicit LayerNorm2dImpl(int64_t channels)
      : weight(register_parameter("weight", torch::ones({channels}))),
        bias(register_parameter("bias", torch::zeros({channels}))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const auto mean = x.mean(1, true);
    const auto variance = (x - mean).pow(2).mean(1, true);
    const auto normed = (x - mean) / torch::sqrt(variance + kNormEps);
    return weight.unsqueeze(1).unsqueeze(2) * normed + bias.unsqueeze(1).unsqueeze(2);
  }
  torch::Tensor weight;
  torch::Tensor bias;
};
TORCH_MODULE(LayerNorm2d);

class ImageEncoderViTImpl : public torch::nn::Module {
 public:
  ImageEncoderViTImpl()
      : pos_embed(register_parameter("pos_embed", torch::zeros({1, kGrid, kGrid, kWidth}))),
        patch_embed_(register_module("patch_embed", PatchEmbed())),
        blocks_(register_module("blocks", torch::nn::ModuleList())),
        neck_(register_module("neck", Sequential())) {
    for (int64_t i = 0; i < kDepth; ++i) blocks_->push_back(Block(is_global(i)));
    neck_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(kWidth, kOutChannels, 1).bias(false)));
    neck_->push_back(LayerNorm2d(kOutChannels));
    neck_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(kOutChannels, kOutChannels, 3).padding(1).bias(false)));
    neck_->push_back(LayerNorm2d(kOutChannels));
  }

  torch::Tensor forward(const torch::Tensor& images) {
    auto x = call(*this, patch_embed_, images) + pos_embed;
    {
      TraceScope list_scope(child_name(*this, *blocks_));
      for (size_t i = 0; i < blocks_->size(); ++i) {
        auto block = blocks_->ptr<BlockImpl>(i);
        x = call(*blocks_, block, x);
      }
    }
    return call(*this, neck_, x.permute({0, 3, 1, 2}));
  }

  torch::Tensor pos_embed;

 private:
  PatchEmbed patch_embed_;
  torch::nn::ModuleList blocks_;
  Sequential neck_;
};
TORCH_MODULE(ImageEncoderViT);

class SamImpl : public torch::nn::Module {
 public:
  SamImpl() : image_encoder_(register_module("image_encoder", ImageEncoderViT())) {}
  torch::Tensor forward(const torch::Tensor& images) { return call(*this, image_encoder_, images); }

 private:
  ImageEncoderViT image_encoder_;
};
TORCH_MODULE(Sam);

// Convolutions and Linears as the CNN families draw them; then position tables, relative positions and
// norms drawn too (SAM starts them at zeros and ones), so a converter dropping one changes the output.
void init_sam_weights(SamImpl& root) {
  init_weights(root, LinearInit::kTorchDefault);
  torch::NoGradGuard no_grad;
  for (auto& item : root.named_parameters()) {
    const std::string& name = item.key();
    auto& tensor = item.value();
    const bool norm = name.find("norm") != std::string::npos || name.rfind("image_encoder.neck.1", 0) == 0 ||
                      name.rfind("image_encoder.neck.3", 0) == 0;
    if (name.find("pos_embed") != std::string::npos || name.find("rel_pos") != std::string::npos) {
      tensor.normal_(0, 0.02);
    } else if (norm) {
      name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0 ? tensor.normal_(1, 0.1) : tensor.normal_(0, 0.02);
    }
  }
}

}  // namespace

ZooModel build_sam_vit_b(InputSpec input) {
  if (input.shape[2] != kImageSize || input.shape[3] != kImageSize) {
    throw std::invalid_argument("sam-vit-b takes 1024x1024 images (its position table is 64x64 patches), got " +
                                std::to_string(input.shape[2]) + "x" + std::to_string(input.shape[3]));
  }
  auto root = Sam().ptr();
  init_sam_weights(*root);
  return batched_image_model(root, std::move(input), "image_embeddings", {"batch", "", "", ""});
}

}  // namespace htp::zoo
