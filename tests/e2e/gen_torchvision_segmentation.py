#!/usr/bin/python3
"""Generates TorchScript archives of torchvision's segmentation models for
tests/e2e/torchvision_segmentation.test.mjs.

    /usr/bin/python3 tests/e2e/gen_torchvision_segmentation.py OUT_DIR [MODEL ...]

Debian's python3-torch 1.13.1 / python3-torchvision 0.14.1, random weights (weights=None,
weights_backbone=None, aux_loss off, seeded), nothing downloaded. Python only makes test inputs;
the product never runs it.

Each model is traced the way a user would: in eval mode under torch.no_grad(), with strict=False
because it returns a dict ({"out": ...}). Their backbones (ResNet, MobileNetV3) run ReLU and
Hardswish in place and add residuals with +=; LRASPP's head writes into tuple elements that
mutation removal leaves alone.

For each model NAME (default: MODELS):
    OUT_DIR/NAME.pt             the archive
    OUT_DIR/NAME/in_0.npy       the example input, 1x3xSIZExSIZE
    OUT_DIR/NAME/ref_0.npy      the output of the loaded archive (torch.jit.load) under no_grad
    OUT_DIR/NAME/modules.json   {"modules": [[path, class_name], ...]} from named_modules()
    OUT_DIR/NAME/info.json      input shape, parameter count, seconds
and OUT_DIR/index.json, written last: its presence means the run finished.
"""
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_torchvision import flatten, make_outputs_informative  # noqa: E402

MODELS = ["fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]
SIZE = 160  # output stride 8 (FCN, DeepLabV3) still leaves 20x20 features
SEED = 0


def build(name):
    torch.manual_seed(SEED)
    options = dict(weights=None, weights_backbone=None)
    if not name.startswith("lraspp"):
        options["aux_loss"] = False
    model = torchvision.models.get_model(name, **options)
    make_outputs_informative(model)
    model.eval()
    image = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(SEED))
    return model, image


def generate(name, out_dir):
    started = time.time()
    model, image = build(name)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings from size-driven interpolation
        archive = torch.jit.trace(model, (image,), strict=False, check_trace=False)
    path = os.path.join(out_dir, name + ".pt")
    torch.jit.save(archive, path)
    loaded = torch.jit.load(path)
    loaded.eval()
    with torch.no_grad():
        refs = flatten(list(loaded(image).values()))
    modules = [[p, type(m).__name__] for p, m in model.named_modules()]
    if [p for p, _ in loaded.named_modules()] != [p for p, _ in modules]:
        sys.exit(f"{name}: the archive's module tree differs from the model's")
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "in_0.npy"), image.numpy())
    for k, tensor in enumerate(refs):
        np.save(os.path.join(folder, f"ref_{k}.npy"), tensor.contiguous().numpy())
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump({"modules": modules}, f, separators=(",", ":"))
        f.write("\n")
    info = {"name": name, "input_shape": list(image.shape), "outputs": [list(t.shape) for t in refs],
            "parameters": sum(p.numel() for p in model.parameters()), "seconds": round(time.time() - started, 2)}
    with open(os.path.join(folder, "info.json"), "w") as f:
        json.dump(info, f)
        f.write("\n")
    print(f"{name:30} params {info['parameters'] / 1e6:5.1f}M  {info['seconds']:5.2f} s", flush=True)


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    out_dir = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or MODELS
    os.makedirs(out_dir, exist_ok=True)
    index_path = os.path.join(out_dir, "index.json")
    if os.path.exists(index_path):
        os.remove(index_path)
    torch.set_num_threads(os.cpu_count() or 1)
    started = time.time()
    for name in names:
        generate(name, out_dir)
    with open(index_path, "w") as f:
        json.dump({"generated": names, "seconds": round(time.time() - started, 1), "torch": torch.__version__,
                   "torchvision": torchvision.__version__}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
