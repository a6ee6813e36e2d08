"""kiln.torch: Kiln for torch users. compile() exports an nn.Module with torch.export in this
process, builds a Kiln engine and returns an nn.Module that runs it on torch CUDA tensors
without copies, on torch's current stream; backend() is the torch.compile backend "kiln";
save() and load() keep a compiled module (the engine file plus its input/output spec).

    import kiln.torch
    fast = kiln.torch.compile(model, (x,), enabled_precisions={torch.float32, torch.bfloat16})
    y = fast(x)
    y = torch.compile(model, backend="kiln")(x)
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import warnings
from typing import Any, Iterable, Optional, Sequence

import torch
import torch.utils._pytree as pytree

from . import _api, _arrays
from ._errors import Error, InvalidModelError

__all__ = ["KilnModule", "compile", "backend", "save", "load"]

_DTYPES = {
    "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool,
}


def _symbol_sizes(model: _api.Model, names: Sequence[str], tensors: Sequence[Any]) -> dict:
    """{"s0": 8} from inputs declared "[s0, 128]" and example tensors of shape (8, 128)."""
    declared = {value["name"]: value["shape"] for value in model.inputs}
    sizes = {}
    for name, tensor in zip(names, tensors):
        dims = [dim.strip() for dim in declared.get(name, "[]").strip("[]").split(",") if dim]
        for dim, size in zip(dims, tuple(tensor.shape)):
            if re.fullmatch(r"[A-Za-z_][\w.]*", dim):
                sizes[dim] = int(size)
    return sizes


class KilnModule(torch.nn.Module):
    """An nn.Module whose forward runs a Kiln engine. Inputs are torch tensors on the engine's
    device (non-contiguous ones are copied with .contiguous()), in the structure the module was
    exported with; outputs come back in the module's output structure as new torch tensors,
    written in place by the engine on torch's current CUDA stream. One execution context per
    thread."""

    def __init__(self, engine: _api.Engine, spec: dict, *, cuda_graph: bool = False):
        super().__init__()
        self._engine = engine
        self._spec = spec
        self._in_spec = pytree.treespec_loads(spec["in_spec"])
        self._out_spec = pytree.treespec_loads(spec["out_spec"])
        self._input_names = list(spec["input_names"])
        self._output_names = list(spec["output_names"])
        self._cuda_graph = cuda_graph
        self._local = threading.local()
        # The common forms skip pytree on every call: positional tensors in, one tensor out.
        positional = tuple(range(len(self._input_names)))
        self._positional = pytree.tree_flatten((positional, {}))[1] == self._in_spec
        self._single_output = self._out_spec == pytree.tree_flatten(0)[1]

    @property
    def engine(self) -> _api.Engine:
        return self._engine

    def _forward_fast(self, args: tuple) -> Any:
        """The common call, with the least host work before the launch (which a caller waiting
        on each result sees as latency): positional contiguous CUDA tensors, sizes seen before.
        None where it does not apply; forward then takes the general way."""
        device = args[0].get_device()
        if device < 0:
            return None
        context, specs = self._context(device)
        spec = specs.get(tuple(tensor.shape for tensor in args))
        if spec is None:
            return None
        names, entries = spec
        outputs = tuple(torch.empty(dims, dtype=dtype, device=device) for dims, dtype in entries)
        if not context._native.run_torch(self._input_names, args, names, outputs,
                                         _arrays.raw_stream(device)):
            return None
        if self._single_output:
            return outputs[0]
        by_name = dict(zip(names, outputs))
        return pytree.tree_unflatten([by_name[name] for name in self._output_names],
                                     self._out_spec)

    def _context(self, device: torch.device | int) -> tuple:
        """This thread's context for `device` (a CUDA device index, -1 for the CPU), with its
        output specs by input shapes."""
        if isinstance(device, torch.device):
            device = -1 if device.type != "cuda" else (
                device.index if device.index is not None else torch.cuda.current_device())
        contexts = getattr(self._local, "contexts", None)
        if contexts is None:
            contexts = self._local.contexts = {}
        entry = contexts.get(device)
        if entry is None:
            backend = "cuda" if device >= 0 else "cpu"
            if backend == "cuda":
                torch.cuda.set_device(device)
            context = self._engine.context(backend=backend,
                                           cuda_graph=self._cuda_graph and backend == "cuda")
            entry = contexts[device] = (context, {})
        return entry

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._positional and not kwargs and len(args) == len(self._input_names) and args:
            fast = self._forward_fast(args)
            if fast is not None:
                return fast
            flat = args
        else:
            flat, spec = pytree.tree_flatten((args, kwargs))
            if spec != self._in_spec:
                raise TypeError(f"kiln: the inputs' structure {spec} is not the one the module "
                                f"was compiled with: {self._in_spec}")
        tensors = {}
        for name, value in zip(self._input_names, flat):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"kiln: input '{name}' is {type(value).__name__}, not a tensor")
            if value.requires_grad:
                value = value.detach()
            tensors[name] = value if value.is_contiguous() else value.contiguous()
        device = flat[0].get_device() if flat else -1  # a CUDA device index, -1 for the CPU
        context, specs = self._context(device)
        if device >= 0:
            shapes = tuple(tensor.shape for tensor in tensors.values())
            outputs_spec = specs.get(shapes)
            if outputs_spec is None:  # (output names, [(dims, torch dtype)]) in the engine's order
                planned = context.output_specs({n: t.shape for n, t in tensors.items()})
                outputs_spec = specs[shapes] = (
                    list(planned), [(dims, _DTYPES[dtype]) for dims, dtype in planned.values()])
            results = {name: torch.empty(dims, dtype=dtype, device=device)
                       for name, (dims, dtype) in zip(*outputs_spec)}
            # The engine writes into these tensors, in order on torch's current stream.
            context._native.run(tensors, results, _arrays.raw_stream(device), _NO_VIEWS, None)
        else:
            results = context.run(tensors, framework="torch")
        if self._single_output:
            return results[self._output_names[0]]
        return pytree.tree_unflatten([results[name] for name in self._output_names],
                                     self._out_spec)


_NO_VIEWS: frozenset = frozenset()


def _precisions(enabled_precisions: Iterable[Any]) -> str:
    return _api.precision_list(enabled_precisions)


def compile(module: torch.nn.Module, example_inputs: Sequence[Any], *,
            enabled_precisions: Iterable[Any] = (torch.float32, torch.bfloat16),
            dynamic_shapes: Any = None, strongly_typed: bool = False,
            layer_precisions: Optional[dict] = None, timing_cache: Optional[str] = None,
            workspace_mib: int = 64, cuda_graph: bool = False,
            backend: Optional[str] = None) -> KilnModule:
    """Exports `module` with torch.export at example_inputs (a tuple of positional arguments;
    dynamic_shapes as torch.export takes it), builds a Kiln engine with enabled_precisions
    ({torch.float32, torch.bfloat16} or names such as "fp32", "tf32"), timed on the GPU at
    the example inputs' sizes, and returns a KilnModule running it. Raises kiln.Error naming
    what Kiln cannot run."""
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            program = torch.export.export(module, example_inputs, dynamic_shapes=dynamic_shapes)
    finally:
        module.train(was_training)
    with tempfile.TemporaryDirectory(prefix="kiln-") as folder:
        path = os.path.join(folder, "model.pt2")
        torch.export.save(program, path)
        model = _api.load_model(path)
        names = list(program.graph_signature.user_inputs)
        flat, _ = pytree.tree_flatten((example_inputs, {}))
        engine = _api.build(model, precisions=_precisions(enabled_precisions),
                            dims=_symbol_sizes(model, names, flat),
                            strongly_typed=strongly_typed, layer_precisions=layer_precisions,
                            timing_cache=timing_cache, workspace_mib=workspace_mib,
                            backend=backend)
    spec = {
        "input_names": names,
        "output_names": engine.output_names,
        "in_spec": pytree.treespec_dumps(program.call_spec.in_spec),
        "out_spec": pytree.treespec_dumps(program.call_spec.out_spec),
    }
    return KilnModule(engine, spec, cuda_graph=cuda_graph)


def save(module: KilnModule, path: str) -> None:
    """Writes the engine to `path` and its input/output spec beside it (`path`.json)."""
    module.engine.save(path)
    with open(os.fspath(path) + ".json", "w") as file:
        json.dump({"kiln_module": 1, "cuda_graph": module._cuda_graph, **module._spec}, file)


def load(path: str) -> KilnModule:
    """A KilnModule from what save() wrote."""
    with open(os.fspath(path) + ".json") as file:
        spec = json.load(file)
    if spec.get("kiln_module") != 1:
        raise InvalidModelError(f"{path}.json is not a saved kiln.torch module")
    return KilnModule(_api.load_engine(path), spec, cuda_graph=bool(spec.get("cuda_graph")))


def backend(graph_module: torch.fx.GraphModule, example_inputs: Sequence[Any],
            **options: Any) -> Any:
    """The torch.compile backend "kiln": the captured graph is compiled by kiln.torch.compile
    at its first call (options: compile()'s keyword arguments). A graph Kiln cannot run falls
    back to PyTorch with a warning naming why."""
    compiled = None

    def run(*args: Any) -> Any:
        nonlocal compiled
        if compiled is None:
            try:
                compiled = compile(graph_module, args, **options)
            except (Error, torch._dynamo.exc.Unsupported, RuntimeError, ValueError) as error:
                warnings.warn(f"kiln: running this graph in PyTorch: {error}")
                compiled = graph_module
        return compiled(*args)

    return run


def _register() -> None:
    """Registers backend() as "kiln" where the package's entry point is not installed (a
    source checkout on PYTHONPATH)."""
    try:
        from torch._dynamo.backends.registry import list_backends, register_backend

        if "kiln" not in list_backends(exclude_tags=()):
            register_backend(compiler_fn=backend, name="kiln")
    except Exception:  # an older or newer torch without this registry: the entry point remains
        pass


_register()
