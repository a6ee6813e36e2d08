"""Shared pieces of the Python package's tests: the committed fixtures (models with PyTorch's
own inputs and outputs), a .safetensors reader, and the markers that skip GPU and torch tests
where there is no GPU or no torch, saying so."""

import json
import os
import pathlib
import struct
import threading

import ml_dtypes
import numpy as np
import pytest

import kiln

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "models" / "fixtures"

_SAFETENSORS_DTYPES = {
    "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16, "F64": np.float64,
    "I64": np.int64, "I32": np.int32, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


def read_safetensors(path):
    """{name: NumPy array} of a .safetensors file (bfloat16 as ml_dtypes.bfloat16)."""
    data = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(data[8 + length + start:8 + length + end],
                              dtype=_SAFETENSORS_DTYPES[entry["dtype"]])
        tensors[name] = array.reshape(entry["shape"]).copy()
    return tensors


def fixture(model, dtype, suffix):
    return FIXTURES / model / f"{model}_{dtype}{suffix}"


def fixture_io(model, dtype):
    """PyTorch's inputs and outputs for a fixture model."""
    return (read_safetensors(fixture(model, dtype, "_inputs.safetensors")),
            read_safetensors(fixture(model, dtype, "_outputs.safetensors")))


def error(actual, reference):
    return kiln.compare(actual, reference)["normalized_error"]


def kiln_cli():
    """The kiln CLI built beside the package (KILN_CLI, or build/kiln), or None."""
    path = pathlib.Path(os.environ.get("KILN_CLI", ROOT / "build" / "kiln"))
    return path if path.is_file() and os.access(path, os.X_OK) else None


gpu = pytest.mark.skipif(not kiln.cuda_available(),
                         reason="no CUDA device (or kiln built without CUDA): GPU test not run")


def _torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


needs_torch = pytest.mark.skipif(not _torch_available(),
                                 reason="torch is not installed: torch test not run")


def run_in_threads(count, work):
    """Runs work(index) on `count` threads at once; returns [(index, exception)] of failures."""
    failures = []

    def guarded(index):
        try:
            work(index)
        except Exception as exc:  # reported to the caller with the thread's index
            failures.append((index, exc))

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures
