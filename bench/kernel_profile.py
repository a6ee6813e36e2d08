#!/usr/bin/env python3
"""Every kernel of one inference of a Kiln engine, timed by Nsight Compute (ncu).

`kiln bench`'s per-layer table times each layer alone; this lists the kernels one inference
launches, in order, with the time ncu measured for each (gpu__time_duration, clocks left
alone), and sums them by kernel name, so that a layer's helper kernels (an attention's mask
conversion, a product's epilogue pass) show up on their own. Runs on the GPU machine:

    python bench/kernel_profile.py --kiln build-device/kiln --engine bert_b32.kiln \
        --out profile.json

ncu serializes kernels and flushes nothing between them, so the times are each kernel's own
with warm caches, not a CUDA graph's overlapped replay: use them for shares, not totals.
"""
import argparse
import collections
import csv
import io
import json
import shutil
import subprocess
import sys


def profile(kiln, engine, skip, count, timeout):
    ncu = shutil.which("ncu") or "/usr/local/cuda/bin/ncu"
    command = [ncu, "--clock-control", "none", "--metrics", "gpu__time_duration.sum", "--csv",
               "--launch-skip", str(skip), "--launch-count", str(count),
               kiln, "bench", engine, "--warmup", "0", "--iterations", "1", "--layers", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    rows = []
    text = done.stdout
    start = text.find('"ID"')
    if start < 0:
        sys.exit(f"ncu gave no kernel table (exit {done.returncode}):\n{done.stderr[-2000:]}")
    for row in csv.DictReader(io.StringIO(text[start:])):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        value = float(row["Metric Value"].replace(",", ""))
        unit = row.get("Metric Unit", "nsecond")
        scale = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3}.get(unit, 1e-3)
        rows.append({"id": int(row["ID"]), "kernel": row["Kernel Name"], "us": value * scale})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--engine", required=True, help="a .kiln engine (built beforehand)")
    parser.add_argument("--skip", type=int, default=0, help="kernels to skip before profiling")
    parser.add_argument("--count", type=int, default=300, help="kernels to profile")
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--out", help="write the kernels and the sums as JSON here")
    args = parser.parse_args()
    rows = profile(args.kiln, args.engine, args.skip, args.count, args.timeout)
    sums = collections.OrderedDict()
    for row in rows:
        name = row["kernel"].split("(")[0][:90]
        entry = sums.setdefault(name, {"kernel": name, "launches": 0, "us": 0.0})
        entry["launches"] += 1
        entry["us"] += row["us"]
    total = sum(row["us"] for row in rows)
    print(f"{len(rows)} kernels, {total:.1f} us in all")
    print("| kernel | launches | us | share |\n|---|---|---|---|")
    for entry in sorted(sums.values(), key=lambda e: -e["us"])[:25]:
        print(f"| {entry['kernel']} | {entry['launches']} | {entry['us']:.1f} | "
              f"{100 * entry['us'] / max(total, 1e-9):.1f}% |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"engine": args.engine, "kernels": rows, "sums": list(sums.values())}, f,
                      indent=1)


if __name__ == "__main__":
    main()
