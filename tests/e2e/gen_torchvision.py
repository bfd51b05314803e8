#!/usr/bin/python3
"""Generates TorchScript archives of torchvision's classification models for tests/e2e/torchvision.test.mjs.

    /usr/bin/python3 tests/e2e/gen_torchvision.py OUT_DIR [MODEL ...]

Debian's python3-torch 1.13.1 / python3-torchvision 0.14.1, random weights (weights=None, seeded),
nothing downloaded. Python is only used here, to make test inputs; the product never runs it.

For each model NAME (default: every classification model of torchvision.models except DROPPED):
    OUT_DIR/NAME.pt             torch.jit.trace of the eval-mode model
    OUT_DIR/NAME/in_0.npy       the example input, 1x3x224x224 (inception_v3: 1x3x299x299)
    OUT_DIR/NAME/ref_0.npy      the output of the loaded archive (torch.jit.load) under no_grad
    OUT_DIR/NAME/modules.json   {"modules": [[path, class_name], ...]} from named_modules()
and OUT_DIR/index.json lists what was generated, skipped (over the time limit or failed) and dropped,
with times. It is written last: its presence means the run finished.

Tracing runs WITHOUT torch.no_grad() and with parameters requiring grad: in eval mode under no_grad,
nn.MultiheadAttention (vit_*) takes a fused fast path and the trace would record
aten::_native_multi_head_attention instead of the standard decomposition.

Each model is generated in a forked child; one that takes more than LIMIT_SECONDS (60, or
HTP_GEN_LIMIT_SECONDS) is killed and skipped (logged, and listed in index.json). With
HTP_COMPARE_TORCH_ONNX=1, the child then also runs torch.onnx.export (opset 17, default settings)
of the same nn.Module into OUT_DIR/NAME.torch.onnx and records its node count and time in
OUT_DIR/NAME/torch_onnx.json (for the benchmark note; off by default).
"""
import json
import multiprocessing
import os
import shutil
import sys
import time
import warnings

import numpy as np
import torch
import torchvision

LIMIT_SECONDS = float(os.environ.get("HTP_GEN_LIMIT_SECONDS", "60"))  # per model; convnext_large needs ~50 s here
ONNX_LIMIT_SECONDS = 600
SEED = 0

# Left out of the default run (an explicit MODEL argument still generates them).
DROPPED = {
    "vit_h_14": "632M parameters: 2.5 GB of weights, over protobuf's 2 GB limit for one ONNX file",
    "regnet_y_128gf": "645M parameters: 2.6 GB of weights, over protobuf's 2 GB limit for one ONNX file",
    "vit_l_16": "304M parameters (1.2 GB) and 61 GFLOPs: minutes of trace/export/ORT time per run on a small machine",
    "vit_l_32": "306M parameters (1.2 GB): minutes of trace/export/ORT time per run; vit_b_32 covers the same graph",
}

IMAGE_SIZE = {"inception_v3": 299}


def classification_models():
    return sorted(torchvision.models.list_models(module=torchvision.models))


def flatten(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    result = []
    for item in outputs:
        result.extend(flatten(item))
    return result


def make_outputs_informative(model):
    """torchvision's init leaves BatchNorm at identity statistics and some heads at zero (ViT),
    so deep nets output values near 0 (1e-20 for EfficientNet) and a 1e-4 tolerance would check
    nothing. Random BatchNorm statistics and small random weights where init left zeros keep the
    outputs of order one."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                if module.affine:
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.2, 0.2)
        for parameter in model.parameters():
            if parameter.dim() > 1 and not parameter.any():
                parameter.normal_(0.0, 0.02)


def build(name):
    torch.manual_seed(SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # googlenet/inception_v3 warn about their weight init
        model = torchvision.models.get_model(name, weights=None)
    make_outputs_informative(model)
    model.eval()
    size = IMAGE_SIZE.get(name, 224)
    image = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(SEED))
    return model, image


def count_onnx_nodes(path):
    """Nodes of the main graph (ModelProto.graph = field 7, GraphProto.node = field 1), read with
    the protobuf wire format so the onnx package is not needed."""
    with open(path, "rb") as f:
        buf = f.read()

    def varint(pos):
        result = shift = 0
        while True:
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result, pos
            shift += 7

    def fields(start, end):
        pos = start
        while pos < end:
            key, pos = varint(pos)
            number, wire = key >> 3, key & 7
            if wire == 0:
                _, pos = varint(pos)
                yield number, None, None
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            elif wire == 2:
                length, pos = varint(pos)
                yield number, pos, pos + length
                pos += length
            else:
                raise ValueError(f"{path}: wire type {wire}")

    for number, start, end in fields(0, len(buf)):
        if number == 7:
            return sum(1 for n, _, _ in fields(start, end) if n == 1)
    raise ValueError(f"{path}: no graph")


def generate(name, out_dir, generated_event):
    """Runs in a forked child. Writes into temporaries and renames, so a killed child leaves nothing."""
    torch.set_num_threads(os.cpu_count() or 1)
    started = time.time()
    model, image = build(name)
    built = time.time()
    trace_started = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings from asserts on shapes
        archive = torch.jit.trace(model, (image,), check_trace=False)
    trace_seconds = time.time() - trace_started

    folder = os.path.join(out_dir, name)
    tmp_folder = folder + ".tmp"
    tmp_archive = os.path.join(out_dir, name + ".pt.tmp")
    shutil.rmtree(tmp_folder, ignore_errors=True)
    os.makedirs(tmp_folder)
    torch.jit.save(archive, tmp_archive)
    del archive

    loaded = torch.jit.load(tmp_archive)
    loaded.eval()
    with torch.no_grad():
        refs = flatten(loaded(image))
    modules = [[path, type(m).__name__] for path, m in model.named_modules()]
    archive_paths = [p for p, _ in loaded.named_modules()]
    if archive_paths != [p for p, _ in modules]:
        missing = sorted(set(p for p, _ in modules) - set(archive_paths))
        extra = sorted(set(archive_paths) - set(p for p, _ in modules))
        print(f"  {name}: archive module tree differs: missing {missing[:5]}, extra {extra[:5]}", flush=True)

    np.save(os.path.join(tmp_folder, "in_0.npy"), image.numpy())
    for k, tensor in enumerate(refs):
        np.save(os.path.join(tmp_folder, f"ref_{k}.npy"), tensor.contiguous().numpy())
    with open(os.path.join(tmp_folder, "modules.json"), "w") as f:
        json.dump({"modules": modules}, f, separators=(",", ":"))
        f.write("\n")
    info = {
        "name": name,
        "input_shape": list(image.shape),
        "outputs": [list(t.shape) for t in refs],
        "parameters": sum(p.numel() for p in model.parameters()),
        "build_seconds": round(built - started, 2),
        "trace_seconds": round(trace_seconds, 2),
        "generate_seconds": round(time.time() - started, 2),
        "archive_bytes": os.path.getsize(tmp_archive),
    }
    with open(os.path.join(tmp_folder, "info.json"), "w") as f:
        json.dump(info, f)
        f.write("\n")
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(tmp_folder, folder)
    os.rename(tmp_archive, os.path.join(out_dir, name + ".pt"))
    generated_event.set()

    if os.environ.get("HTP_COMPARE_TORCH_ONNX") == "1":
        onnx_path = os.path.join(out_dir, name + ".torch.onnx")
        export_started = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (image,), onnx_path + ".tmp", opset_version=17)
        seconds = time.time() - export_started
        os.rename(onnx_path + ".tmp", onnx_path)
        record = {"nodes": count_onnx_nodes(onnx_path), "export_seconds": round(seconds, 2),
                  "opset": 17, "torch": torch.__version__, "bytes": os.path.getsize(onnx_path)}
        with open(os.path.join(folder, "torch_onnx.json"), "w") as f:
            json.dump(record, f)
            f.write("\n")


def cleanup(out_dir, name):
    shutil.rmtree(os.path.join(out_dir, name + ".tmp"), ignore_errors=True)
    for suffix in (".pt.tmp", ".torch.onnx.tmp"):
        path = os.path.join(out_dir, name + suffix)
        if os.path.exists(path):
            os.remove(path)


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    out_dir = os.path.abspath(sys.argv[1])
    os.makedirs(out_dir, exist_ok=True)
    index_path = os.path.join(out_dir, "index.json")
    if os.path.exists(index_path):
        os.remove(index_path)
    known = classification_models()
    requested = sys.argv[2:]
    unknown = [n for n in requested if n not in known]
    if unknown:
        sys.exit(f"gen_torchvision: unknown model(s) {unknown}; known: {', '.join(known)}")
    names = requested or [n for n in known if n not in DROPPED]
    dropped = {} if requested else DROPPED
    for name, why in dropped.items():
        print(f"dropped {name}: {why}", flush=True)

    context = multiprocessing.get_context("fork")
    generated, skipped = [], {}
    total_started = time.time()
    for name in names:
        event = context.Event()
        child = context.Process(target=generate, args=(name, out_dir, event), daemon=True)
        started = time.time()
        child.start()
        while not event.is_set() and child.is_alive() and time.time() - started < LIMIT_SECONDS:
            event.wait(0.1)
        if not event.is_set():
            if child.is_alive():
                child.kill()
                child.join()
                cleanup(out_dir, name)
                skipped[name] = f"generation took more than {LIMIT_SECONDS} s"
            else:
                child.join()
                cleanup(out_dir, name)
                skipped[name] = f"generation failed (exit code {child.exitcode})"
            print(f"SKIPPED {name}: {skipped[name]}", flush=True)
            continue
        child.join(ONNX_LIMIT_SECONDS)
        if child.is_alive():
            child.kill()
            child.join()
            cleanup(out_dir, name)
            print(f"  {name}: torch.onnx.export took more than {ONNX_LIMIT_SECONDS} s, not recorded", flush=True)
        elif child.exitcode != 0:
            cleanup(out_dir, name)
            print(f"  {name}: torch.onnx.export failed (exit code {child.exitcode})", flush=True)
        with open(os.path.join(out_dir, name, "info.json")) as f:
            info = json.load(f)
        line = (f"{name:20} params {info['parameters'] / 1e6:7.1f}M  trace {info['trace_seconds']:6.2f} s"
                f"  generate {info['generate_seconds']:6.2f} s")
        torch_onnx = os.path.join(out_dir, name, "torch_onnx.json")
        if os.path.exists(torch_onnx):
            with open(torch_onnx) as f:
                record = json.load(f)
            line += f"  torch.onnx.export {record['export_seconds']:6.2f} s, {record['nodes']} nodes"
        print(line + f"  (wall {time.time() - started:.1f} s)", flush=True)
        generated.append(name)

    total = time.time() - total_started
    print(f"generated {len(generated)} models in {total:.1f} s; skipped {len(skipped)}: {sorted(skipped)}; "
          f"dropped {len(dropped)}: {sorted(dropped)}", flush=True)
    with open(index_path + ".tmp", "w") as f:
        json.dump({"requested": requested or None, "generated": generated, "skipped": skipped, "dropped": dropped,
                   "seconds": round(total, 1), "torch": torch.__version__,
                   "torchvision": torchvision.__version__}, f, indent=1)
        f.write("\n")
    os.rename(index_path + ".tmp", index_path)


if __name__ == "__main__":
    main()
