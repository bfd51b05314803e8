// The zoo's sam-vit-b must be the image encoder of Segment Anything's ViT-B (build_sam_vit_b): the
// module tree and parameters of sam_vit_b_01ec64.pth's image_encoder.* entries, windowed attention in
// every block but 2, 5, 8 and 11, and [batch, 256, 64, 64] embeddings from 1024x1024 images.
#include "zoo_model_checks.h"

#include "htp/zoo/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <stdexcept>
#include <string>

namespace {

const htp::zoo::ZooModel& sam() {
  static const htp::zoo::ZooModel model = [] {
    torch::manual_seed(0);
    return htp::zoo::make_model("sam-vit-b", {});
  }();
  return model;
}

// segment_anything's ImageEncoderViT at build_sam_vit_b's settings, summed per part: patch_embed 590,592,
// pos_embed 3,145,728 (64x64x768), 12 blocks of 7,087,872 plus relative-position tables (2 x 27 x 64 in the 8
// windowed blocks, 2 x 127 x 64 in the 4 global ones: 92,672), neck 787,456. The published checkpoint
// sam_vit_b_01ec64.pth is 375 MB (the README's model table): 93.7M float32 parameters, of which the prompt
// encoder and mask decoder hold about 4M (the SAM paper, section 3), which leaves this figure for the encoder.
TEST(SamVitB, HasTheImageEncodersParameterCount) {
  EXPECT_EQ(parameter_count(*sam().module), 89670912);
  EXPECT_FALSE(sam().module->is_training());
}

TEST(SamVitB, ModulePathsAndClassesAreSegmentAnythings) {
  const auto rows = module_rows(*sam().module);
  const std::map<std::string, std::string> classes(rows.begin(), rows.end());
  const std::map<std::string, std::string> expected = {
      {"", "Sam"},
      {"image_encoder", "ImageEncoderViT"},
      {"image_encoder.patch_embed", "PatchEmbed"},
      {"image_encoder.patch_embed.proj", "Conv2d"},
      {"image_encoder.blocks", "ModuleList"},
      {"image_encoder.blocks.0", "Block"},
      {"image_encoder.blocks.0.norm1", "LayerNorm"},
      {"image_encoder.blocks.0.attn", "Attention"},
      {"image_encoder.blocks.0.attn.qkv", "Linear"},
      {"image_encoder.blocks.0.attn.proj", "Linear"},
      {"image_encoder.blocks.0.norm2", "LayerNorm"},
      {"image_encoder.blocks.0.mlp", "MLPBlock"},
      {"image_encoder.blocks.0.mlp.lin1", "Linear"},
      {"image_encoder.blocks.0.mlp.lin2", "Linear"},
      {"image_encoder.blocks.0.mlp.act", "GELU"},
      {"image_encoder.blocks.11", "Block"},
      {"image_encoder.neck", "Sequential"},
      {"image_encoder.neck.0", "Conv2d"},
      {"image_encoder.neck.1", "LayerNorm2d"},
      {"image_encoder.neck.2", "Conv2d"},
      {"image_encoder.neck.3", "LayerNorm2d"},
  };
  for (const auto& [path, type] : expected) {
    ASSERT_TRUE(classes.count(path)) << path;
    EXPECT_EQ(classes.at(path), type) << path;
  }
  EXPECT_FALSE(classes.count("image_encoder.blocks.12"));
  EXPECT_EQ(rows.size(), 1u + 1 + 2 + 1 + 12 * 10 + 5);  // root, encoder, patch_embed, blocks, 12 x 10, neck
}

// Windowed blocks (14x14 windows) have 27-row relative-position tables, the global blocks 2, 5, 8, 11 have 127.
TEST(SamVitB, GlobalAttentionInBlocks2_5_8_11) {
  const auto params = sam().module->named_parameters();
  EXPECT_EQ(params["image_encoder.pos_embed"].sizes().vec(), (std::vector<int64_t>{1, 64, 64, 768}));
  for (int block = 0; block < 12; ++block) {
    const bool global = block % 3 == 2;
    const std::string path = "image_encoder.blocks." + std::to_string(block) + ".attn.";
    EXPECT_EQ(params[path + "rel_pos_h"].sizes().vec(), (std::vector<int64_t>{global ? 127 : 27, 64})) << block;
    EXPECT_EQ(params[path + "rel_pos_w"].sizes().vec(), (std::vector<int64_t>{global ? 127 : 27, 64})) << block;
  }
  EXPECT_EQ(params["image_encoder.blocks.0.attn.qkv.weight"].sizes().vec(), (std::vector<int64_t>{2304, 768}));
  EXPECT_EQ(params["image_encoder.neck.2.weight"].sizes().vec(), (std::vector<int64_t>{256, 256, 3, 3}));
  EXPECT_FALSE(params.contains("image_encoder.neck.0.bias"));
}

// The forward itself (about 0.5 TFLOP a image) runs in tests/e2e/zoo_sam.test.mjs, against ONNX Runtime.
TEST(SamVitB, TakesOnly1024x1024ImagesWithASymbolicBatch) {
  EXPECT_EQ(sam().inputs.at(0).shape, (std::vector<int64_t>{1, 3, 1024, 1024}));
  EXPECT_EQ(sam().inputs.at(0).dim_names, (std::vector<std::string>{"batch", "", "", ""}));
  EXPECT_EQ(sam().output_names, (std::vector<std::string>{"image_embeddings"}));
  EXPECT_THROW(htp::zoo::make_model("sam-vit-b", {{1, 3, 512, 512}}), std::invalid_argument);
  EXPECT_EQ(sam().inputs.at(0).name, "images");
}

}  // namespace
