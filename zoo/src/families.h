// Builders of the zoo's architecture families, one translation unit each; zoo.cpp registers them.
#pragma once

#include "htp/zoo/zoo.h"

namespace htp::zoo {

ZooModel build_resnet18();
ZooModel build_resnet50();
ZooModel build_mobilenet_v2();
ZooModel build_mobilenet_v3_small();
// torchvision's efficientnet_b0 ... efficientnet_b7.
enum class EfficientNetVariant { kB0, kB1, kB2, kB3, kB4, kB5, kB6, kB7 };
ZooModel build_efficientnet(EfficientNetVariant variant);
// Ultralytics YOLOv8n on an image of `input`'s shape (N, 3, H, W; H and W multiples of 32).
ZooModel build_yolov8n(InputSpec input);
// Segment Anything's ViT-B image encoder on 1024x1024 images (`input`: N, 3, 1024, 1024).
ZooModel build_sam_vit_b(InputSpec input);
// Sequence models read the example batch size and length from the options.
ZooModel build_bert_tiny(const ZooOptions& options);
ZooModel build_bert_base(const ZooOptions& options);
ZooModel build_roberta(const ZooOptions& options);
ZooModel build_distilbert(const ZooOptions& options);
ZooModel build_vit_base(const ZooOptions& options);
ZooModel build_deit_small(const ZooOptions& options);
ZooModel build_gpt2(const ZooOptions& options);
ZooModel build_whisper_tiny(const ZooOptions& options);
ZooModel build_whisper_base(const ZooOptions& options);
ZooModel build_tinyllama(const ZooOptions& options);

}  // namespace htp::zoo
