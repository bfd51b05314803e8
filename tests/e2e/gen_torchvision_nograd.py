#!/usr/bin/python3
"""Generates TorchScript archives of torchvision models traced under torch.no_grad(), for
tests/e2e/torchvision_nograd.test.mjs.

    /usr/bin/python3 tests/e2e/gen_torchvision_nograd.py OUT_DIR [MODEL ...]

This is how torchvision's docs trace a model for inference: eval mode, no autograd. PyTorch then
takes its fused fast paths (vit_*: nn.MultiheadAttention records aten::_native_multi_head_attention,
whose unused attention weights are an undefined tensor), which gen_torchvision.py avoids by tracing
with autograd on. The segmentation models return a dict ({"out": ...}, traced with strict=False);
their backbones (ResNet, MobileNetV3) run ReLU and Hardswish in place and add residuals with +=,
and LRASPP's head writes into tuple elements that mutation removal leaves alone.

MODEL is any name torchvision.models.get_model knows (classification, segmentation, ...);
default: DEFAULT_MODELS. Weights are random (weights=None, weights_backbone=None where the
builder takes it, aux_loss off; seeded), nothing is downloaded. Python is only used here, to make
test inputs; the product never runs it. For each model NAME, as gen_torchvision.py:
    OUT_DIR/NAME.pt             torch.jit.trace of the eval-mode model under torch.no_grad()
    OUT_DIR/NAME/in_0.npy       the example input, 1x3xSxS (IMAGE_SIZE, default 224)
    OUT_DIR/NAME/ref_K.npy      the outputs of the loaded archive, flattened in order (dict
                                outputs by value)
    OUT_DIR/NAME/modules.json   {"modules": [[path, class_name], ...]} from named_modules()
    OUT_DIR/NAME/info.json      input and output shapes, the dict output's keys (output_names),
                                parameter count, times
and OUT_DIR/index.json, written last: {"requested", "generated", "skipped": {}, ...}.
"""
import inspect
import json
import os
import shutil
import sys
import time
import warnings

import numpy as np
import torch
import torchvision

from gen_torchvision import SEED, flatten, make_outputs_informative

SEGMENTATION = ["fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]
DEFAULT_MODELS = ["vit_b_16"] + SEGMENTATION
# name -> side of the square example image, when not 224; at output stride 8 (FCN, DeepLabV3)
# 160 still leaves 20x20 features.
IMAGE_SIZE = {name: 160 for name in SEGMENTATION}


def build(name):
    torch.manual_seed(SEED)
    builder = torchvision.models.get_model_builder(name)
    kwargs = {"weights": None}
    parameters = inspect.signature(builder).parameters
    if "weights_backbone" in parameters:
        kwargs["weights_backbone"] = None
    if "aux_loss" in parameters:
        kwargs["aux_loss"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = builder(**kwargs)
    make_outputs_informative(model)
    model.eval()
    size = IMAGE_SIZE.get(name, 224)
    image = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(SEED))
    return model, image


def values(outputs):
    """Dict outputs (segmentation models return {"out": ..., "aux": ...}) by value, in order."""
    return list(outputs.values()) if isinstance(outputs, dict) else outputs


def generate(name, out_dir):
    started = time.time()
    model, image = build(name)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings from asserts on shapes
        trace_started = time.time()
        # strict=False lets a model return a dict; the check would re-trace off the fast paths.
        archive = torch.jit.trace(model, (image,), check_trace=False, strict=False)
        trace_seconds = time.time() - trace_started
    folder = os.path.join(out_dir, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    archive_path = os.path.join(out_dir, name + ".pt")
    torch.jit.save(archive, archive_path)
    del archive

    loaded = torch.jit.load(archive_path)
    loaded.eval()
    with torch.no_grad():
        outputs = loaded(image)
    refs = flatten(values(outputs))
    modules = [[path, type(m).__name__] for path, m in model.named_modules()]
    if [path for path, _ in loaded.named_modules()] != [path for path, _ in modules]:
        sys.exit(f"{name}: the archive's module tree differs from the model's")
    np.save(os.path.join(folder, "in_0.npy"), image.numpy())
    for k, tensor in enumerate(refs):
        np.save(os.path.join(folder, f"ref_{k}.npy"), tensor.contiguous().numpy())
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump({"modules": modules}, f, separators=(",", ":"))
        f.write("\n")
    info = {"name": name, "input_shape": list(image.shape), "outputs": [list(t.shape) for t in refs],
            "output_names": list(outputs) if isinstance(outputs, dict) else None,
            "parameters": sum(p.numel() for p in model.parameters()), "trace_seconds": round(trace_seconds, 2),
            "generate_seconds": round(time.time() - started, 2), "archive_bytes": os.path.getsize(archive_path)}
    with open(os.path.join(folder, "info.json"), "w") as f:
        json.dump(info, f)
        f.write("\n")
    print(f"{name:20} params {info['parameters'] / 1e6:7.1f}M  trace {trace_seconds:6.2f} s"
          f"  generate {info['generate_seconds']:6.2f} s", flush=True)


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    out_dir = os.path.abspath(sys.argv[1])
    os.makedirs(out_dir, exist_ok=True)
    index_path = os.path.join(out_dir, "index.json")
    if os.path.exists(index_path):
        os.remove(index_path)
    requested = sys.argv[2:]
    known = set(torchvision.models.list_models())
    unknown = [n for n in requested if n not in known]
    if unknown:
        sys.exit(f"gen_torchvision_nograd: unknown model(s) {unknown}")
    torch.set_num_threads(os.cpu_count() or 1)
    total_started = time.time()
    names = requested or DEFAULT_MODELS
    for name in names:
        generate(name, out_dir)
    with open(index_path + ".tmp", "w") as f:
        json.dump({"requested": requested or None, "generated": names, "skipped": {},
                   "seconds": round(time.time() - total_started, 1), "torch": torch.__version__,
                   "torchvision": torchvision.__version__}, f, indent=1)
        f.write("\n")
    os.rename(index_path + ".tmp", index_path)


if __name__ == "__main__":
    main()
