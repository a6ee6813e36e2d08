"""Array conversions the native module leaves to Python: NumPy's bfloat16 (ml_dtypes), torch
tensors that require grad, Python sequences, and the stream torch runs on."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

try:  # NumPy has no bfloat16 of its own; ml_dtypes (a dependency) provides the de-facto one.
    import ml_dtypes

    BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a dependency
    BFLOAT16 = None


_TORCH_TENSOR: list = []  # torch.Tensor, once a torch tensor was seen (torch is not imported)


def _is_torch_tensor(value: Any) -> bool:
    kind = type(value)
    if _TORCH_TENSOR and kind is _TORCH_TENSOR[0]:
        return True
    if kind.__module__.startswith("torch") and hasattr(value, "is_cuda"):
        if not _TORCH_TENSOR and kind.__name__ == "Tensor":
            _TORCH_TENSOR.append(kind)
        return True
    return False


def prepare_inputs(inputs: Mapping[str, Any] | None) -> tuple[dict, set]:
    """The arrays to hand to the native module, and the names of NumPy bfloat16 inputs (passed
    as their uint16 bits)."""
    if inputs is None:
        return {}, set()
    if not isinstance(inputs, Mapping):
        raise TypeError(
            f"inputs must be a dict of input name to array, not {type(inputs).__name__}"
        )
    prepared, bf16_views = {}, set()
    for name, value in inputs.items():
        if not isinstance(name, str):
            raise TypeError(f"input names must be strings, not {type(name).__name__}")
        if _is_torch_tensor(value):
            # DLPack refuses tensors that require grad (CUDA torch.Tensors are read without it)
            if value.requires_grad and not (value.is_cuda and type(value) is _TORCH_TENSOR[0]):
                value = value.detach()
        elif isinstance(value, np.ndarray):
            if BFLOAT16 is not None and value.dtype == BFLOAT16:
                value = value.view(np.uint16)
                bf16_views.add(name)
        elif isinstance(value, (list, tuple, int, float, bool, np.generic)):
            value = np.asarray(value)  # NumPy's dtype for Python numbers: float64, int64
        elif not hasattr(value, "__dlpack__") and not hasattr(value, "__array_interface__"):
            raise TypeError(f"input '{name}' is a {type(value).__name__}, not an array "
                            "(NumPy, torch or any DLPack tensor)")
        prepared[name] = value
    return prepared, bf16_views


def torch_stream(inputs: Mapping[str, Any]) -> int | None:
    """torch's current CUDA stream where the inputs are torch CUDA tensors, so that the engine
    runs in order with the caller's torch work; None otherwise."""
    for value in inputs.values():
        if _is_torch_tensor(value) and value.is_cuda:
            return raw_stream(value.get_device())
    return None


_STREAM_GETTER: list = []


def raw_stream(index: int | None) -> int:
    """torch's current CUDA stream on device `index`, by the cheapest call torch has."""
    if not _STREAM_GETTER:
        import torch

        getter = getattr(torch._C, "_cuda_getCurrentRawStream", None)
        if getter is None:  # a torch without the private call
            def getter(device_index):
                return torch.cuda.current_stream(device_index).cuda_stream
        _STREAM_GETTER.append(getter)
    if index is None:
        import torch

        index = torch.cuda.current_device()
    return _STREAM_GETTER[0](index)


def finish_outputs(results: dict, dtypes: Mapping[str, str]) -> dict:
    """NumPy bfloat16 results arrive as uint16 bits: view them as ml_dtypes.bfloat16."""
    if BFLOAT16 is None:
        return results
    for name, value in results.items():
        if isinstance(value, np.ndarray) and dtypes.get(name) == "bfloat16":
            results[name] = value.view(BFLOAT16)
    return results


def host_copy(value: Any) -> Any:
    """A host array of `value` for kiln.compare: torch tensors (any device) and bfloat16 are
    widened to float32 where NumPy cannot hold them."""
    if _is_torch_tensor(value):
        value = value.detach()
        if value.is_cuda:
            value = value.cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value
    if isinstance(value, np.ndarray):
        if BFLOAT16 is not None and value.dtype == BFLOAT16:
            return value.astype(np.float32)
        return value
    if hasattr(value, "__dlpack__"):
        return value
    return np.asarray(value)
