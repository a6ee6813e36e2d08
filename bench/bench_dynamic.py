#!/usr/bin/env python3
"""One engine over a range of batch and sequence sizes, on the GPU machine (needs torch,
transformers and a GPU): BERT-base and a small Llama-architecture decoder (random weights)
exported with a dynamic batch and sequence, built once with kiln.build(dims={batch: (1, 8, 32),
seq: (16, 128, 256)}), run at 5 sizes across the ranges against PyTorch FP32 eager, and
`kiln bench` at the opt sizes against an engine built for those sizes alone (alternating
rounds).

Usage: PYTHONPATH=build-device/python python3 bench/bench_dynamic.py --kiln build-device/kiln
       --out DIR
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import torch

import kiln

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import build_model  # noqa: E402

SIZES = [(1, 16), (3, 40), (8, 128), (17, 200), (32, 256)]  # across both ranges
BATCH, SEQ = (1, 8, 32), (16, 128, 256)


def llama():
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=256, intermediate_size=688, num_hidden_layers=2,
                         num_attention_heads=8, num_key_value_heads=2, vocab_size=4096,
                         max_position_embeddings=512, use_cache=False,
                         attn_implementation="sdpa")
    model = LlamaForCausalLM(config).eval()

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    return Logits().eval(), 4096


def models():
    return {"bert": (build_model("bert"), 30522), "llama": llama()}


def inputs_for(vocab, batch, seq, generator):
    ids = torch.randint(0, vocab, (batch, seq), generator=generator)
    return ids, torch.ones(batch, seq, dtype=torch.int64)


def export(model, vocab, path):
    """Dynamic batch and sequence: named ranges, or (where the model adds constraints of its
    own, as HF Llama's mask and rotary code do) torch's inferred ones (Dim.AUTO)."""
    example = inputs_for(vocab, 2, 32, torch.Generator().manual_seed(0))
    batch = torch.export.Dim("batch", min=1, max=64)
    seq = torch.export.Dim("seq", min=8, max=512)
    try:
        program = torch.export.export(model, example, dynamic_shapes={
            "input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}})
    except Exception:  # the model constrains seq: let torch infer the ranges
        auto = torch.export.Dim.AUTO
        program = torch.export.export(model, example, dynamic_shapes={
            "input_ids": {0: auto, 1: auto}, "attention_mask": {0: auto, 1: auto}})
    torch.export.save(program, path)


def symbols(model_path):
    """The symbols of input_ids' two dims (torch names them s0, s1, ...)."""
    for spec in kiln.load_model(model_path).inputs:
        if spec["name"] == "input_ids":
            return [dim.strip() for dim in spec["shape"].strip("[]").split(",")]
    raise RuntimeError("no input_ids")


def bench(cli, path, dims, iterations=200):
    args = [cli, "bench", path, "--cuda-graph", "--json", "--iterations", str(iterations),
            "--warmup", "20"]
    for name, size in dims.items():
        args += ["--dim", f"{name}={size}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["latency_ms"]["median"]


def one_model(name, model, vocab, cli, folder):
    row = {"model": name}
    path = os.path.join(folder, f"{name}.pt2")
    export(model, vocab, path)
    batch_symbol, seq_symbol = symbols(path)
    ranged = kiln.build(path, precisions="fp32,bf16", backend="cuda",
                        dims={batch_symbol: BATCH, seq_symbol: SEQ})
    row["dim_ranges"] = ranged.inspect()["dim_ranges"]
    context = ranged.context()
    model = model.cuda()
    generator = torch.Generator().manual_seed(1)
    errors = {}
    for batch, seq in SIZES:
        ids, mask = inputs_for(vocab, batch, seq, generator)
        with torch.no_grad():
            expected = model(ids.cuda(), mask.cuda())
            expected = expected[0] if isinstance(expected, (tuple, list)) else expected
        actual = next(iter(context.run({"input_ids": ids.cuda(),
                                        "attention_mask": mask.cuda()}).values()))
        errors[f"{batch}x{seq}"] = kiln.compare(actual, expected)["normalized_error"]
    row["normalized_error_vs_pytorch_fp32"] = errors
    opt = {batch_symbol: BATCH[1], seq_symbol: SEQ[1]}
    fixed = kiln.build(path, precisions="fp32,bf16", backend="cuda", dims=opt)
    ranged_path, fixed_path = (os.path.join(folder, f"{name}_{kind}.kiln")
                               for kind in ("range", "fixed"))
    ranged.save(ranged_path)
    fixed.save(fixed_path)
    rounds = {"range engine": [], "fixed engine": []}
    for _ in range(3):
        rounds["range engine"].append(bench(cli, ranged_path, opt))
        rounds["fixed engine"].append(bench(cli, fixed_path, opt))
    row["kiln_bench_at_opt_ms"] = rounds
    medians = {kind: statistics.median(values) for kind, values in rounds.items()}
    row["range_vs_fixed"] = medians["range engine"] / medians["fixed engine"] - 1
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default="build/kiln")
    parser.add_argument("--out", default="bench-dynamic")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    report = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
              "batch_range": BATCH, "seq_range": SEQ, "models": []}
    with tempfile.TemporaryDirectory() as folder:
        for name, (model, vocab) in models().items():
            try:
                report["models"].append(one_model(name, model, vocab, args.kiln, folder))
            except Exception as error:  # reported, not hidden: the row says what failed
                report["models"].append({"model": name, "error": f"{type(error).__name__}: "
                                         f"{str(error).splitlines()[0] if str(error) else ''}"})
            print(json.dumps(report["models"][-1]), flush=True)
    with open(os.path.join(args.out, "results.json"), "w") as file:
        json.dump(report, file, indent=2)


if __name__ == "__main__":
    main()
