#!/usr/bin/python3
"""Exports models with torch.onnx.export for tests/e2e/retag.test.mjs (`htp-export tag`).

    /usr/bin/python3 tests/e2e/gen_torch_onnx.py OUT_DIR

Debian's python3-torch 1.13.1 / python3-torchvision 0.14.1, random seeded weights, nothing
downloaded. Python only makes test inputs; the product never runs it. For each model NAME:
    OUT_DIR/NAME.onnx           torch.onnx.export (opset 14, default settings) of the eval-mode model
    OUT_DIR/NAME.modules.json   {path: class name} of named_modules(), the `--modules` file
    OUT_DIR/NAME/in_K.npy       an example input per forward argument
and OUT_DIR/index.json ({"models": [...]}) last: its presence means the run finished.

Models: torchvision's resnet50, and `transformer`, a small BERT-like encoder written here with
what exercises node-name parsing: nn.ModuleList layers (`/layers.0/...`), a module called twice
(`act_1`), nested Sequentials, a ModuleDict head (`/cls/...` is heads.cls), and dynamic batch and
sequence axes, so the root's own forward holds shape plumbing (Shape, Gather, Unsqueeze, ...).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

SEED = 0


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(0.1)

    def split_heads(self, x):
        batch, length, hidden = x.shape
        return x.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

    def forward(self, x, mask):
        q, k, v = self.split_heads(self.query(x)), self.split_heads(self.key(x)), self.split_heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask
        context = self.dropout(scores.softmax(-1)) @ v
        return context.transpose(1, 2).flatten(2)


class Attention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.self = SelfAttention(hidden, heads)
        self.output = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x, mask):
        return self.norm(x + self.output(self.self(x, mask)))


class Layer(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.attention = Attention(hidden, heads)
        self.ffn = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Sequential(nn.Linear(4 * hidden, hidden)))
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x, mask):
        x = self.attention(x, mask)
        return self.norm(x + self.ffn(x))


class Transformer(nn.Module):
    def __init__(self, vocab=1000, hidden=64, heads=4, layers=3, max_length=128):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.position = nn.Embedding(max_length, hidden)
        self.layers = nn.ModuleList(Layer(hidden, heads) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)
        self.act = nn.GELU()
        self.heads = nn.ModuleDict({"cls": nn.Linear(hidden, 2), "tokens": nn.Linear(hidden, 5)})

    def forward(self, ids, mask):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0).expand_as(ids)
        x = self.word(ids) + self.position(positions)
        extended = (1.0 - mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, extended)
        pooled = self.act(self.pooler(self.act(x[:, 0])))
        return self.heads["cls"](pooled), self.heads["tokens"](x)


def transformer():
    model = Transformer()
    ids = torch.randint(0, 1000, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.int64)
    mask[1, 12:] = 0
    axes = {"ids": {0: "batch", 1: "length"}, "mask": {0: "batch", 1: "length"}}
    return model, (ids, mask), dict(input_names=["ids", "mask"], dynamic_axes=axes)


def resnet50():
    return torchvision.models.resnet50(weights=None), (torch.randn(1, 3, 224, 224),), {}


MODELS = {"resnet50": resnet50, "transformer": transformer}


def generate(name, out_dir):
    torch.manual_seed(SEED)
    model, inputs, options = MODELS[name]()
    model.eval()
    torch.onnx.export(model, inputs, os.path.join(out_dir, f"{name}.onnx"), opset_version=14, **options)
    with open(os.path.join(out_dir, f"{name}.modules.json"), "w") as f:
        json.dump({path: type(module).__name__ for path, module in model.named_modules()}, f)
    io_dir = os.path.join(out_dir, name)
    os.makedirs(io_dir, exist_ok=True)
    for k, tensor in enumerate(inputs):
        np.save(os.path.join(io_dir, f"in_{k}.npy"), tensor.numpy())


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    index = os.path.join(out_dir, "index.json")
    if os.path.exists(index):
        os.remove(index)
    for name in MODELS:
        generate(name, out_dir)
        print(f"exported {name}", flush=True)
    with open(index, "w") as f:
        json.dump({"models": list(MODELS)}, f)


if __name__ == "__main__":
    main()
