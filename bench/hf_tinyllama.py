"""Writes a Hugging Face directory of TinyLlama-1.1B-Chat-v1.0's configuration: config.json and
model.safetensors (4.4 GB in F32, 2.2 GB in F16) with seeded N(0, 0.02) weights and unit norms, one tensor
at a time, so the writer itself stays small. Usage: /usr/bin/python3 bench/hf_tinyllama.py DIR [F32|F16] (Debian's python3, which has numpy)."""
import json
import os
import struct
import sys

import numpy as np

CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632,
    "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4, "vocab_size": 32000,
    "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
    "hidden_act": "silu", "torch_dtype": "float32",
}


def tensors(config):
    h, i, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    kv = h // config["num_attention_heads"] * config["num_key_value_heads"]
    yield "model.embed_tokens.weight", (v, h)
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        yield p + "self_attn.q_proj.weight", (h, h)
        yield p + "self_attn.k_proj.weight", (kv, h)
        yield p + "self_attn.v_proj.weight", (kv, h)
        yield p + "self_attn.o_proj.weight", (h, h)
        yield p + "mlp.gate_proj.weight", (i, h)
        yield p + "mlp.up_proj.weight", (i, h)
        yield p + "mlp.down_proj.weight", (h, i)
        yield p + "input_layernorm.weight", (h,)
        yield p + "post_attention_layernorm.weight", (h,)
    yield "model.norm.weight", (h,)
    yield "lm_head.weight", (v, h)


def main():
    out, dtype = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "F32")
    numpy_dtype = {"F32": np.float32, "F16": np.float16}[dtype]
    os.makedirs(out, exist_ok=True)
    config = dict(CONFIG, torch_dtype={"F32": "float32", "F16": "float16"}[dtype])
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    entries = list(tensors(config))
    for name, shape in entries:
        size = int(np.prod(shape)) * np.dtype(numpy_dtype).itemsize
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(0)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name, shape in entries:
            values = np.ones(shape) if len(shape) == 1 else rng.standard_normal(shape, dtype=np.float32) * 0.02
            f.write(values.astype(numpy_dtype).tobytes())


if __name__ == "__main__":
    main()
