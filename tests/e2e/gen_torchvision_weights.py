#!/usr/bin/python3
"""Writes torchvision state dicts and their outputs for tests/e2e/zoo_torchvision_weights.test.mjs.

    /usr/bin/python3 tests/e2e/gen_torchvision_weights.py OUT_DIR SIZE MODEL ...

For each MODEL (a torchvision classification builder that is also a zoo name), seeded random weights
with random BatchNorm statistics (gen_torchvision.make_outputs_informative), in eval mode:
    OUT_DIR/MODEL/weights.pt   torch.save(dict(model.state_dict())), as docs/weights.md says to convert
    OUT_DIR/MODEL/in_0.npy     a 1x3xSIZExSIZE standard normal input
    OUT_DIR/MODEL/ref_0.npy    torchvision's output for it
and OUT_DIR/index.json, last, listing the models. Python only makes the test inputs.
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision

from gen_torchvision import make_outputs_informative

SEED = 0


def generate(name, size, folder):
    torch.manual_seed(SEED)
    model = torchvision.models.get_model(name, weights=None)
    make_outputs_informative(model)
    model.eval()
    image = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(SEED))
    with torch.no_grad():
        output = model(image)
    os.makedirs(folder, exist_ok=True)
    torch.save(dict(model.state_dict()), os.path.join(folder, "weights.pt"))
    np.save(os.path.join(folder, "in_0.npy"), image.numpy())
    np.save(os.path.join(folder, "ref_0.npy"), output.numpy())


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out_dir, size, names = os.path.abspath(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    index_path = os.path.join(out_dir, "index.json")
    if os.path.exists(index_path):
        os.remove(index_path)
    for name in names:
        generate(name, size, os.path.join(out_dir, name))
        print(f"generated {name}", flush=True)
    with open(index_path, "w") as f:
        json.dump({"models": names, "size": size, "torch": torch.__version__, "torchvision": torchvision.__version__}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
