#!/usr/bin/env python3
"""Exports full-size models (torchvision ResNet-50, MobileNetV3-Large, ViT-B/16; Hugging Face
BERT-base, GPT-2) with torch.export (training IR and core ATen) and torch.jit.trace, so Kiln's
tests can check that each loads with no unsupported op.

The graphs are what PyTorch exports for these architectures; only the weight *values* are
replaced by constants (zeros; BatchNorm variance 1) so that the archives, re-zipped with
deflate, are small enough to commit. Loading does not depend on weight values.

Run on a machine with PyTorch, torchvision and transformers:
    python3 tests/models/make_full_size_archives.py --out tests/models/full_size
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
import zipfile

import torch
import torch.nn as nn


class HfWrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask=None):
        if attention_mask is None:
            return self.model(input_ids=input_ids)[0]
        return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]


def models():
    import torchvision
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model

    image = (torch.randn(1, 3, 224, 224),)
    ids = torch.randint(0, 1000, (1, 128))
    return {
        "resnet50": (lambda: torchvision.models.resnet50(), image),
        "mobilenet_v3_large": (lambda: torchvision.models.mobilenet_v3_large(), image),
        "vit_b_16": (lambda: torchvision.models.vit_b_16(), image),
        "bert_base": (lambda: HfWrapper(BertModel(BertConfig(attn_implementation="sdpa", torchscript=True),
                                                  add_pooling_layer=False)),
                      (ids, torch.ones(1, 128, dtype=torch.int64))),
        "gpt2": (lambda: HfWrapper(GPT2Model(GPT2Config(use_cache=False, attn_implementation="sdpa",
                                                        torchscript=True))), (ids,)),
    }


def constant_weights(model):
    with torch.no_grad():
        for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
            if tensor.is_floating_point():
                tensor.fill_(1.0 if name.endswith("running_var") else 0.0)


def deflate_copy(source, target):
    """torch writes stored (uncompressed) zips; constant weights deflate to almost nothing."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    scratch = tempfile.mkdtemp()
    for name, (make, inputs) in models().items():
        model = make().eval()
        constant_weights(model)
        exports = {
            f"{name}.pt2": lambda: torch.export.save(torch.export.export(model, inputs), path),
            f"{name}_core.pt2": lambda: torch.export.save(torch.export.export(model, inputs).run_decompositions(), path),
            f"{name}.pt": lambda: torch.jit.save(torch.jit.trace(model, inputs, strict=False, check_trace=False), path),
        }
        for file_name, export in exports.items():
            path = os.path.join(scratch, file_name)
            started = time.time()
            try:
                export()
                deflate_copy(path, os.path.join(args.out, file_name))
                size = os.path.getsize(os.path.join(args.out, file_name))
                print(f"{file_name}: ok, {size / 1e6:.2f} MB ({time.time() - started:.1f}s)", flush=True)
            except Exception as error:
                print(f"{file_name}: FAILED {type(error).__name__}: {str(error).splitlines()[0][:200]}", flush=True)
                traceback.print_exc()
    shutil.rmtree(scratch)


if __name__ == "__main__":
    sys.exit(main())
