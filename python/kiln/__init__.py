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
