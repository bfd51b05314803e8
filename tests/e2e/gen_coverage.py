#!/usr/bin/python3
"""Builds the public coverage suite of tests/e2e/coverage.test.mjs from PyTorch's own test databases.

Run with Debian's python3 (python3-torch 1.13.1): gen_coverage.py OUT_DIR [CASE ...]
Test fixtures only: htp-export never runs Python.

Every entry of torch.testing._internal.common_methods_invocations.op_db (OpInfo) and
common_modules.module_db (ModuleInfo) becomes one case from its first float32 CPU sample, when that
sample's inputs and outputs are tensors (in tuples, lists or dicts). The tensors become the forward
inputs of a small wrapper module (everything else in the sample is baked in as a constant); the
wrapper is traced with torch.jit.trace. For case NAME (the entry's name, `.variant` appended when it
has one) OUT_DIR/NAME/ holds:
    model.pt            the traced archive
    in_K.npy            the sample's tensors, forward order
    ref_K.npy           the archive's outputs on them, flattened in order
    modules.json        {"modules": [[path, class_name], ...]} of the wrapper
    torch_onnx.onnx     torch.onnx.export of the wrapper (opset 17, inputs named in_K), or
    torch_onnx.error    the first line of torch.onnx.export's exception
OUT_DIR/index.json lists the cases ("generated") and, per entry left out ("skipped"), why (no float32 sample, a non-tensor
input or output, tracing failed, uninitialized memory, outputs differ between two runs of the
archive).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import types
import unittest
import warnings
import zlib

import numpy as np
import torch
import torch.nn as nn


def install_expecttest_stand_in():
    """common_utils imports expecttest, which Debian does not ship; these tests never call it."""
    if "expecttest" in sys.modules:
        return
    module = types.ModuleType("expecttest")
    module.ACCEPT = False
    module.TestCase = unittest.TestCase
    sys.modules["expecttest"] = module


class Skip(Exception):
    """The entry is not in the suite: its sample is not tensors in, tensors out."""


def split_tensors(value, tensors):
    """`value` with every tensor replaced by its index in `tensors` (as ('tensor', k))."""
    if isinstance(value, torch.Tensor):
        if value.is_sparse or value.is_complex() or value.is_quantized or value.layout != torch.strided:
            raise Skip(f"{value.dtype} {value.layout} tensor input")
        tensors.append(value)
        return ("tensor", len(tensors) - 1)
    if isinstance(value, (list, tuple)):
        return type(value)(split_tensors(v, tensors) for v in value)
    if isinstance(value, dict):
        return {k: split_tensors(v, tensors) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str, torch.dtype, torch.memory_format, torch.device)):
        return value
    if isinstance(value, torch.Size):
        return tuple(value)
    raise Skip(f"non-tensor input of type {type(value).__name__}")


def join_tensors(value, tensors):
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "tensor":
        return tensors[value[1]]
    if isinstance(value, (list, tuple)):
        return type(value)(join_tensors(v, tensors) for v in value)
    if isinstance(value, dict):
        return {k: join_tensors(v, tensors) for k, v in value.items()}
    return value


def flatten_outputs(value, out):
    if isinstance(value, torch.Tensor):
        if value.is_sparse or value.is_complex() or value.layout != torch.strided:
            raise Skip(f"{value.dtype} {value.layout} tensor output")
        out.append(value)
    elif isinstance(value, (list, tuple)) and len(value) > 0:
        for v in value:
            flatten_outputs(v, out)
    else:
        raise Skip(f"non-tensor output of type {type(value).__name__}")
    return out


class OpCase(nn.Module):
    """Calls one op on its sample: forward takes the sample's tensors, the rest is constant."""

    def __init__(self, fn, structure):
        super().__init__()
        self.fn = fn
        self.structure = structure

    def forward(self, *tensors):
        sample_input, args, kwargs = join_tensors(self.structure, tensors)
        return self.fn(sample_input, *args, **kwargs)


class ModuleCase(nn.Module):
    """Runs one module (child `m`) on its sample's forward arguments."""

    def __init__(self, module, structure):
        super().__init__()
        self.m = module
        self.structure = structure

    def forward(self, *tensors):
        args, kwargs = join_tensors(self.structure, tensors)
        return self.m(*args, **kwargs)


def op_case(op):
    if op.name.startswith(("empty", "new_empty")):
        raise Skip("uninitialized memory: its values are arbitrary")
    if torch.float32 not in op.supported_dtypes("cpu"):
        raise Skip("no float32 support on CPU")
    try:
        sample = next(iter(op.sample_inputs("cpu", torch.float32, requires_grad=False)))
    except StopIteration:
        raise Skip("no float32 sample")
    tensors = []
    structure = split_tensors((sample.input, tuple(sample.args), dict(sample.kwargs)), tensors)
    return OpCase(op.op, structure), tensors


def module_case(info):
    sample = info.module_inputs_func(info, device="cpu", dtype=torch.float32, requires_grad=False, training=False)[0]
    constructor = sample.constructor_input
    module = info.module_cls(*constructor.args, **constructor.kwargs)
    tensors = []
    structure = split_tensors((tuple(sample.forward_input.args), dict(sample.forward_input.kwargs)), tensors)
    module = module.to(torch.float32)
    module.eval()
    if any(isinstance(m, nn.modules.lazy.LazyModuleMixin) for m in module.modules()):
        with torch.no_grad():  # materialize lazy parameters before tracing
            module(*join_tensors(structure, tensors)[0], **join_tensors(structure, tensors)[1])
    for p in module.parameters():
        p.requires_grad_(False)
    return ModuleCase(module, structure), tensors


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout("took over 60 s")


def same(a, b):
    return all(x.shape == y.shape and x.dtype == y.dtype and torch.equal(torch.nan_to_num(x), torch.nan_to_num(y))
               for x, y in zip(a, b))


def write_case(name, wrapper, tensors, out_dir):
    torch.manual_seed(0)
    with torch.no_grad():
        flatten_outputs(wrapper(*tensors), [])  # Skip entries whose outputs are not tensors
        traced = torch.jit.trace(wrapper, tuple(tensors), check_trace=False)
    case_dir = os.path.join(out_dir, name)
    shutil.rmtree(case_dir, ignore_errors=True)  # no file of an earlier run stays beside the new ones
    os.makedirs(case_dir)
    archive = os.path.join(case_dir, "model.pt")
    traced.save(archive)
    loaded = torch.jit.load(archive)
    with torch.no_grad():
        refs = flatten_outputs(loaded(*tensors), [])
        again = flatten_outputs(loaded(*tensors), [])
    if not same(refs, again):
        raise Skip("outputs differ between two runs (random op)")
    for k, t in enumerate(tensors):
        np.save(os.path.join(case_dir, f"in_{k}.npy"), t.detach().contiguous().numpy())
    for k, t in enumerate(refs):
        np.save(os.path.join(case_dir, f"ref_{k}.npy"), t.detach().contiguous().numpy())
    modules = [[path, type(m).__name__] for path, m in wrapper.named_modules()]
    with open(os.path.join(case_dir, "modules.json"), "w") as f:
        json.dump({"modules": modules}, f)
    export_torch_onnx(wrapper, tensors, case_dir)


def export_torch_onnx(wrapper, tensors, case_dir):
    path = os.path.join(case_dir, "torch_onnx.onnx")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapper, tuple(tensors), path, opset_version=17,
                              input_names=[f"in_{k}" for k in range(len(tensors))])
    except Exception as e:  # every failure is an outcome of torch.onnx, recorded as such
        if os.path.exists(path):
            os.remove(path)
        message = (str(e).strip().splitlines() or [type(e).__name__])[0]
        with open(os.path.join(case_dir, "torch_onnx.error"), "w") as f:
            f.write(f"{type(e).__name__}: {message}\n")


def entries():
    install_expecttest_stand_in()
    from torch.testing._internal.common_methods_invocations import op_db
    from torch.testing._internal.common_modules import module_db
    for op in op_db:
        name = op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")
        yield name, lambda op=op: op_case(op)
    for info in module_db:
        yield info.name, lambda info=info: module_case(info)


def work(out_dir, wanted, first):
    """Writes the cases from entry `first` on, one JSON line per entry on stdout."""
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGALRM, on_alarm)
    for index, (name, build) in enumerate(entries()):
        if index < first or (wanted and name not in wanted):
            continue
        torch.manual_seed(zlib.crc32(name.encode()))
        signal.alarm(60)
        record = {"index": index, "name": name}
        try:
            wrapper, tensors = build()
            write_case(name, wrapper, tensors, out_dir)
        except Skip as e:
            record["left_out"] = str(e)
        except Exception as e:  # the sample cannot be traced or run: not a case for any exporter
            record["left_out"] = f"not traceable: {type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:200]}"
        finally:
            signal.alarm(0)
        print(json.dumps(record), flush=True)


def main():
    """Runs the work in a child process, restarted past any entry that crashes PyTorch itself."""
    out_dir = os.path.abspath(sys.argv[1])
    wanted = sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    cases, left_out = [], {}
    first = 0
    while True:
        child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--work", out_dir, str(first), *wanted],
                                 stdout=subprocess.PIPE, text=True)
        last = None
        for line in child.stdout:
            record = json.loads(line)
            last = record
            if "left_out" in record:
                left_out[record["name"]] = record["left_out"]
            else:
                cases.append(record["name"])
            print(f"{record['name']}: {record.get('left_out', 'case')}", flush=True)
        if child.wait() == 0:
            break
        after = last["index"] + 1 if last else first
        crashed, name = next((i, n) for i, (n, _) in enumerate(entries()) if i >= after and (not wanted or n in wanted))
        left_out[name] = f"crashes PyTorch (exit {child.returncode})"
        print(f"{name}: {left_out[name]}", flush=True)
        first = crashed + 1
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump({"requested": sorted(wanted) or None, "generated": cases, "skipped": left_out}, f, indent=1)
    print(f"{len(cases)} cases, {len(left_out)} entries left out")


if __name__ == "__main__":
    if sys.argv[1] == "--work":
        work(sys.argv[2], set(sys.argv[4:]), int(sys.argv[3]))
    else:
        main()
