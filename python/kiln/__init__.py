"""Kiln compiles trained PyTorch models (ONNX, torch.export .pt2, TorchScript .pt) into
inference engines that run each layer in the fastest enabled precision (FP32, TF32, FP16,
BF16), without TensorRT or libtorch.

    import kiln
    model = kiln.load_model("model.onnx")
    engine = kiln.build(model, precisions="fp32,bf16", dims={"batch": 32})
    engine.save("model.kiln")
    context = kiln.load_engine("model.kiln").context()
    outputs = context.run({"x": x})            # NumPy arrays, torch tensors, DLPack tensors

kiln.torch compiles an nn.Module directly (kiln.torch.compile), and torch.compile(module,
backend="kiln") uses Kiln as a torch.compile backend.
"""

import os as _os
import sys as _sys


def _load_native():
    """Imports kiln._kiln with RTLD_DEEPBIND on Linux: the module and the shared libraries it
    brings (libprotobuf above all) then resolve symbols in their own copies first, not in
    torch's, which carries another protobuf and exports it (on the GPU machine, importing both
    crashed whichever came second). KILN_DEEPBIND=0 turns this off."""
    deepbind = getattr(_os, "RTLD_DEEPBIND", 0)
    if not deepbind or _os.environ.get("KILN_DEEPBIND", "1") == "0":
        from . import _kiln  # noqa: F401
        return
    flags = _sys.getdlopenflags()
    _sys.setdlopenflags(flags | deepbind)
    try:
        from . import _kiln  # noqa: F401
    finally:
        _sys.setdlopenflags(flags)


_load_native()

from ._errors import (CudaError, Error, InvalidArgumentError, InvalidModelError,
                      KilnRuntimeError, UnsupportedError)
from ._kiln import __version__, built_with_cuda
from ._api import (Context, Engine, Model, build, compare, cuda_available, inspect, load_engine,
                   load_model)

__all__ = [
    "Context", "Engine", "Model", "build", "compare", "cuda_available", "inspect", "load_engine",
    "load_model", "built_with_cuda", "__version__", "Error", "InvalidModelError",
    "UnsupportedError", "InvalidArgumentError", "KilnRuntimeError", "CudaError",
]
