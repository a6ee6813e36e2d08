#!/usr/bin/env python3
"""Keeps src/backends/cuda/kernels/ free of graph types: no file there includes an ir/ header
or an ops/ header (where DeviceTensor and LaunchContext live), or names ir::, DeviceTensor or
LaunchContext. Kernels take raw pointers and sizes, so each can be launched, tested and timed
without a graph node; reading nodes is the job of src/backends/cuda/ops/. Prints one line per
offence and exits 1 if there is any; ctest runs it (label tools).

Usage: scripts/check_kernel_boundary.py [DIR]   (default: src/backends/cuda/kernels)
       scripts/check_kernel_boundary.py --self-test
"""

import argparse
import pathlib
import re
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ROOT / "src" / "backends" / "cuda" / "kernels"
SUFFIXES = (".cpp", ".h", ".cu", ".cuh")
RULES = [
    (re.compile(r'#\s*include\s*[<"](ir/|backends/cuda/ops/)'), "includes a graph-side header"),
    (re.compile(r"\bir::"), "names ir::"),
    (re.compile(r"\bDeviceTensor\b"), "names DeviceTensor"),
    (re.compile(r"\bLaunchContext\b"), "names LaunchContext"),
]


def problems_in(directory):
    problems = []
    for path in sorted(directory.rglob("*")):
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for pattern, what in RULES:
                if pattern.search(line):
                    problems.append(f"{path}:{number}: {what} (kernels/ takes pointers and "
                                    f"sizes; read the node in ops/): {line.strip()}")
    return problems


def self_test():
    """Each rule catches its offence, and a clean launcher header passes."""
    offences = {
        "includes_ir.cu": '#include "ir/graph.h"\n',
        "includes_ops.h": '#include "backends/cuda/ops/cuda_kernel.h"\n',
        "names_node.cu": "void f(const ir::Node& node);\n",
        "names_tensor.cpp": "void f(DeviceTensor& t);\n",
        "names_context.cuh": "void f(LaunchContext& c);\n",
    }
    clean = '#include "core/dtype.h"\nvoid launch_f(DType dtype, const void* in, void* out);\n'
    with tempfile.TemporaryDirectory() as scratch:
        folder = pathlib.Path(scratch)
        for name, text in offences.items():
            (folder / name).write_text(text)
        (folder / "clean.h").write_text(clean)
        found = problems_in(folder)
    caught = {name for name in offences if any(f"/{name}:" in problem for problem in found)}
    failures = [f"self-test: {name} not caught" for name in offences if name not in caught]
    failures += [f"self-test: clean file flagged: {p}" for p in found if "/clean.h:" in p]
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=str(KERNELS))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    problems = self_test() if args.self_test else problems_in(pathlib.Path(args.directory))
    for problem in problems:
        print(problem)
    print(f"check_kernel_boundary: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
