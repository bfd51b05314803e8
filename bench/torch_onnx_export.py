"""Reference point for the bench scripts: torch.onnx.export (opset 17) of a torchvision model.

    /usr/bin/python3 bench/torch_onnx_export.py OUT.onnx [MODEL]     (MODEL: default resnet50)

Run with Debian's python3 (python3-torch, python3-torchvision); random weights, no downloads.
The timed region is the whole process, as for htp-export: interpreter start, imports, model
construction, export and write. The model is built as tests/e2e/gen_torchvision_nograd.py builds
the archives htp-export is timed on: eval mode, 224x224, exported under torch.no_grad(), except a
model with nn.MultiheadAttention (vit_*): under no_grad its fused fast path records
aten::_native_multi_head_attention, which torch.onnx 1.13 cannot export, so it is exported with
autograd on, as tests/e2e/gen_torchvision.py traces it.
"""
import contextlib
import sys

import torch
import torchvision

name = sys.argv[2] if len(sys.argv) > 2 else "resnet50"
model = torchvision.models.get_model(name, weights=None).eval()
fused_attention = any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules())
with contextlib.nullcontext() if fused_attention else torch.no_grad():
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), sys.argv[1], opset_version=17)
