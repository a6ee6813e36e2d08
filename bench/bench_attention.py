"""Attention alone, BF16: Kiln's attention layer beside PyTorch's scaled_dot_product_attention
on the same shapes, in TFLOP/s (issue 14's micro-benchmark).

For each shape a module holding only F.scaled_dot_product_attention is exported with bfloat16
inputs [batch, heads, seq, head_dim] and built with `kiln build --strongly-typed` (so no casts
surround it); `kiln bench --json` times the engine and its Attention layer (per-layer medians,
CUDA events). PyTorch's SDPA is timed with CUDA events, medians after warm-up, once per
backend it has (flash, cuDNN, memory-efficient), on the same GPU in the same run.
FLOPs: 4 * batch * heads * seq_q * seq_k * head_dim, halved for causal masks.

Usage (GPU machine): python bench/bench_attention.py --kiln build-device/kiln --out DIR
Writes DIR/attention.json and DIR/attention.md."""
import argparse
import json
import os
import subprocess
import sys

# batch, heads, seq, head_dim, causal
SHAPES = ((32, 12, 512, 64, False), (32, 12, 512, 64, True), (4, 32, 2048, 128, True))


def parse_shapes(text):
    """'32x12x512x64,4x32x2048x128c' -> shapes; a trailing c marks a causal mask."""
    shapes = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        causal = item.endswith("c")
        numbers = [int(n) for n in item.rstrip("c").split("x")]
        if len(numbers) != 4 or min(numbers) <= 0:
            raise ValueError(f"shape '{item}': want BATCHxHEADSxSEQxHEAD_DIM[c]")
        shapes.append((*numbers, causal))
    return tuple(shapes)


def flops(batch, heads, seq, head_dim, causal):
    total = 4.0 * batch * heads * seq * seq * head_dim
    return total / 2 if causal else total


def label(shape):
    batch, heads, seq, head_dim, causal = shape
    return f"b{batch} h{heads} s{seq} d{head_dim}" + (" causal" if causal else "")


def time_torch(function, warmup, iterations):
    import torch
    for _ in range(warmup):
        function()
    torch.cuda.synchronize()
    times = []
    for _ in range(iterations):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        function()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return sorted(times)[len(times) // 2]


def torch_rows(shape, args):
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    batch, heads, seq, head_dim, causal = shape
    q, k, v = (torch.randn(batch, heads, seq, head_dim, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    rows = {}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                          ("efficient", SDPBackend.EFFICIENT_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                rows[name] = time_torch(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                                        args.warmup, args.iterations)
        except RuntimeError as error:  # a backend that does not take the shape
            rows[name] = None
            print(f"  torch {name}: {str(error).splitlines()[0][:120]}", flush=True)
    return rows


def kiln_row(shape, args):
    import torch
    batch, heads, seq, head_dim, causal = shape

    class Attention(torch.nn.Module):
        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)

    stem = os.path.join(args.work, label(shape).replace(" ", "_"))
    example = tuple(torch.randn(batch, heads, seq, head_dim, dtype=torch.bfloat16) for _ in range(3))
    torch.export.save(torch.export.export(Attention(), example), stem + ".pt2")
    build = [args.kiln, "build", stem + ".pt2", "--strongly-typed", "-o", stem + ".kiln"]
    done = subprocess.run(build, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"note": "build failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
    bench = [args.kiln, "bench", stem + ".kiln", "--json", "--cuda-graph", "--warmup", str(args.warmup),
             "--iterations", str(args.iterations)]
    done = subprocess.run(bench, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"note": "bench failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
    report = json.loads(done.stdout)
    layers = [layer for layer in report.get("layers") or [] if layer.get("op") == "Attention"]
    return {"engine_ms": report.get("latency_ms", {}).get("median"),
            "attention_ms": layers[0]["median_ms"] if layers else None,
            "tactic": layers[0].get("tactic") if layers else None,
            "layers": [(layer.get("op"), layer.get("median_ms")) for layer in report.get("layers") or []]}


def tflops(shape, ms):
    return None if not ms else flops(*shape) / ms / 1e9


def markdown(results, device):
    lines = [f"# Attention alone, BF16, {device}", "",
             "TFLOP/s (median ms). Kiln: the engine's Attention layer (per-layer median, CUDA graph "
             "replays); engine: the whole engine per inference. PyTorch: F.scaled_dot_product_attention "
             "per backend.", "",
             "| shape | Kiln attention | Kiln engine | torch flash | torch cuDNN | torch efficient | Kiln tactic |",
             "|---|---|---|---|---|---|---|"]

    def cell(shape, ms):
        return f"{tflops(shape, ms):.0f} ({ms:.3f})" if ms else "-"

    for item in results:
        shape, kiln, torch_ms = tuple(item["shape"]), item["kiln"], item["torch"]
        lines.append(f"| {label(shape)} | {cell(shape, kiln.get('attention_ms'))} | "
                     f"{cell(shape, kiln.get('engine_ms'))} | {cell(shape, torch_ms.get('flash'))} | "
                     f"{cell(shape, torch_ms.get('cudnn'))} | {cell(shape, torch_ms.get('efficient'))} | "
                     f"{kiln.get('tactic') or kiln.get('note', '')} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default="build-device/kiln")
    parser.add_argument("--shapes", type=parse_shapes, default=SHAPES,
                        help="comma list of BATCHxHEADSxSEQxHEAD_DIM, c suffix for causal")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--work", default="/tmp/kiln-attention")
    parser.add_argument("--out", default="bench/results/attention")
    args = parser.parse_args(argv)
    import torch
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    device = torch.cuda.get_device_name()
    results = []
    for shape in args.shapes:
        print(f"{label(shape)}", flush=True)
        results.append({"shape": list(shape), "flops": flops(*shape), "torch": torch_rows(shape, args),
                        "kiln": kiln_row(shape, args)})
        with open(os.path.join(args.out, "attention.json"), "w") as f:
            json.dump({"device": device, "torch": torch.__version__, "results": results}, f, indent=1)
        with open(os.path.join(args.out, "attention.md"), "w") as f:
            f.write(markdown(results, device))
    sys.stdout.write(markdown(results, device))


if __name__ == "__main__":
    main()
