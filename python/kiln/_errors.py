"""Kiln's exceptions. Each carries Kiln's one-line message, which names what was wrong and
what to do; each also derives from the built-in exception a Python caller would expect."""


class Error(Exception):
    """Base of every error Kiln raises."""


class InvalidModelError(Error, ValueError):
    """The model or engine file is malformed, truncated or inconsistent."""


class UnsupportedError(Error, NotImplementedError):
    """Valid, but uses an op, dtype or feature Kiln does not support (the message lists them)."""


class InvalidArgumentError(Error, ValueError):
    """The caller passed something wrong: a path, a shape, a precision, an option."""


class KilnRuntimeError(Error, RuntimeError):
    """Something failed while building or running."""


class CudaError(Error, RuntimeError):
    """A CUDA, cuBLAS, cuDNN or NVRTC call failed."""
