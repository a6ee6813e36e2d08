#!/usr/bin/env python3
"""The seed scenario in Python: one model stored in FP32 and in BF16, each compiled by Kiln with
{fp32,bf16} and with {bf16}; latency (CUDA events, CUDA graphs) and normalized error against
PyTorch FP32, side by side. Needs torch and a GPU.

    python3 python/examples/seed_scenario.py [--batch 32]
"""

import argparse
import copy

import torch

import kiln
import kiln.torch


class Encoder(torch.nn.Module):
    """A small transformer encoder: attention, LayerNorm, GELU MLP."""

    def __init__(self, width=512, heads=8, layers=4):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(width, heads, 4 * width, activation="gelu",
                                                 batch_first=True, norm_first=True, dropout=0.0)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(x)


def median_ms(forward, x, iterations=100):
    for _ in range(10):
        forward(x)
    times = []
    for _ in range(iterations):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        forward(x)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(0)
    fp32_model = Encoder().cuda().eval()
    bf16_model = copy.deepcopy(fp32_model).to(torch.bfloat16)
    x = torch.randn(args.batch, 128, 512, device="cuda")
    with torch.no_grad():
        reference = fp32_model(x)
    print(f"{'stored':8} {'precisions':12} {'median ms':>10} {'error vs PyTorch fp32':>22}")
    for stored, model in (("fp32", fp32_model), ("bf16", bf16_model)):
        example = x.to(next(model.parameters()).dtype)
        for precisions in ({torch.float32, torch.bfloat16}, {torch.bfloat16}):
            compiled = kiln.torch.compile(model, (example,), enabled_precisions=precisions,
                                          cuda_graph=True)
            output = compiled(example)
            error = kiln.compare(output.float(), reference)["normalized_error"]
            names = ",".join(sorted(str(p).removeprefix("torch.") for p in precisions))
            print(f"{stored:8} {names:12} {median_ms(compiled, example):10.3f} {error:22.2e}")


if __name__ == "__main__":
    main()
