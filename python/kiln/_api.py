"""Kiln's Python API over its C++ library: models, engines, execution contexts."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping, Optional, Union

from . import _arrays
from . import _kiln

Precisions = Union[str, Iterable[Any]]
PathLike = Union[str, "os.PathLike[str]"]

_TORCH_PRECISIONS = {"torch.float32": "fp32", "torch.float16": "fp16", "torch.bfloat16": "bf16"}


def precision_list(precisions: Precisions) -> str:
    """"fp32,bf16" from "fp32,bf16", ["fp32", "bf16"] or {torch.float32, torch.bfloat16}."""
    if isinstance(precisions, str):
        return precisions
    names = []
    for precision in precisions:
        text = str(precision)
        names.append(_TORCH_PRECISIONS.get(text, text))
    return ",".join(sorted(set(names)))


def _dims(dims: Optional[Mapping[str, int]]) -> dict:
    if dims is None:
        return {}
    for name, size in dims.items():
        if not isinstance(name, str) or not isinstance(size, int) or size < 0:
            raise TypeError(f"dims maps a symbol name to a size >= 0; got {name!r}: {size!r}")
    return dict(dims)


def _build_dims(dims: Optional[Mapping[str, Any]]) -> tuple[dict, dict]:
    """A build's dims: {name: size} (time at size) or {name: (min, opt, max)} (accept any size
    from min to max, timed at opt; max None for no upper bound) → (sizes, ranges)."""
    sizes, ranges = {}, {}
    for name, value in (dims or {}).items():
        if isinstance(value, (tuple, list)):
            if len(value) != 3 or not isinstance(name, str):
                raise TypeError(f"dims[{name!r}] must be a size or (min, opt, max), "
                                f"not {value!r}")
            low, opt, high = value
            high = -1 if high is None else high
            if not all(isinstance(v, int) for v in (low, opt, high)) or low < 0 or not (
                    low <= opt and (high < 0 or opt <= high)):
                raise ValueError(f"dims[{name!r}] = {value!r}: need 0 <= min <= opt <= max")
            sizes[name], ranges[name] = opt, (low, high)
        else:
            sizes.update(_dims({name: value}))
    return sizes, ranges


def _backend(backend: Optional[str]) -> str:
    if backend not in (None, "cpu", "cuda"):
        raise ValueError(f"backend must be 'cpu', 'cuda' or None (the GPU where there is one), "
                         f"not {backend!r}")
    return backend or ""


def cuda_available() -> bool:
    """True if this module was built with CUDA and a CUDA device is present."""
    return _kiln.cuda_available()


def inspect(path: PathLike) -> dict:
    """What `kiln inspect --json` reports: for a model its inputs, outputs, ops, weights and the
    ops Kiln does not support yet; for an engine (.kiln) its layers and chosen precisions."""
    return json.loads(_kiln.inspect_json(os.fspath(path)))


def compare(actual: Any, reference: Any) -> dict:
    """normalized_error ||actual - reference|| / ||reference|| and max_abs_diff, in float64
    (NaN in either gives NaN). Takes NumPy arrays, torch tensors (any device) or DLPack arrays."""
    error, max_abs = _kiln.compare(_arrays.host_copy(actual), _arrays.host_copy(reference))
    return {"normalized_error": error, "max_abs_diff": max_abs}


class Model:
    """A model file (.onnx, .pt2, .pt) loaded and optimized. Raises UnsupportedError listing
    every op Kiln cannot run yet (kiln.inspect shows them without raising)."""

    def __init__(self, path: PathLike):
        self._native = _kiln.Model(os.fspath(path))
        self._summary = json.loads(self._native.summary_json())

    @property
    def path(self) -> str:
        return self._native.path

    @property
    def format(self) -> str:
        return self._native.format

    @property
    def inputs(self) -> list:
        """[{"name", "dtype", "shape"}], symbolic dims by name ("[batch, 3, 224, 224]")."""
        return self._summary["inputs"]

    @property
    def outputs(self) -> list:
        return self._summary["outputs"]

    def summary(self) -> dict:
        """Inputs, outputs, op histogram and weights, as `kiln inspect --json`."""
        return dict(self._summary)

    def run(self, inputs: Optional[Mapping[str, Any]] = None, *, precisions: Precisions = "fp32",
            backend: Optional[str] = None, strongly_typed: bool = False,
            dims: Optional[Mapping[str, int]] = None, seed: int = 0,
            framework: Optional[str] = None) -> dict:
        """Runs the model once, as `kiln run` does, in the enabled precisions (the heuristic
        chooses per layer; build an engine to choose by timing). Without inputs, random ones
        (seed, symbolic dims from dims, else 1). Returns outputs by name, as NumPy arrays (torch
        tensors for torch inputs; framework= "numpy", "torch" or "dlpack" overrides)."""
        prepared, bf16_views = _arrays.prepare_inputs(inputs)
        results = self._native.run(prepared, precision_list(precisions), _backend(backend),
                                   strongly_typed, _dims(dims), seed, bf16_views, framework)
        dtypes = {output["name"]: output["dtype"] for output in self.outputs}
        return _arrays.finish_outputs(results, dtypes)

    def __repr__(self) -> str:
        return f"kiln.Model({self.path!r}, {self.format})"


def load_model(path: PathLike) -> Model:
    """Loads and optimizes a model file: ONNX (.onnx), torch.export (.pt2) or TorchScript (.pt)."""
    return Model(path)


class Engine:
    """A built engine: every layer's precision chosen (by timing on the GPU, else by the
    documented heuristic), weights and the generated kernels. Shared by any number of
    contexts, one per thread."""

    def __init__(self, native: Any):
        self._native = native
        self._report: Optional[dict] = None

    @property
    def path(self) -> Optional[str]:
        return self._native.path or None

    @property
    def input_names(self) -> list:
        return list(self._native.input_names)

    @property
    def output_names(self) -> list:
        return list(self._native.output_names)

    def save(self, path: PathLike) -> None:
        """Writes the engine file (what `kiln build -o` writes)."""
        self._native.save(os.fspath(path))

    def inspect(self) -> dict:
        """What `kiln inspect --json` reports for the engine: header, build config, inputs,
        outputs, every layer (name, op, precision, tactic, timed_ms) and the fusion groups."""
        if self._report is None:
            self._report = json.loads(self._native.report_json())
        return json.loads(json.dumps(self._report))  # a copy the caller may change

    @property
    def layer_precisions(self) -> dict:
        """{layer name: "fp32" | "tf32" | "fp16" | "bf16" | "none"}."""
        return {layer["name"]: layer["precision"] for layer in self.inspect()["layers"]}

    def context(self, *, backend: Optional[str] = None, cuda_graph: bool = False,
                cached_shapes: int = 4) -> "Context":
        """An execution context (one per thread). On the GPU it plans its memory per set of
        input sizes, keeping the last cached_shapes plans; with cuda_graph each is captured
        once and replayed."""
        return Context(self._native.context(_backend(backend), cuda_graph, cached_shapes), self)

    def __repr__(self) -> str:
        report = self.inspect()
        return (f"kiln.Engine(precisions={report['precisions']!r}, "
                f"gpu={report['gpu_architecture']!r}, layers={len(report['layers'])})")


def build(model: Union[Model, PathLike], *, precisions: Precisions = "fp32",
          dims: Optional[Mapping[str, Any]] = None, strongly_typed: bool = False,
          layer_precisions: Optional[Mapping[str, str]] = None,
          timing_cache: Optional[PathLike] = None, workspace_mib: int = 64,
          backend: Optional[str] = None, conv_layout: str = "nhwc") -> Engine:
    """Builds an engine, as `kiln build` does: each layer runs in the fastest enabled
    precision, timed on the GPU at the dims given (symbolic dims not given are 1); without a
    GPU (or backend="cpu") the documented heuristic chooses. dims maps a symbolic dim to a size,
    or to (min, opt, max): the engine then accepts any size from min to max (max None: no upper
    bound), timed at opt, and refuses others naming the dim. layer_precisions pins a layer (by
    node name) or an op kind ("MatMul") to a precision; timing_cache is a JSON file read and
    extended so that rebuilds time nothing twice. conv_layout "nhwc" runs 2-D convolutions
    channels-last as fused cuDNN graphs, "nchw" as the model has them (cuDNN's legacy API)."""
    if not isinstance(model, Model):
        model = Model(model)
    sizes, ranges = _build_dims(dims)
    native = _kiln.build(model._native, precision_list(precisions), strongly_typed,
                         dict(layer_precisions or {}), sizes, ranges,
                         os.fspath(timing_cache) if timing_cache is not None else "",
                         workspace_mib, _backend(backend), conv_layout)
    return Engine(native)


def load_engine(path: PathLike) -> Engine:
    """Reads an engine file; raises InvalidModelError for a damaged one and UnsupportedError for
    one built for another GPU architecture (when run there)."""
    return Engine(_kiln.Engine.load(os.fspath(path)))


class Context:
    """An execution context of an engine: runs it on host arrays or GPU tensors."""

    def __init__(self, native: Any, engine: Engine):
        self._native = native
        self._engine = engine  # keeps the engine alive; its output dtypes
        self._dtypes = dict(engine._native.output_dtypes)

    @property
    def backend(self) -> str:
        return self._native.backend

    @property
    def engine(self) -> Engine:
        return self._engine

    def run(self, inputs: Mapping[str, Any], *, outputs: Optional[Mapping[str, Any]] = None,
            stream: Optional[int] = None, framework: Optional[str] = None) -> dict:
        """Runs one inference. inputs maps every input name to an array: NumPy arrays (bfloat16
        as ml_dtypes.bfloat16), torch tensors, or any DLPack tensor. Host arrays are copied in
        and the outputs come back as host arrays (the inputs' framework). GPU tensors are read
        in place, and the outputs are written into GPU memory: the tensors of outputs= where
        given (no copy), else new allocations; the run is asynchronous on stream (a cudaStream_t
        as an int; for torch tensors torch's current stream, else the legacy default stream).
        With cuda_graph, tensors at a steady address are bound to a graph captured for it and
        tensors at new addresses copied through the context's own buffers (docs/python.md). Wrong names, shapes, dtypes, devices or non-contiguous
        GPU tensors raise ValueError or TypeError naming the input."""
        prepared, bf16_views = _arrays.prepare_inputs(inputs)
        prepared_outputs = None
        if outputs is not None:
            prepared_outputs, _ = _arrays.prepare_inputs(outputs)
        if stream is None:
            stream = _arrays.torch_stream(prepared)
        results = self._native.run(prepared, prepared_outputs, stream, bf16_views, framework)
        for name, value in (outputs or {}).items():
            if name in results:
                results[name] = value  # the caller's own object, written in place
        return _arrays.finish_outputs(results, self._dtypes)

    def output_specs(self, input_shapes: Mapping[str, Iterable[int]]) -> dict:
        """On the GPU: {output name: (shape, dtype name)} for inputs of these shapes (planning
        the context for them if new), so that outputs= can be allocated ahead of a run."""
        shapes = {name: [int(size) for size in shape] for name, shape in input_shapes.items()}
        return {name: (list(dims), dtype)
                for name, (dims, dtype) in self._native.output_specs(shapes).items()}

    def __repr__(self) -> str:
        return f"kiln.Context(backend={self.backend!r}, cuda_graph={self._native.cuda_graph})"
