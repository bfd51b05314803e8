"""Reference point for bench/export_resnet50.sh: torch.onnx.export of torchvision's resnet50.

Run with Debian's python3 (python3-torch, python3-torchvision); random weights, no downloads.
The timed region is the whole process, as for htp-export: interpreter start, imports, model
construction, export and write.
"""
import sys

import torch
import torchvision

model = torchvision.models.resnet50(weights=None).eval()
with torch.no_grad():
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), sys.argv[1], opset_version=17)
