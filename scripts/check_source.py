#!/usr/bin/env python3
"""Checks what review should never have to: every C++/CUDA file is clang-formatted with the
committed .clang-format, no file is over 600 lines and no function over 100, except where
scripts/size_allowlist.txt names the file or function and says why. Prints one line per
problem and exits 1 if there is any; scripts/test.sh runs it before building.

Usage: scripts/check_source.py [--fix] [FILE...]   (default: every tracked C++/CUDA file)
  --fix        reformat misformatted files in place instead of failing on them
  --self-test  check that a misformatted, an oversized and a long-function file are caught
"""

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

import lizard

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUFFIXES = (".cpp", ".h", ".cu", ".cuh")
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 100
ALLOWLIST = ROOT / "scripts" / "size_allowlist.txt"


def source_files():
    """Tracked and new (not ignored) C++/CUDA files, relative to the repository root."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *[f"*{s}" for s in SUFFIXES]],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    return sorted(path for path in listed if (ROOT / path).is_file())


def read_allowlist():
    """'path' or 'path:function' → reason. A line without a reason is itself an error."""
    allowed, problems = {}, []
    for number, line in enumerate(ALLOWLIST.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, reason = line.partition(" ")
        if not reason.strip():
            problems.append(f"{ALLOWLIST.name}:{number}: '{key}' needs a reason after it")
        allowed[key] = reason.strip()
    return allowed, problems


def format_problems(files, fix):
    clang_format = shutil.which("clang-format")
    if clang_format is None:
        return ["clang-format is not installed (scripts/setup.sh installs it)"]
    problems = []
    for path in files:
        if fix:
            subprocess.run([clang_format, "-i", path], cwd=ROOT, check=True)
            continue
        result = subprocess.run([clang_format, "--dry-run", "-Werror", path], cwd=ROOT,
                                capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(f"{path}: not clang-formatted (fix: clang-format -i {path}, or "
                            f"scripts/check_source.py --fix)")
    return problems


def size_problems(files, allowed):
    problems, used = [], set()
    for path in files:
        lines = (ROOT / path).read_text(errors="replace").count("\n")
        if lines > MAX_FILE_LINES:
            if path in allowed:
                used.add(path)
            else:
                problems.append(f"{path}: {lines} lines, over {MAX_FILE_LINES}: split it by job")
        for function in lizard.analyze_file(str(ROOT / path)).function_list:
            if function.length <= MAX_FUNCTION_LINES:
                continue
            key = f"{path}:{function.name}"
            if key in allowed:
                used.add(key)
            else:
                problems.append(f"{path}:{function.start_line}: {function.name} is "
                                f"{function.length} lines, over {MAX_FUNCTION_LINES}: one idea "
                                f"per function")
    return problems, used


def self_test():
    """Each kind of problem in a scratch file under the root (clang-format finds the
    committed .clang-format from there) is reported; a clean file is not."""
    body = "\n".join(f"  x += {i};" for i in range(MAX_FUNCTION_LINES + 1))
    cases = {
        "misformatted.cpp": ("int  f( int x ) { return x; }\n", "not clang-formatted"),
        "oversized.h": ("// a line\n" * (MAX_FILE_LINES + 1), "lines, over"),
        "long_function.cpp": (f"int f(int x) {{\n{body}\n  return x;\n}}\n", "over 100"),
        "clean.cpp": ("int f(int x) { return x; }\n", None),
    }
    failures = 0
    with tempfile.TemporaryDirectory(dir=ROOT) as scratch:
        for name, (text, expected) in cases.items():
            path = pathlib.Path(scratch) / name
            path.write_text(text)
            relative = str(path.relative_to(ROOT))
            found = format_problems([relative], fix=False) + size_problems([relative], {})[0]
            caught = any(expected in problem for problem in found) if expected else not found
            print(f"check_source self-test: {name}: {'ok' if caught else 'FAILED'} {found}")
            failures += not caught
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fix", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    files = args.files or source_files()
    allowed, problems = read_allowlist()
    problems += format_problems(files, args.fix)
    sizes, used = size_problems(files, allowed)
    problems += sizes
    if not args.files:  # an allowance nothing needs any more is stale
        problems += [f"{ALLOWLIST.name}: '{key}' is within the limits now: remove it"
                     for key in sorted(set(allowed) - used)]
    for problem in problems:
        print(f"check_source: {problem}")
    print(f"check_source: {len(files)} files, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
