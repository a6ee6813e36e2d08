#!/usr/bin/env python3
"""What the Python layer costs over the C++ engine, on the GPU machine (needs torch and a GPU):

1. Per call: Context.run on torch CUDA tensors with CUDA graphs (outputs= preallocated, as
   kiln.torch does, and without), against C++ enqueues of the same context, on a small model
   whose inference is shorter than the call overhead: host microseconds per call and wall
   microseconds per inference.
2. A whole model: kiln.torch.compile(BERT-base, batch 32, {fp32,bf16}, cuda_graph=True) timed
   by CUDA events like bench_models.py times torch, against `kiln bench --cuda-graph` on the
   same engine file.

Usage: PYTHONPATH=build-device/python python3 bench/bench_python.py --kiln build-device/kiln
       --out DIR
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

import kiln
import kiln.torch as kiln_torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import build_model, make_inputs, time_forward  # noqa: E402


class Small(torch.nn.Module):
    """Two small layers: a few microseconds of GPU work, so per-call costs dominate."""

    def __init__(self):
        super().__init__()
        self.first = torch.nn.Linear(64, 64)
        self.second = torch.nn.Linear(64, 64)

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))


def per_call(iterations):
    torch.manual_seed(0)
    module = Small().cuda().eval()
    x = torch.randn(8, 64, device="cuda")
    compiled = kiln_torch.compile(module, (x,), enabled_precisions={"fp32"}, cuda_graph=True)
    context, _ = compiled._context(x.device)
    name = compiled._input_names[0]
    stream = torch.cuda.current_stream().cuda_stream
    specs = context.output_specs({name: list(x.shape)})
    outputs = {out: torch.empty(dims, device="cuda") for out, (dims, _) in specs.items()}

    def timed(call):
        for _ in range(20):
            call()
        torch.cuda.synchronize()
        host = []
        start = time.perf_counter()
        for _ in range(iterations):
            begin = time.perf_counter()
            call()
            host.append((time.perf_counter() - begin) * 1e6)
        torch.cuda.synchronize()
        wall = (time.perf_counter() - start) * 1e6 / iterations
        return {"host_us_median": statistics.median(host), "wall_us_per_call": wall}

    side = torch.cuda.Stream()
    results = {
        "context.run, outputs= given": timed(
            lambda: context.run({name: x}, outputs=outputs, stream=stream)),
        "context.run, outputs= given, a torch side stream": timed(
            lambda: context.run({name: x}, outputs=outputs, stream=side.cuda_stream)),
        "context.run, outputs allocated": timed(lambda: context.run({name: x}, stream=stream)),
        "KilnModule.__call__": timed(lambda: compiled(x)),
    }
    host, wall = context._native.time_enqueue({name: list(x.shape)}, iterations, stream)
    results["C++ enqueue (same context)"] = {"host_us_median": host, "wall_us_per_call": wall}
    return results


def back_to_back(forward, inputs, iterations):
    """Milliseconds per call over `iterations` calls issued without waiting (a serving loop
    that keeps the GPU busy): the GPU's time per inference, host latency hidden."""
    with torch.inference_mode():
        for _ in range(20):
            forward(*inputs)
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iterations):
            forward(*inputs)
        end.record()
        end.synchronize()
    return start.elapsed_time(end) / iterations


def bert_module_vs_cli(kiln_cli, batch, iterations, rounds=5):
    """The module against `kiln bench` on its saved engine, in alternating rounds (one GPU,
    other processes' clocks and caches between them), with the module's own context timed
    from C++ the way `kiln bench` times (events around each enqueue) to separate the Python
    call from the engine, and both back to back."""
    model = build_model("bert").cuda()
    inputs = tuple(t.cuda() for t in make_inputs("bert", batch))
    compiled = kiln_torch.compile(model, inputs, enabled_precisions={"fp32", "bf16"},
                                  cuda_graph=True)
    rows = {"kiln.torch module": [], "module's context, C++ enqueue": [], "kiln bench (CLI)": [],
            "kiln.torch module, back to back": [], "C++ enqueue, back to back": []}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bert.kiln")
        kiln_torch.save(compiled, path)
        for _ in range(rounds):
            rows["kiln.torch module"].append(
                time_forward(compiled, inputs, warmup=20, iterations=iterations)["median_ms"])
            context, _ = compiled._context(inputs[0].device)
            dims = {name: list(t.shape) for name, t in zip(compiled._input_names, inputs)}
            stream = torch.cuda.current_stream().cuda_stream
            rows["module's context, C++ enqueue"].append(
                statistics.median(context._native.time_device(dims, iterations, stream)))
            output = subprocess.run([kiln_cli, "bench", path, "--cuda-graph", "--json",
                                     "--iterations", str(iterations), "--warmup", "20"],
                                    check=True, capture_output=True, text=True).stdout
            rows["kiln bench (CLI)"].append(json.loads(output)["latency_ms"]["median"])
            rows["kiln.torch module, back to back"].append(
                back_to_back(compiled, inputs, iterations))
            rows["C++ enqueue, back to back"].append(
                context._native.time_enqueue(dims, iterations, stream)[1] / 1000)
    return {"batch": batch, "rounds_ms": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default="build/kiln", help="the kiln CLI")
    parser.add_argument("--out", default="bench-python", help="folder for results.json")
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    report = {
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "kiln": kiln.__version__,
        "per_call": per_call(args.iterations),
        "bert": bert_module_vs_cli(args.kiln, 32, 200),
    }
    with open(os.path.join(args.out, "results.json"), "w") as file:
        json.dump(report, file, indent=2)
    summary = markdown(report)
    with open(os.path.join(args.out, "results.md"), "w") as file:
        file.write(summary)
    print(summary)


def markdown(report):
    """The two tables of results.md."""
    calls = report["per_call"]
    base = calls["C++ enqueue (same context)"]["host_us_median"]
    lines = [f"# Python layer overhead ({report['gpu']}, torch {report['torch']})", "",
             "| call (small model, CUDA graph) | host µs per call (median) | over C++ enqueue | "
             "wall µs per call |", "|---|---|---|---|"]
    for name, row in calls.items():
        lines.append(f"| {name} | {row['host_us_median']:.1f} | "
                     f"{row['host_us_median'] - base:+.1f} | {row['wall_us_per_call']:.1f} |")
    bert = report["bert"]
    rows = bert["rounds_ms"]
    cli = statistics.median(rows["kiln bench (CLI)"])
    lines += ["", f"BERT-base, batch {bert['batch']}, {{fp32,bf16}}, CUDA graph, CUDA events "
              "around each call and a wait after it (as bench_models.py times torch and `kiln "
              "bench` times engines), or around a run of calls issued back to back; rounds "
              "alternate:", "",
              "| | ms per round | median | against `kiln bench` |", "|---|---|---|---|"]
    for name, values in rows.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {', '.join(f'{v:.3f}' for v in values)} | {median:.3f} | "
                     f"{100 * (median / cli - 1):+.1f}% |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
