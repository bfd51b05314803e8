#!/usr/bin/python3
"""Exports models with torch.onnx.export, as third-party ONNX files for the end-to-end tests.

    /usr/bin/python3 tests/e2e/gen_torch_onnx.py OUT_DIR [MODEL ...]

Debian's python3-torch 1.13.1 / python3-torchvision 0.14.1, random seeded weights, nothing
downloaded. Python only makes test inputs; the product never runs it. For each model NAME:
    OUT_DIR/NAME.onnx           torch.onnx.export of the eval-mode model (settings per model below)
    OUT_DIR/NAME.modules.json   {path: class name} of named_modules(), the `--modules` file
    OUT_DIR/NAME/in_K.npy       an example input per forward argument
    OUT_DIR/NAME/ref_K.npy      PyTorch's output K on those inputs (no_grad)
    OUT_DIR/NAME/second/...     the same at another batch and length, for models with dynamic axes
and OUT_DIR/index.json ({"models": [...]}) last: its presence means the run finished.

Without MODEL arguments: the models tests/e2e/retag.test.mjs (`htp-export tag`) uses, torchvision's
resnet50 and `transformer`, a small BERT-like encoder written here with what exercises node-name
parsing: nn.ModuleList layers (`/layers.0/...`), a module called twice (`act_1`), nested
Sequentials, a ModuleDict head (`/cls/...` is heads.cls), and dynamic batch and sequence axes, so
the root's own forward holds shape plumbing (Shape, Gather, Unsqueeze, ...). Both at opset 14.

tests/e2e/optimize.test.mjs (`htp-export optimize`) asks for the files its issue names:
resnet50_preserve and efficientnet_b0_preserve (BatchNormalization kept: training=PRESERVE,
do_constant_folding=False, opset 14), mobilenet_v2 (default settings), vit_b_16 (opset 14) and
`decoder`, a small GPT-style decoder written here (causal mask from the runtime length, dynamic
batch and length, opset 14). Their weights and BatchNorm statistics are made informative by
gen_torchvision.py's build(), so a 1e-4 tolerance checks something.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

import gen_torchvision

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


class CausalSelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x):
        batch, length, hidden = x.shape
        q, k, v = (t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)
                   for t in self.qkv(x).split(hidden, dim=2))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hidden // self.heads)
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        return self.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, hidden))


class DecoderBlock(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden)
        self.attn = CausalSelfAttention(hidden, heads)
        self.ln_2 = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(approximate="tanh"), nn.Linear(4 * hidden, hidden))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Decoder(nn.Module):
    def __init__(self, vocab=1000, hidden=64, heads=4, layers=3, max_length=128):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(max_length, hidden)
        self.h = nn.ModuleList(DecoderBlock(hidden, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden)
        self.lm_head = nn.Linear(hidden, vocab, bias=False)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.wte(ids) + self.wpe(positions)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def decoder():
    axes = {"ids": {0: "batch", 1: "length"}, "logits": {0: "batch", 1: "length"}}
    options = dict(input_names=["ids"], output_names=["logits"], dynamic_axes=axes, opset_version=14)
    return Decoder(), (torch.randint(0, 1000, (2, 16)),), options, (torch.randint(0, 1000, (3, 9)),)


def transformer():
    model = Transformer()
    ids = torch.randint(0, 1000, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.int64)
    mask[1, 12:] = 0
    second_mask = torch.ones(3, 9, dtype=torch.int64)
    second_mask[0, 5:] = 0
    axes = {"ids": {0: "batch", 1: "length"}, "mask": {0: "batch", 1: "length"}}
    options = dict(input_names=["ids", "mask"], dynamic_axes=axes, opset_version=14)
    return model, (ids, mask), options, (torch.randint(0, 1000, (3, 9)), second_mask)


def resnet50():
    return torchvision.models.resnet50(weights=None), (torch.randn(1, 3, 224, 224),), dict(opset_version=14), None


def torchvision_model(name, **options):
    def make():
        model, image = gen_torchvision.build(name)
        return model, (image,), options, None
    return make


PRESERVE = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, opset_version=14)
MODELS = {
    "resnet50": resnet50,
    "transformer": transformer,
    "resnet50_preserve": torchvision_model("resnet50", **PRESERVE),
    "efficientnet_b0_preserve": torchvision_model("efficientnet_b0", **PRESERVE),
    "mobilenet_v2": torchvision_model("mobilenet_v2"),
    "vit_b_16": torchvision_model("vit_b_16", opset_version=14),
    "decoder": decoder,
}
DEFAULT_MODELS = ["resnet50", "transformer"]


def save_io(model, inputs, io_dir):
    os.makedirs(io_dir, exist_ok=True)
    for k, tensor in enumerate(inputs):
        np.save(os.path.join(io_dir, f"in_{k}.npy"), tensor.numpy())
    with torch.no_grad():
        outputs = gen_torchvision.flatten(model(*inputs))
    for k, tensor in enumerate(outputs):
        np.save(os.path.join(io_dir, f"ref_{k}.npy"), tensor.numpy())


def generate(name, out_dir):
    torch.manual_seed(SEED)
    model, inputs, options, second_inputs = MODELS[name]()
    model.eval()
    torch.onnx.export(model, inputs, os.path.join(out_dir, f"{name}.onnx"), **options)
    with open(os.path.join(out_dir, f"{name}.modules.json"), "w") as f:
        json.dump({path: type(module).__name__ for path, module in model.named_modules()}, f)
    io_dir = os.path.join(out_dir, name)
    save_io(model, inputs, io_dir)
    if second_inputs is not None:
        save_io(model, second_inputs, os.path.join(io_dir, "second"))


def main():
    out_dir = sys.argv[1]
    names = sys.argv[2:] or DEFAULT_MODELS
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    os.makedirs(out_dir, exist_ok=True)
    index = os.path.join(out_dir, "index.json")
    if os.path.exists(index):
        os.remove(index)
    for name in names:
        generate(name, out_dir)
        print(f"exported {name}", flush=True)
    with open(index, "w") as f:
        json.dump({"models": names}, f)


if __name__ == "__main__":
    main()
