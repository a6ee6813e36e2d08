#!/usr/bin/env python3
"""Writes a copy of a torch.export archive (.pt2) with its float32 weights replaced by seeded
random values, as a freshly initialised PyTorch model would have them. The committed
full-size exports (tests/models/full_size/) keep real architectures with zero weights so that
they stay small; this makes them real networks again for demos and timings, with no PyTorch.

Initialisation, by parameter name and rank (what torchvision and Hugging Face models do):
  rank >= 2 (conv, linear):   normal(0, sqrt(2 / fan_in));  names with "embed": normal(0, 0.02)
  *.running_var:              uniform(0.5, 1.5)             *.running_mean: normal(0, 0.1)
  other rank-1 "weight":      1 + uniform(-0.1, 0.1)        other rank-1:   normal(0, 0.02)

Usage: scripts/randomize_weights.py IN.pt2 OUT.pt2 [--seed N]
"""

import argparse
import json
import sys
import zipfile

import numpy as np

FLOAT32 = 7  # torch.export's serialized ScalarType for torch.float32


def random_values(name, sizes, generator):
    count = int(np.prod(sizes)) if sizes else 1
    if len(sizes) >= 2:
        fan_in = count // sizes[0]
        std = 0.02 if "embed" in name else (2.0 / max(fan_in, 1)) ** 0.5
        return generator.normal(0.0, std, count)
    if name.endswith("running_var"):
        return generator.uniform(0.5, 1.5, count)
    if name.endswith("running_mean"):
        return generator.normal(0.0, 0.1, count)
    if name.endswith("weight"):
        return 1.0 + generator.uniform(-0.1, 0.1, count)
    return generator.normal(0.0, 0.02, count)


def weight_entries(archive):
    """Zip entry name → parameter name and sizes, for every contiguous float32 weight."""
    configs = [name for name in archive.namelist()
               if name.endswith("data/weights/model_weights_config.json")]
    if len(configs) != 1:
        sys.exit(f"randomize_weights: expected one model_weights_config.json, found {len(configs)}")
    folder = configs[0][: -len("model_weights_config.json")]
    entries = {}
    for name, weight in json.loads(archive.read(configs[0]))["config"].items():
        meta = weight["tensor_meta"]
        sizes = [size["as_int"] for size in meta["sizes"]]
        if meta["dtype"] != FLOAT32 or meta["storage_offset"]["as_int"] != 0:
            continue
        entries[folder + weight["path_name"]] = (name, sizes)
    return entries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generator = np.random.default_rng(args.seed)
    with zipfile.ZipFile(args.source) as source, \
            zipfile.ZipFile(args.target, "w", zipfile.ZIP_STORED) as target:
        entries = weight_entries(source)
        replaced = 0
        for info in source.infolist():
            data = source.read(info)
            if info.filename in entries:
                name, sizes = entries[info.filename]
                values = random_values(name, sizes, generator).astype("<f4").tobytes()
                if len(values) != len(data):
                    sys.exit(f"randomize_weights: {name}: {len(data)} bytes stored, "
                             f"{len(values)} expected for {sizes}")
                data = values
                replaced += 1
            target.writestr(info.filename, data, compress_type=zipfile.ZIP_STORED)
    print(f"randomize_weights: {args.target}: {replaced} float32 weights randomized (seed "
          f"{args.seed})")


if __name__ == "__main__":
    main()
