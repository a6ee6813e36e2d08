#!/usr/bin/env python3
"""Reports bench_models.py's results without torch or a GPU: results.md, the plot, merged runs.
Also the normalized errors and latency summaries the measurements are reduced to.

Needs only numpy; matplotlib is optional (without it no plot is drawn). Run from the repo root:
    python3 bench/bench_report.py --self-test
    python3 bench/bench_report.py --merge r1/results.json r2/results.json --out bench/results/DATE-GPU
    python3 bench/bench_report.py --plot-only bench/results/DATE-GPU/results.json
bench_models.py's --self-test, --merge and --plot-only run the same code.
"""
import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

EAGER_FP32, EAGER_BF16, COMPILE_BF16 = "eager fp32", "eager bf16", "torch.compile bf16"


# ---------------------------------------------------------------- errors and latencies

def normalized_error(out, ref, chunk=1 << 22):
    """||out - ref|| / ||ref|| in float64, chunked so multi-GB outputs fit; nan if not finite."""
    out, ref = np.asarray(out), np.asarray(ref)
    if out.shape != ref.shape:
        raise ValueError(f"shape {list(out.shape)} differs from the reference's {list(ref.shape)}")
    out, ref = out.reshape(-1), ref.reshape(-1)
    diff2 = ref2 = 0.0
    for start in range(0, out.size, chunk):
        a = out[start:start + chunk].astype(np.float64)
        b = ref[start:start + chunk].astype(np.float64)
        diff2 += float(np.dot(a - b, a - b))
        ref2 += float(np.dot(b, b))
    if not (math.isfinite(diff2) and math.isfinite(ref2)):
        return float("nan")
    if ref2 == 0.0:
        return 0.0 if diff2 == 0.0 else float("inf")
    return math.sqrt(diff2 / ref2)


def worst_error(errors):
    return float("nan") if any(math.isnan(e) for e in errors) else max(errors)


def error_status(error, max_error):
    return "ok" if error is not None and math.isfinite(error) and error <= max_error else "FAIL"


def latency_summary(times_ms):
    times = np.asarray(times_ms, dtype=np.float64)
    return {"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90)),
            "min_ms": float(times.min()), "mean_ms": float(times.mean()), "runs": int(times.size)}


# ---------------------------------------------------------------- markdown report

def cell_number(value, pattern):
    return "—" if value is None else pattern.format(value)


def error_cell(row):
    if row["variant"] == EAGER_FP32:
        return "reference"
    if row.get("error") is None:
        return row.get("error_note", "—")
    return f"{row['error']:.2e}" + ("" if row.get("error_status") == "ok" else " FAIL")


def speedup(rows, row, variant):
    base = next((r for r in rows if r["batch"] == row["batch"] and r["variant"] == variant), None)
    if not base or not base.get("median_ms") or not row.get("median_ms"):
        return None
    return base["median_ms"] / row["median_ms"]


def precision_counts(layers):
    """'123 bf16, 1 fp32': how many of an engine's layers run in each precision (data movement
    and casts, which have none, are not counted)."""
    counts = {}
    for layer in layers or []:
        if layer.get("precision"):
            counts[layer["precision"]] = counts.get(layer["precision"], 0) + 1
    return ", ".join(f"{n} {p}" for p, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def markdown_table(rows):
    has_compile = any(r["variant"] == COMPILE_BF16 and r.get("median_ms") for r in rows)
    header = ["batch", "variant", "median ms", "p90 ms", "speed-up vs eager BF16"]
    header += ["speed-up vs compile BF16"] if has_compile else []
    header += ["norm. error vs FP32", "layer precisions", "note"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [str(row["batch"]), row["variant"], cell_number(row.get("median_ms"), "{:.3f}"),
                 cell_number(row.get("p90_ms"), "{:.3f}"),
                 cell_number(speedup(rows, row, EAGER_BF16), "{:.2f}x")]
        if has_compile:
            cells.append(cell_number(speedup(rows, row, COMPILE_BF16), "{:.2f}x"))
        precisions = precision_counts(row["layers"]) if row.get("layers") else row.get("precisions", "")
        notes = [f"{key.split('_')[0]} {row[key]:.1f} s" for key in ("compile_s", "build_s") if key in row]
        notes += [row["note"]] if row.get("note") else []
        cells += [error_cell(row), precisions, "; ".join(notes).replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def generated_kernel_bandwidth(row):
    """(count, median GB/s) of a row's generated kernels (its Fused layers), or None."""
    rates = sorted(layer["gb_per_s"] for layer in row.get("layers") or []
                   if layer.get("op") == "Fused" and layer.get("gb_per_s"))
    return (len(rates), float(np.median(rates))) if rates else None


def markdown_layers(row, top=10, copy_gb_per_s=None):
    layers = [layer for layer in row.get("layers") or [] if layer.get("median_ms") is not None]
    if not layers:
        return ""
    total = sum(layer["median_ms"] for layer in layers)
    lines = [f"Top {min(top, len(layers))} of {len(layers)} layers, {row['variant']}, batch "
             f"{row['batch']} (sum of medians {total:.3f} ms):", "",
             "| layer | op | precision | median ms | share | TFLOP/s or GB/s |", "|---|---|---|---|---|---|"]
    for layer in sorted(layers, key=lambda layer: -layer["median_ms"])[:top]:
        share = 100.0 * layer["median_ms"] / total if total else 0.0
        rate = ""
        if layer.get("tflop_per_s"):
            rate = f"{layer['tflop_per_s']:.1f} TFLOP/s"
        elif layer.get("gb_per_s"):
            rate = f"{layer['gb_per_s']:.0f} GB/s"
        op = layer.get("op", "?") + (f"/{layer['tactic']}" if layer.get("tactic") else "")
        lines.append(f"| {layer.get('name', '?')} | {op} | "
                     f"{layer.get('precision', '?')} | {layer['median_ms']:.4f} | {share:.1f}% | {rate} |")
    convs = [layer for layer in layers if layer.get("op") == "Conv" and layer.get("flops")]
    if convs:
        conv_ms = sum(layer["median_ms"] for layer in convs)
        conv_flops = sum(layer["flops"] for layer in convs)
        lines.append(f"\nConvolutions: {len(convs)} layers, {conv_ms:.3f} ms "
                     f"({100.0 * conv_ms / total:.1f}% of the sum), "
                     f"{conv_flops / (conv_ms * 1e9):.1f} TFLOP/s together")
    fused = generated_kernel_bandwidth(row)
    if fused:
        share = f", {100.0 * fused[1] / copy_gb_per_s:.0f}% of the measured copy rate " \
                f"{copy_gb_per_s:.0f} GB/s" if copy_gb_per_s else ""
        lines.append(f"\nGenerated kernels: {fused[0]} layers, median {fused[1]:.0f} GB/s{share}")
    if row.get("host_nodes"):
        lines.append(f"\nRan on the host (no CUDA kernel): {', '.join(row['host_nodes'])}")
    return "\n".join(lines)


# The seed's case: one model stored in FP32 and in BF16, built with {fp32, bf16} and with bf16
# alone. A BF16-stored model must never be slower than its FP32 twin with the same set enabled.
STORAGE_VARIANTS = (("kiln fp32,bf16", "fp32-stored, {fp32,bf16}"), ("kiln bf16-stored:fp32,bf16", "bf16-stored, {fp32,bf16}"),
                    ("kiln bf16", "fp32-stored, {bf16}"), ("kiln bf16-stored:bf16", "bf16-stored, {bf16}"))


def markdown_storage_table(rows):
    """One line per batch with the four storage × precision-set latencies, where measured."""
    lines = []
    for batch in dict.fromkeys(row["batch"] for row in rows):
        by_variant = {row["variant"]: row for row in rows if row["batch"] == batch}
        cells = [by_variant.get(variant, {}).get("median_ms") for variant, _ in STORAGE_VARIANTS]
        if sum(cell is not None for cell in cells) < 2:
            continue
        lines.append(f"| {batch} | " + " | ".join(cell_number(cell, "{:.3f}") for cell in cells) + " |")
    if not lines:
        return ""
    header = "| batch | " + " | ".join(label for _, label in STORAGE_VARIANTS) + " |"
    return "\n".join(["Median ms by weight storage and enabled set:", "", header,
                      "|---" * (len(STORAGE_VARIANTS) + 1) + "|"] + lines)


def markdown_report(results):
    meta = results["meta"]
    parts = [f"# Kiln vs PyTorch — {meta.get('gpu', '?')}", "",
             f"{meta.get('date', '')}; torch {meta.get('torch', '?')}; {meta.get('kiln_version') or 'kiln ?'}; "
             f"`{meta.get('command', '')}`", "",
             f"Device-to-device copy rate (1 GiB, read + written): "
             f"{meta['copy_gb_per_s']:.0f} GB/s." if meta.get("copy_gb_per_s") else "",
             "PyTorch: CUDA events around one forward each, synchronized per run, inputs already on "
             f"the GPU; eager FP32 with TF32 off ({meta.get('tf32', '?')}). Kiln: `kiln bench`'s "
             f"own timing ({meta.get('kiln_timing', 'see results.json')}). Speed-up = that variant's "
             "median / this row's median (>1 is faster). Errors are ||out-ref||/||ref|| against eager FP32."]
    for model in dict.fromkeys(row["model"] for row in results["rows"]):
        rows = [row for row in results["rows"] if row["model"] == model]
        parts += ["", f"## {model}", "", markdown_table(rows)]
        storage = markdown_storage_table(rows)
        if storage:
            parts += ["", storage]
        for row in rows:
            text = markdown_layers(row, copy_gb_per_s=meta.get("copy_gb_per_s"))
            if text:
                parts += ["", text]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- plot, merge, files

def plot_points(results):
    """{model: [(variant, batch, median ms, error)]} for rows with a finite, non-zero error."""
    points = {}
    for row in results["rows"]:
        error, median = row.get("error"), row.get("median_ms")
        if not isinstance(error, (int, float)) or not isinstance(median, (int, float)):
            continue
        if not math.isfinite(error) or error <= 0:
            continue
        points.setdefault(row["model"], []).append((row["variant"], row["batch"], median, error))
    return points


def write_plot(results, path):
    """error against latency, one panel per model (PNG through matplotlib); False without it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    points = plot_points(results)
    if not points:
        return False
    # One colour and marker per variant, the same in every panel, named once in a legend:
    # labels beside the points overlap where several configs land together.
    variants = sorted({variant for entries in points.values() for variant, *_ in entries},
                      key=lambda v: (v.startswith("kiln"), v))
    colours = plt.get_cmap("tab20").colors
    style = {v: (colours[i % len(colours)], "o" if v.startswith("kiln") else "s")
             for i, v in enumerate(variants)}
    columns = min(2, len(points))
    rows = (len(points) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 4.2 * rows), squeeze=False)
    for axis, (model, entries) in zip(axes.flat, points.items()):
        batches = sorted({batch for _, batch, _, _ in entries})
        for variant, batch, median, error in entries:
            colour, marker = style[variant]
            axis.scatter(median, error, color=colour, marker=marker, s=45, edgecolors="black",
                         linewidths=0.4, label=variant)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("median latency (ms)")
        axis.set_ylabel("normalized error vs PyTorch FP32")
        axis.set_title(f"{model} (batch {', '.join(map(str, batches))})")
        axis.grid(True, which="both", alpha=0.3)
    for axis in list(axes.flat)[len(points):]:
        axis.set_visible(False)
    handles = [plt.Line2D([], [], color=style[v][0], marker=style[v][1], linestyle="",
                          markeredgecolor="black", markersize=7, label=v) for v in variants]
    figure.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9,
                  frameon=False)
    figure.suptitle(f"Error against latency: Kiln (circles), PyTorch (squares), "
                    f"{results['meta'].get('gpu', '?')}")
    figure.tight_layout()
    figure.tight_layout()
    figure.savefig(path, dpi=120, bbox_inches="tight")  # keeps the legend beside the panels
    plt.close(figure)
    return True


def merge_results(parts):
    """One results dict from runs of the same kiln on the same GPU, rows in the given order;
    each run's meta (command, date, versions) is kept under meta["parts"]."""
    gpus = {part["meta"].get("gpu") for part in parts}
    if len(gpus) != 1:
        raise ValueError(f"results from different GPUs cannot be merged: {sorted(map(str, gpus))}")
    meta = dict(parts[0]["meta"])
    meta["parts"] = [part["meta"] for part in parts]
    meta["command"] = " ; ".join(part["meta"].get("command", "?") for part in parts)
    merged = {"meta": meta, "rows": [], "cases": {}}
    for part in parts:
        merged["rows"] += part["rows"]
        merged["cases"].update(part.get("cases", {}))
    return merged


def write_results(results, out):
    with open(os.path.join(out, "results.json"), "w") as file:
        json.dump(results, file, indent=2, default=str)
    with open(os.path.join(out, "results.md"), "w") as file:
        file.write(markdown_report(results))
    write_plot(results, os.path.join(out, "error_vs_latency.png"))


# ---------------------------------------------------------------- command line

def merge_files(paths, out):
    """--merge: results.json files of runs split across device calls -> one report in OUT."""
    parts = []
    for path in paths:
        with open(path) as file:
            parts.append(json.load(file))
    os.makedirs(out, exist_ok=True)
    write_results(merge_results(parts), out)
    print(os.path.join(out, "results.md"))
    return 0


def plot_only(results_path):
    """--plot-only: (re)draws error_vs_latency.png beside an existing results.json."""
    with open(results_path) as file:
        results = json.load(file)
    path = os.path.join(os.path.dirname(results_path) or ".", "error_vs_latency.png")
    if not write_plot(results, path):
        print("no plot: matplotlib is missing or no row has a finite error", file=sys.stderr)
        return 1
    print(path)
    return 0


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def self_test():
    ref = np.arange(1, 11, dtype=np.float32).reshape(2, 5)
    assert abs(normalized_error(ref * 1.01, ref, chunk=3) - 0.01) < 1e-6
    assert normalized_error(ref, ref) == 0.0
    poisoned = ref.copy()
    poisoned[1, 2] = np.nan
    assert math.isnan(normalized_error(poisoned, ref)) and error_status(float("nan"), 1.0) == "FAIL"
    assert error_status(0.01, 0.05) == "ok" and error_status(0.1, 0.05) == "FAIL"
    assert math.isnan(worst_error([0.1, float("nan")])) and worst_error([0.1, 0.3]) == 0.3
    try:
        normalized_error(ref.reshape(-1), ref)
        raise AssertionError("shape mismatch passed")
    except ValueError:
        pass
    summary = latency_summary([float(i) for i in range(1, 11)])
    assert summary["median_ms"] == 5.5 and summary["min_ms"] == 1.0 and abs(summary["p90_ms"] - 9.1) < 1e-9
    rows = [{"model": "m", "variant": "kiln a", "batch": 1, "median_ms": 1.0, "error": 1e-3},
            {"model": "m", "variant": "eager fp32", "batch": 1, "median_ms": 2.0},
            {"model": "m", "variant": "kiln nan", "batch": 1, "median_ms": 1.0, "error": float("nan")}]
    assert plot_points({"rows": rows}) == {"m": [("kiln a", 1, 1.0, 1e-3)]}
    first = {"meta": {"gpu": "g", "command": "a"}, "rows": [{"model": "x"}], "cases": {"x1": 1}}
    second = {"meta": {"gpu": "g", "command": "b"}, "rows": [{"model": "y"}], "cases": {"y1": 2}}
    merged = merge_results([first, second])
    assert [r["model"] for r in merged["rows"]] == ["x", "y"] and merged["meta"]["command"] == "a ; b"
    try:
        merge_results([first, {"meta": {"gpu": "other"}, "rows": []}])
        raise AssertionError("results of two GPUs were merged")
    except ValueError:
        pass
    storage_rows = [{"batch": 1, "variant": "kiln fp32,bf16", "median_ms": 2.0},
                    {"batch": 1, "variant": "kiln bf16-stored:fp32,bf16", "median_ms": 1.9}]
    storage = markdown_storage_table(storage_rows)
    assert "| 1 | 2.000 | 1.900 |" in storage and storage.count("\n") == 4, storage
    layers = [{"name": f"n{i}", "op": "MatMul", "precision": "bf16" if i % 2 else "fp32", "median_ms": float(i)}
              for i in range(12)]
    layers += [{"name": f"f{i}", "op": "Fused", "precision": "bf16", "median_ms": 0.01, "gb_per_s": rate}
               for i, rate in enumerate((1000.0, 2000.0, 3000.0))]
    rows = [{"model": "m", "batch": 1, "variant": EAGER_FP32, "median_ms": 4.0, "p90_ms": 4.5, "precisions": "fp32"},
            {"model": "m", "batch": 1, "variant": EAGER_BF16, "median_ms": 2.0, "p90_ms": 2.5, "error": 0.004,
             "error_status": "ok", "precisions": "bf16"},
            {"model": "m", "batch": 1, "variant": "kiln fp32,bf16", "median_ms": 1.0, "p90_ms": 1.1,
             "error": float("nan"), "error_status": "FAIL", "precisions": "fp32,bf16", "layers": layers},
            {"model": "m", "batch": 32, "variant": "kiln fp32", "precisions": "fp32", "error_note": "not checked",
             "note": "bench failed: kiln: error: x | y"}]
    results = {"meta": {"gpu": "test", "copy_gb_per_s": 2500.0}, "rows": rows}
    report = markdown_report(results)
    for expected in ("| 1 | kiln fp32,bf16 | 1.000 | 1.100 | 2.00x | nan FAIL | 9 bf16, 6 fp32 |",
                     "| 1 | eager fp32 | 4.000 | 4.500 | 0.50x | reference |", "4.00e-03", "not checked",
                     "kiln: error: x / y", "Top 10 of 15 layers", "| n11 | MatMul | bf16 | 11.0000 | 16.7% |",
                     "copy rate (1 GiB, read + written): 2500 GB/s",
                     "Generated kernels: 3 layers, median 2000 GB/s, 80% of the measured copy rate"):
        assert expected in report, f"missing {expected!r} in:\n{report}"
    assert "compile" not in markdown_table(rows) and "| n1 |" not in report
    # The files a run writes; the plot only where matplotlib is installed (CI's Python lacks it).
    with tempfile.TemporaryDirectory() as out:
        write_results(results, out)
        with open(os.path.join(out, "results.md")) as file:
            assert file.read() == report
        with open(os.path.join(out, "results.json")) as file:
            assert [row["variant"] for row in json.load(file)["rows"]] == [row["variant"] for row in rows]
        plotted = os.path.exists(os.path.join(out, "error_vs_latency.png"))
        assert plotted == has_matplotlib(), f"plot drawn: {plotted}, matplotlib present: {has_matplotlib()}"
    print(report)
    print("self-test passed" + ("" if plotted else " (no matplotlib: the plot was not drawn)"))
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--merge", nargs="+", metavar="RESULTS_JSON",
                        help="merge results.json files of runs split across device calls into --out")
    parser.add_argument("--plot-only", metavar="RESULTS_JSON",
                        help="only draw error_vs_latency.png beside an existing results.json")
    parser.add_argument("--out", default="bench/results/latest", help="where --merge writes")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if args.merge:
        return merge_files(args.merge, args.out)
    if args.plot_only:
        return plot_only(args.plot_only)
    parser.error("nothing to do: pass --self-test, --merge or --plot-only")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
