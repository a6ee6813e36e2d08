#!/usr/bin/env python3
"""Model coverage: which model families Kiln imports and runs correctly, in which file format
and precision, against PyTorch.

Each model of bench/coverage_models.py (torchvision classifiers and segmenters at real size,
Hugging Face architectures at small random configurations, diffusion U-Net blocks) is run by
PyTorch in FP32 and saved in each format: torch.export (.pt2), the dynamo ONNX exporter
(.onnx) and traced TorchScript (.pt); pt2_core is the .pt2 decomposed to core ATen
(`run_decompositions()`, the dialect of inference toolchains). Kiln then runs each file
directly (`kiln run`, FP32) and through engines built with `-p fp32` and `-p fp32,bf16`, and each output is compared to
PyTorch's FP32 one by normalized error ||out-ref||/||ref|| (FP32 at most 1e-4, {fp32,bf16} at
most 3e-2). A model whose output barely depends on its input (random weights can do that) is
flagged by its low sensitivity: its error proves little.

    python bench/coverage.py --kiln build/kiln --backend cpu --out bench/results/DATE-coverage
    python bench/coverage.py --kiln build/kiln --models resnet50,t5 --formats pt2,onnx
    python bench/coverage.py --merge cpu/coverage.json cuda/coverage.json > docs/coverage.md
Needs torch, torchvision, transformers, onnxscript, safetensors and numpy (on the GPU machine:
/opt/torch/.venv/bin/python). Writes OUT/coverage.json and OUT/coverage.md after every model.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coverage_models  # noqa: E402  (beside this script)

# pt2: torch.export's default (training) dialect; pt2_core: the same program after
# run_decompositions(), core ATen (the inference dialect other toolchains consume).
FORMATS = {"pt2": ".pt2", "pt2_core": "_core.pt2", "onnx": ".onnx", "torchscript": ".pt"}
# What each checked run is, the precisions its engine enables, and its tolerance.
RUNS = {"run": (None, 1e-4), "fp32": ("fp32", 1e-4), "bf16": ("fp32,bf16", 3e-2)}


def first_tensor(output):
    import torch
    if torch.is_tensor(output):
        return output
    if isinstance(output, dict):
        return first_tensor(next(iter(output.values())))
    if hasattr(output, "to_tuple"):
        output = output.to_tuple()
    return first_tensor(output[0])


def tensor_only(model, args):
    """`model` as a module that takes only the tensor arguments (every exporter wants tensors;
    a None argument is put back in its place) and returns its first output tensor."""
    import torch
    slots = [a is not None for a in args]

    class FirstOutput(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            it = iter(tensors)
            return first_tensor(self.inner(*[next(it) if present else None for present in slots]))

    return FirstOutput(model.eval()).eval(), tuple(a for a in args if a is not None)


def save_format(fmt, module, tensors, path):
    import torch
    if fmt == "pt2":
        torch.export.save(torch.export.export(module, tensors), path)
    elif fmt == "pt2_core":
        torch.export.save(torch.export.export(module, tensors).run_decompositions(), path)
    elif fmt == "onnx":
        torch.onnx.export(module, tensors, path, dynamo=True, external_data=False, verbose=False)
    else:
        with torch.no_grad():
            torch.jit.trace(module, tensors, check_trace=False).save(path)


def relative_error(out, reference):
    return float(np.linalg.norm(out.astype(np.float64) - reference) /
                 max(np.linalg.norm(reference), 1e-30))


def torch_bf16_error(module, tensors, reference):
    """PyTorch's own BF16 error on the same inputs: the model cast to bfloat16, or where it
    mixes dtypes itself (a float32 timestep embedding), run under autocast."""
    import copy
    import torch
    with torch.no_grad():
        try:
            cast = copy.deepcopy(module).bfloat16()
            out = cast(*[t.bfloat16() if t.is_floating_point() else t for t in tensors])
        except RuntimeError:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = module(*tensors)
    return relative_error(out.float().numpy(), reference)


def torch_fp32_error(module, tensors, reference):
    """PyTorch's own FP32 error: its FP32 output against the model run in float64 (None where
    the model will not run in float64). A network that amplifies rounding (random weights,
    BatchNorm calibrated on noise) shows it here, in Kiln's error too."""
    import copy
    import torch
    try:
        with torch.no_grad():
            wide = copy.deepcopy(module).double()
            out = wide(*[t.double() if t.is_floating_point() else t for t in tensors])
        return relative_error(reference.astype(np.float64), out.numpy())
    except (RuntimeError, TypeError):
        return None


def export_case(name, formats, work, image_size):
    """PyTorch's reference output, its sensitivity to the input and its own BF16 error, the
    input tensors, and per format the saved file or the exporter's error (a PyTorch failure,
    not Kiln's)."""
    import torch
    torch.manual_seed(0)
    module, tensors = tensor_only(*coverage_models.make(name, image_size))
    with torch.no_grad():
        reference = module(*tensors).float().numpy()
        other = tuple(torch.randn_like(t) if t.is_floating_point() else torch.randint_like(t, 0, 1000)
                      for t in tensors)
        moved = module(*other).float().numpy()
    sensitivity = relative_error(moved, reference)
    torch_errors = {"torch_bf16": torch_bf16_error(module, tensors, reference),
                    "torch_fp32": torch_fp32_error(module, tensors, reference)}
    files = {}
    for fmt in formats:
        path = os.path.join(work, name + FORMATS[fmt])
        try:
            save_format(fmt, module, tensors, path)
            files[fmt] = path
        except Exception as error:
            message = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()[0][:160]
            files[fmt] = f"export failed: {type(error).__name__}: {message}"
    return reference, sensitivity, torch_errors, [t.numpy() for t in tensors], files


def kiln(args, *command):
    return subprocess.run([args.kiln, *command], capture_output=True, text=True, timeout=args.timeout)


def unsupported_ops(report):
    """'unsupported: aten.x.default, ...' from `kiln inspect --json`'s report, or None."""
    try:
        ops = [entry["op"] for entry in json.loads(report).get("unsupported", [])]
    except (ValueError, AttributeError, KeyError, TypeError):
        return None
    return "unsupported: " + ", ".join(ops) if ops else None


def first_lines(done):
    return " ".join(done.stderr.strip().splitlines()[:3]).replace("|", "/")


def inputs_file(args, path, tensors):
    """A safetensors file of `tensors` under the input names Kiln reads from `path`."""
    from safetensors.numpy import save_file
    done = kiln(args, "inspect", "--json", path)
    if done.returncode:
        return None, "inspect failed: " + (unsupported_ops(done.stdout) or first_lines(done))
    names = [i["name"] for i in json.loads(done.stdout)["inputs"]]
    if len(names) != len(tensors):
        return None, f"{len(names)} inputs in the file, {len(tensors)} given"
    out = path + ".inputs.safetensors"
    save_file(dict(zip(names, tensors)), out)
    return out, None


def check_run(args, path, inputs, reference, precisions):
    """Normalized error of one Kiln run (`kiln run` of the model file, or of an engine built
    with `precisions`), or the reason it has none."""
    from safetensors.numpy import load_file
    if precisions:
        engine = f"{path}.{precisions.replace(',', '_')}.kiln"
        done = kiln(args, "build", path, "-o", engine, "-p", precisions, "--backend", args.backend,
                    "--conv-layout", args.conv_layout, "-q")
        if done.returncode:
            return "build failed: " + first_lines(done)
        path = engine
    out_dir = path + ".out"
    done = kiln(args, "run", path, "-i", inputs, "--backend", args.backend, "-o", out_dir,
                "--output-format", "safetensors")
    if done.returncode:
        return "run failed: " + first_lines(done)
    out = next(iter(load_file(os.path.join(out_dir, "outputs.safetensors")).values()))
    if out.shape != reference.shape:
        return f"shape {out.shape} != {reference.shape}"
    error = relative_error(out, reference)
    return error if np.isfinite(error) else "not finite"


def check(args, name):
    """One row per format of model `name`."""
    try:
        reference, sensitivity, torch_errors, tensors, files = export_case(
            name, args.formats, args.work, args.image_size)
    except Exception as error:  # the model itself failed to build or run in PyTorch
        return [{"model": name, "format": f, "status": f"PyTorch failed: {type(error).__name__}"}
                for f in args.formats]
    rows = []
    for fmt, path in files.items():
        row = {"model": name, "format": fmt, "backend": args.backend,
               "input_sensitivity": sensitivity, **torch_errors}
        rows.append(row)
        if not path.startswith(args.work):
            row["status"] = path
            continue
        inputs, failure = inputs_file(args, path, tensors)
        for run in args.runs:
            row[run] = failure or check_run(args, path, inputs, reference, RUNS[run][0])
        row["status"] = judge(row, args.runs)
    return rows


def tolerance(run, torch_errors):
    """A run's bound: its fixed tolerance, or where larger, for {fp32,bf16} 1.25x PyTorch's
    own BF16 error and for FP32 twice PyTorch's own FP32 error against float64 (a model whose
    random weights amplify rounding fails PyTorch's own precision too)."""
    bound = RUNS[run][1]
    own = torch_errors.get("torch_bf16" if run == "bf16" else "torch_fp32")
    return max(bound, (1.25 if run == "bf16" else 2.0) * own) if own is not None else bound


def judge(row, runs):
    """ok, or fails with each run that missed its bound (or had no result) and why."""
    reasons = []
    for run in runs:
        bound = tolerance(run, row)
        if not isinstance(row.get(run), float):
            reasons.append(f"{run}: {row.get(run)}")
        elif row[run] > bound:
            reasons.append(f"{run} {row[run]:.1e} > {bound:.1e}")
    return "ok" if not reasons else "fails: " + "; ".join(reasons)[:300]


def cell(value):
    if isinstance(value, float):
        return f"{value:.1e}"
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(value if value is not None else ""))
    return text.replace("|", "/")


def markdown(rows, runs):
    lines = ["| model | format | status | " + " | ".join(runs) +
             " | torch fp32 | torch bf16 | sensitivity |", "|---" * (len(runs) + 6) + "|"]
    for row in rows:
        cells = [row["model"], row["format"], cell(row["status"])] + [cell(row.get(r)) for r in runs]
        cells += [cell(row.get("torch_fp32")), cell(row.get("torch_bf16")),
                  cell(row.get("input_sensitivity"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def merge(paths):
    """One table from coverage.json files: a column per backend and run. A later file's row
    replaces an earlier one of the same model, format and backend (a rerun of a few models)."""
    latest = {}
    for path in paths:
        with open(path) as f:
            for row in json.load(f):
                runs = [run for run in RUNS if run in row]
                if runs:  # judged again, by this script's bounds
                    row["status"] = judge(row, runs)
                latest[(row["model"], row["format"], row.get("backend", "cpu"))] = row
    by_key, columns = {}, []
    for (model, fmt, backend), row in latest.items():
        merged = by_key.setdefault((model, fmt), {"model": model, "format": fmt, "status": "ok"})
        if row["status"] != "ok":
            merged["status"] = row["status"]
        for run in RUNS:
            if run in row:
                column = f"{backend} {run}"
                merged[column] = row[run]
                columns += [column] if column not in columns else []
        for key in ("input_sensitivity", "torch_bf16", "torch_fp32"):
            merged.setdefault(key, row.get(key))
    # A model's formats together, in FORMATS' order, models in the order first seen.
    models = list(dict.fromkeys(model for model, _ in by_key))
    formats = list(FORMATS)
    ordered = sorted(by_key.items(), key=lambda item: (
        models.index(item[0][0]), formats.index(item[0][1]) if item[0][1] in formats else len(formats)))
    return markdown([row for _, row in ordered], columns)


MERGED_HEADER = """# Model coverage

<!-- Generated by `{command}`: do not edit by hand. -->

Which model families Kiln imports and runs correctly, per file format, against PyTorch FP32,
made by [bench/coverage.py](../bench/coverage.py) (models: bench/coverage_models.py, random
weights; torchvision and timm models with BatchNorm statistics calibrated on random images,
Hugging Face models at small configurations, a diffusion U-Net block). Formats: **pt2**
(`torch.export`'s default dialect), **pt2_core** (the same program after
`run_decompositions()`, core ATen), **onnx** (the dynamo exporter), **torchscript** (a trace).
Normalized error ||out - ref|| / ||ref||:
- **run**: `kiln run` of the model file, FP32; **fp32**: an engine built with `-p fp32`; both
  ok at most 1e-4, or twice PyTorch's own FP32 error against float64 where that is larger
  (**torch fp32**: random networks with calibrated BatchNorm amplify rounding);
- **bf16**: an engine built with `-p fp32,bf16`, ok at most 3e-2 or 1.25x PyTorch's own BF16
  error (**torch bf16**: the model cast to bfloat16, or autocast where it mixes dtypes);
- **sensitivity**: how much PyTorch's output moves for another input (under 1e-3 an error
  proves little).
Columns named **cpu** come from the CPU reference (`--backend cpu`, torchvision models at
96x96 where the table's sources say so), **cuda** from engines built and run on the GPU
(`--backend cuda` on the GPU machine, its PyTorch, torchvision models at 224x224); the torch
columns and the status are those of the latest source of the row (the GPU machine's PyTorch
release exports some models differently).
A status other than ok names the reason: the exporter's error (PyTorch's, not Kiln's) or
Kiln's.

"""


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default="build/kiln")
    parser.add_argument("--backend", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--models", default=",".join(coverage_models.ALL))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--runs", default=",".join(RUNS),
                        help="run: kiln run of the file (fp32); fp32, bf16: engines with -p fp32 "
                             "and -p fp32,bf16")
    parser.add_argument("--conv-layout", default="nhwc", choices=("nchw", "nhwc"),
                        help="kiln build's convolution layout for the engines")
    parser.add_argument("--image-size", type=int, default=224,
                        help="torchvision models' input size (the CPU reference is slow at 224)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per kiln command")
    parser.add_argument("--work", default="/tmp/kiln-coverage")
    parser.add_argument("--out", default="bench/results/latest-coverage")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="print one markdown table from these coverage.json files and exit")
    args = parser.parse_args(argv)
    if args.merge:
        sys.stdout.write(MERGED_HEADER.format(command="python bench/coverage.py --merge " +
                                              " ".join(args.merge)))
        sys.stdout.write(merge(args.merge))
        return 0
    models = [m for m in args.models.split(",") if m]
    args.formats = [f for f in args.formats.split(",") if f]
    args.runs = [r for r in args.runs.split(",") if r]
    for given, known, what in ((models, coverage_models.ALL, "models"), (args.formats, FORMATS, "formats"),
                               (args.runs, RUNS, "runs")):
        if any(g not in known for g in given):
            parser.error(f"unknown {what} {[g for g in given if g not in known]}; choose from {list(known)}")
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in models:
        for row in check(args, name):
            rows.append(row)
            print(json.dumps(row), flush=True)
        with open(os.path.join(args.out, "coverage.json"), "w") as f:
            json.dump(rows, f, indent=1)
        with open(os.path.join(args.out, "coverage.md"), "w") as f:
            f.write(f"Kiln against PyTorch FP32, `--backend {args.backend}`, engines built with "
                    f"`--conv-layout {args.conv_layout}`: normalized error; run = `kiln run` of "
                    "the file (ok at most 1e-4), fp32 / bf16 = engines built with `-p fp32` (1e-4) "
                    "and `-p fp32,bf16` (3e-2); where larger, FP32 runs may reach 2x PyTorch's "
                    "own FP32 error against float64 (torch fp32) and bf16 1.25x PyTorch's own "
                    "BF16 error (torch bf16); "
                    f"torchvision inputs {args.image_size}x{args.image_size}. Sensitivity under "
                    "1e-3: the error proves little.\n\n")
            f.write(markdown(rows, args.runs))
    return 0 if all(row["status"] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
