"""How fast a GPU writes a vocabulary-wide product (GPT-2's LM head: N = 50257, an odd row
length) in each way Kiln could write it. Times, with CUDA events, medians of 20 after warm-up:
  aligned   bf16 [M, 50264] product (padded columns, 16-byte rows)
  misaligned bf16 [M, 50257] product written at its final row pitch
  fp32 out  bf16 inputs, float32 [M, 50257] result (torch.mm out_dtype, where supported)
  fp32 out, padded B  the same from the padded weights' first 50257 columns (a view whose
            rows stay 16-byte aligned: only the result's rows are unaligned)
  crop      [M, 50264] bf16 -> [M, 50257] float32 copy (what follows the aligned product)
Usage: python bench/lm_head_probe.py [--rows 16384] [--json out.json]"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_attention import time_torch  # noqa: E402  (beside this script)


def median_ms(fn):
    return time_torch(fn, warmup=3, iterations=20)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--inner", type=int, default=768)
    parser.add_argument("--cols", type=int, default=50257)
    parser.add_argument("--json")
    args = parser.parse_args()
    m, k, n = args.rows, args.inner, args.cols
    padded = (n + 7) // 8 * 8
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(k, padded, device="cuda", dtype=torch.bfloat16)
    out_aligned = torch.empty(m, padded, device="cuda", dtype=torch.bfloat16)
    out_bf16 = torch.empty(m, n, device="cuda", dtype=torch.bfloat16)
    out_fp32 = torch.empty(m, n, device="cuda", dtype=torch.float32)
    w_contig = w[:, :n].contiguous()
    flops = 2.0 * m * n * k
    results = {"rows": m, "inner": k, "cols": n, "device": torch.cuda.get_device_name()}
    results["aligned_ms"] = median_ms(lambda: torch.mm(a, w, out=out_aligned))
    results["misaligned_ms"] = median_ms(lambda: torch.mm(a, w_contig, out=out_bf16))
    try:
        results["fp32_out_ms"] = median_ms(lambda: torch.mm(a, w_contig, out_dtype=torch.float32))
    except (TypeError, RuntimeError) as error:
        results["fp32_out_error"] = str(error)[:200]
    try:
        w_view = w[:, :n]
        results["fp32_out_padded_b_ms"] = median_ms(
            lambda: torch.mm(a, w_view, out_dtype=torch.float32))
        results["misaligned_padded_b_ms"] = median_ms(lambda: torch.mm(a, w_view, out=out_bf16))
    except (TypeError, RuntimeError) as error:
        results["fp32_out_padded_b_error"] = str(error)[:200]
    results["crop_ms"] = median_ms(lambda: out_fp32.copy_(out_aligned[:, :n]))
    results["crop_bf16_ms"] = median_ms(lambda: out_bf16.copy_(out_aligned[:, :n]))
    for key in ("aligned_ms", "misaligned_ms", "fp32_out_ms", "fp32_out_padded_b_ms",
                "misaligned_padded_b_ms"):
        if key in results:
            results[key.replace("_ms", "_tflops")] = flops / results[key] / 1e9
    crop_bytes = m * n * (2 + 4)
    results["crop_gbps"] = crop_bytes / results["crop_ms"] / 1e6
    print(json.dumps(results, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
