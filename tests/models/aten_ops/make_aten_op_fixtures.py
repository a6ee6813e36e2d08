#!/usr/bin/env python3
"""Makes one small model per ATen op (or op form) that Kiln's PyTorch frontends convert
into several core ops, exported by real PyTorch as torch.export (.pt2, and .core.pt2 after
run_decompositions()), a TorchScript trace (.pt) and ONNX (dynamo exporter), each with its
inputs and PyTorch's outputs. The test
tests/frontends/torch/aten_op_fixtures_test.cpp runs every one on the CPU reference and
compares it with PyTorch.

Run with PyTorch 2.x (CPU is enough):
    python3 tests/models/aten_ops/make_aten_op_fixtures.py --out tests/models/aten_ops
Writes <case>.pt2 / .core.pt2 / .pt / .onnx, <case>.safetensors (input_<i>, output_<i>) and
manifest.json (cases, formats made, the exporters' failures, the PyTorch release).
"""
import argparse
import json
import math
import os
import sys
import warnings

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

warnings.filterwarnings("ignore")
g = torch.Generator().manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, generator=g)


def rand(*shape):
    return torch.rand(*shape, generator=g)


def edges(*shape):
    """Normal values with the float edge cases (signed zeros, infinities, NaN) in front."""
    x = randn(*shape).reshape(-1)
    special = torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, 0.5])
    x[: special.numel()] = special
    return x.reshape(shape)


def distinct(*shape):
    """Values without ties (sorts, medians and running extremes have one answer)."""
    n = math.prod(shape)
    return (torch.randperm(n, generator=g).float() / n - 0.5).reshape(shape)


def ints(low, high, *shape):
    return torch.randint(low, high, shape, generator=g)


A = lambda: randn(4, 6)
B = lambda: randn(2, 3, 8, 8)

# name: (function, inputs, tolerance on the normalized error; None: exact)
CASES = {
    # pointwise
    "relu6": (lambda a: F.relu6(a * 4), [A()], 0),
    "erfc": (torch.erfc, [torch.linspace(-6, 9, 64)], 2e-6),
    "exp2": (torch.exp2, [randn(16) * 4], 1e-6),
    "logaddexp": (torch.logaddexp, [edges(4, 6), edges(4, 6).flip(1)], 1e-6),
    "logaddexp2": (torch.logaddexp2, [A() * 30, A()], 1e-6),
    "nan_to_num": (lambda a: torch.nan_to_num(a, nan=2.0, posinf=5.0), [edges(4, 6)], 0),
    "nan_to_num_defaults": (torch.nan_to_num, [edges(4, 6)], 0),
    "isfinite": (torch.isfinite, [edges(4, 6)], None),
    "isposinf": (torch.isposinf, [edges(4, 6)], None),
    "isneginf": (torch.isneginf, [edges(4, 6)], None),
    "signbit": (torch.signbit, [edges(4, 6)], None),
    "sgn": (torch.sgn, [edges(4, 6)], 0),
    "heaviside": (lambda a, b: torch.heaviside(a.round(), b), [A(), A()], 0),
    "fmin": (torch.fmin, [edges(4, 6), edges(4, 6).flip(0)], 0),
    "fmax": (torch.fmax, [edges(4, 6), edges(4, 6).flip(0)], 0),
    "frac": (torch.frac, [A() * 5], 1e-6),
    "copysign": (torch.copysign, [A(), edges(4, 6)], 0),
    "copysign_scalar": (lambda a: torch.copysign(a, -1.0), [A()], 0),
    "hypot": (torch.hypot, [A(), A()], 1e-6),
    "lerp_scalar": (lambda a, b: torch.lerp(a, b, 0.7), [A(), A()], 1e-6),
    "lerp_tensor": (torch.lerp, [A(), A(), rand(4, 6) * 1.4 - 0.2], 1e-6),
    "float_power": (lambda a, b: torch.float_power(a.abs() + 0.5, b), [A(), A()], 1e-9),
    "xlogy": (lambda a, b: torch.xlogy(a.round(), b.abs()), [A(), A()], 1e-6),
    "sinc": (torch.sinc, [torch.cat([torch.zeros(2), randn(14)])], 1e-6),
    "deg2rad": (torch.deg2rad, [A() * 180], 1e-7),
    "rad2deg": (torch.rad2deg, [A()], 1e-7),
    "logit": (lambda a: torch.logit(a.sigmoid()), [A()], 1e-5),
    "logit_eps": (lambda a: torch.logit(a, eps=0.1), [rand(4, 6)], 1e-6),
    "log_sigmoid": (F.logsigmoid, [A() * 30], 1e-6),
    "rrelu_eval": (lambda a: F.rrelu(a, training=False), [A()], 1e-7),
    "clamp_tensor": (lambda a, lo, hi: torch.clamp(a, lo, hi + 1), [A(), A(), A()], 0),
    "clamp_min_tensor": (torch.clamp_min, [A(), A()], 0),
    "clip_tensor": (lambda a, hi: torch.clip(a, max=hi), [A(), randn(6)], 0),
    # special functions
    "lgamma": (torch.lgamma, [torch.cat([torch.tensor([0.0, -1.0, 1.0, 2.0, 0.5, -0.5, -2.5, 1e-3]), rand(24) * 30 - 10, rand(8) * 1e4])], 2e-6),
    "digamma": (torch.digamma, [torch.cat([torch.tensor([0.0, -0.0, -1.0, 1.0, 0.5, -0.5, -2.5, 1e-3]), rand(24) * 30 - 10, rand(8) * 1e4])], 2e-6),
    "polygamma1": (lambda a: torch.polygamma(1, a), [rand(32) * 20 + 0.05], 2e-6),
    "polygamma3": (lambda a: torch.polygamma(3, a), [rand(32) * 20 + 0.05], 2e-6),
    "erfinv": (torch.erfinv, [torch.cat([torch.tensor([-1.0, 1.0, 0.0, 0.999999, -0.9999, 1.5]), rand(26) * 2 - 1])], 2e-6),
    "i0": (torch.i0, [randn(32) * 8], 2e-6),
    "i0e": (torch.special.i0e, [randn(32) * 8], 2e-6),
    "i1": (torch.special.i1, [randn(32) * 8], 2e-6),
    "i1e": (torch.special.i1e, [randn(32) * 8], 2e-6),
    # reductions and statistics
    "all_dim": (lambda a: (a > -1).all(dim=1), [A()], None),
    "all": (lambda a: (a > -3).all(), [A()], None),
    "aminmax": (lambda a: torch.aminmax(a, dim=1), [A()], 0),
    "count_nonzero": (lambda a: torch.count_nonzero(a.round(), dim=1), [A()], None),
    "nansum": (lambda a: torch.nansum(a.masked_fill(a > 1, math.nan), 1), [A()], 1e-6),
    "nanmean": (lambda a: torch.nanmean(a.masked_fill(a > 1, math.nan), 0), [A()], 1e-6),
    "std": (lambda a: a.std(1), [A()], 1e-6),
    "std_correction": (lambda a: torch.std(a, dim=(0, 1), correction=0, keepdim=True), [A()], 1e-6),
    "var_mean": (lambda a: torch.var_mean(a, 1, keepdim=True), [A()], 1e-6),
    "std_mean": (lambda a: torch.std_mean(a, 0), [A()], 1e-6),
    "var_all": (lambda a: a.var(), [A()], 1e-6),
    "kthvalue": (lambda a: torch.kthvalue(a, 3, 1), [distinct(4, 6)], 0),
    "median_dim": (lambda a: torch.median(a, 1, keepdim=True), [distinct(4, 6)], 0),
    "median": (torch.median, [distinct(5, 3)], 0),
    "nanmedian": (lambda a: torch.nanmedian(a.masked_fill(a > 0.2, math.nan), 1)[0], [distinct(4, 6)], 0),
    "cummax": (lambda a: torch.cummax(a, 1), [ints(0, 5, 4, 6).float()], 0),
    "cummin": (lambda a: torch.cummin(a, 0), [distinct(4, 6)], 0),
    "logcumsumexp": (lambda a: torch.logcumsumexp(a * 40, 1), [A()], 1e-6),
    "linalg_norm": (lambda a: torch.linalg.norm(a, dim=1), [A()], 1e-6),
    "linalg_norm_ord3": (lambda a: torch.linalg.norm(a, ord=3, dim=0), [A()], 1e-6),
    "linalg_norm_matrix_inf": (lambda a: torch.linalg.norm(a, ord=math.inf), [A()], 1e-6),
    "linalg_norm_fro": (lambda a: torch.linalg.norm(a, ord="fro", dim=(0, 1)), [A()], 1e-6),
    "vector_norm_inf": (lambda a: torch.linalg.vector_norm(a, ord=math.inf, dim=1), [A()], 0),
    "vector_norm_0": (lambda a: torch.linalg.vector_norm(a.round(), ord=0, dim=1), [A()], 0),
    "renorm": (lambda a: a.renorm(2, 0, 1.5), [A()], 1e-6),
    # layout
    "narrow": (lambda a: a.narrow(1, 1, 3), [A()], 0),
    "narrow_negative": (lambda a: a.narrow(1, -4, 2), [A()], 0),
    "movedim": (lambda a: a.movedim(1, 3), [B()], 0),
    "movedim_list": (lambda a: torch.movedim(a, (0, 1), (3, 2)), [B()], 0),
    "mT": (lambda a: a.mT, [B()], 0),
    "tile": (lambda a: a.tile(2, 1, 3), [A()], 0),
    "hstack": (lambda a, b: torch.hstack([a, b]), [A(), A()], 0),
    "vstack": (lambda a, b: torch.vstack([a[0], b]), [A(), A()], 0),
    "dstack": (lambda a, b: torch.dstack([a, b]), [A(), A()], 0),
    "column_stack": (lambda a, b: torch.column_stack([a[0], b.T]), [A(), A()], 0),
    "atleast_3d": (lambda a: torch.atleast_3d(a), [A()], 0),
    "rot90": (lambda a: torch.rot90(a), [A()], 0),
    "rot90_k3": (lambda a: torch.rot90(a, 3, (1, 3)), [B()], 0),
    "block_diag": (lambda a, b: torch.block_diag(a, b[0], b[1:3]), [A(), A()], 0),
    "cartesian_prod": (lambda a, b: torch.cartesian_prod(a[0], b[1, :3]), [A(), A()], 0),
    "unfold": (lambda a: a.unfold(1, 2, 2), [A()], 0),
    "unfold_overlapping": (lambda a: a.unfold(3, 3, 2), [B()], 0),
    "channel_shuffle": (lambda a: F.channel_shuffle(a.repeat(1, 2, 1, 1), 3), [B()], 0),
    "take_along_dim": (lambda a: torch.take_along_dim(a, a.argsort(1), 1), [A()], 0),
    "take_along_dim_flat": (lambda a: torch.take_along_dim(a, a.reshape(-1).argsort()[:5]), [A()], 0),
    # matrices
    "tril": (lambda a: a.tril(), [A()], 0),
    "triu": (lambda a: torch.triu(a, 1), [B()], 0),
    "tril_negative": (lambda a: torch.tril(a, -2), [A()], 0),
    "diagonal": (lambda a: a.diagonal(), [A()], 0),
    "diagonal_offset": (lambda a: torch.diagonal(a, 1, 1, 3), [B()], 0),
    "diagonal_below": (lambda a: a.diagonal(-2), [A()], 0),
    "diag_vector": (lambda a: torch.diag(a[0], 1), [A()], 0),
    "diag_matrix": (lambda a: torch.diag(a, -1), [A()], 0),
    "diag_embed": (lambda a: torch.diag_embed(a), [A()], 0),
    "diag_embed_dims": (lambda a: torch.diag_embed(a, 1, 0, 2), [A()], 0),
    "trace": (torch.trace, [A()], 1e-6),
    "einsum_diagonal": (lambda a, b: torch.einsum("bii,ij->bj", a, b), [randn(2, 4, 4), randn(4, 3)], 1e-6),
    "eye": (lambda a: a[:, :4] + torch.eye(4), [A()], 0),
    "eye_rect": (lambda a: a + torch.eye(4, 6), [A()], 0),
    "linspace": (lambda a: a * torch.linspace(-1, 2, 6), [A()], 1e-7),
    "logspace": (lambda a: a * torch.logspace(0, 2, 6, base=2.0), [A()], 1e-6),
    "tril_indices": (lambda a: a[torch.tril_indices(4, 6, 1).unbind(0)], [A()], 0),
    "triu_indices": (lambda a: a[torch.triu_indices(4, 6).unbind(0)], [A()], 0),
    "dot": (lambda a: torch.dot(a[0], a[1]), [A()], 1e-6),
    "vdot": (lambda a: torch.vdot(a[0], a[1]), [A()], 1e-6),
    "outer": (lambda a: torch.outer(a[0], a[1]), [A()], 0),
    "addmv": (lambda a, v: torch.addmv(a[:, 0], a, v, beta=0.5, alpha=2), [A(), randn(6)], 1e-6),
    "addr": (lambda a: torch.addr(a, a[:, 0], a[0], alpha=3), [A()], 1e-6),
    "addbmm": (lambda s, b1, b2: torch.addbmm(s, b1, b2), [randn(3, 5), randn(2, 3, 4), randn(2, 4, 5)], 1e-6),
    "kron": (lambda a, b: torch.kron(a, b[:2, :3]), [A(), A()], 0),
    "bilinear": (lambda a, b, w, bias: F.bilinear(a, b, w, bias), [randn(2, 3, 4), randn(2, 3, 5), randn(6, 4, 5), randn(6)], 1e-6),
    "cdist": (lambda a, b: torch.cdist(a, b), [randn(2, 5, 3), randn(2, 7, 3)], 1e-6),
    "cdist_mm": (lambda a, b: torch.cdist(a, b), [randn(30, 8), randn(40, 8)], 1e-5),
    "cdist_p1": (lambda a, b: torch.cdist(a, b, p=1), [randn(5, 3), randn(7, 3)], 1e-6),
    "cdist_pinf": (lambda a, b: torch.cdist(a, b, p=math.inf), [randn(5, 3), randn(7, 3)], 0),
    "pdist": (F.pdist, [randn(5, 4)], 1e-6),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b), [randn(3, 8, 5), randn(3, 8, 5)], 1e-6),
    "cosine_similarity_broadcast": (lambda a, b: F.cosine_similarity(a, b, dim=-1), [randn(4, 1, 8), randn(5, 8)], 1e-6),
    "pairwise_distance": (F.pairwise_distance, [A(), A()], 1e-6),
    "pairwise_distance_p3": (lambda a, b: F.pairwise_distance(a, b, p=3, keepdim=True), [A(), A()], 1e-6),
    "cross": (lambda a, b: torch.linalg.cross(a, b), [randn(4, 3), randn(4, 3)], 1e-6),
    "cross_dim": (lambda a, b: torch.cross(a, b, dim=1), [randn(2, 3, 4), randn(2, 3, 4)], 1e-6),
    # index updates and lookups
    "index_add": (lambda a, s: a.index_add(0, torch.tensor([0, 2, 0]), s, alpha=2), [A(), randn(3, 6)], 1e-6),
    "index_copy": (lambda a, s: a.index_copy(1, torch.tensor([5, 1]), s), [A(), randn(4, 2)], 0),
    "index_fill": (lambda a: a.index_fill(1, torch.tensor([0, -1]), 3.0), [A()], 0),
    "masked_scatter": (lambda a, s: a.masked_scatter(a > 0, s), [A(), randn(24)], 0),
    "masked_scatter_broadcast": (lambda a, m, s: a.masked_scatter(m > 0, s), [A(), randn(6), randn(30)], 0),
    "scatter_reduce_mean": (lambda a, s: a.scatter_reduce(1, torch.tensor([[0, 1, 0], [2, 2, 5]]), s, "mean"), [randn(2, 6), randn(2, 3)], 1e-6),
    "scatter_reduce_amax_exclude": (lambda a, s: a.scatter_reduce(1, torch.tensor([[0, 1, 0], [2, 2, 5]]), s, "amax", include_self=False), [randn(2, 6), randn(2, 3)], 0),
    "scatter_reduce_sum_exclude": (lambda a, s: a.scatter_reduce(0, torch.tensor([[0, 1, 0]]), s, "sum", include_self=False), [randn(2, 3), randn(1, 3)], 1e-6),
    "isin": (lambda a: torch.isin(a.round(), torch.tensor([0.0, 1.0])), [A()], None),
    "isin_invert": (lambda a, t: torch.isin(a, t, invert=True), [ints(0, 6, 4, 5), ints(0, 6, 3)], None),
    "bucketize": (lambda a: torch.bucketize(a, torch.tensor([-1.0, 0.0, 1.0])), [edges(4, 6)], None),
    "bucketize_right": (lambda a: torch.bucketize(a.round(), torch.tensor([-1.0, 0.0, 1.0]), right=True, out_int32=True), [A()], None),
    "searchsorted": (lambda s, v: torch.searchsorted(s.sort(-1)[0], v), [randn(3, 7), randn(3, 4)], None),
    "searchsorted_1d": (lambda s, v: torch.searchsorted(s.sort()[0], v, side="right"), [randn(7), randn(2, 5)], None),
    "embedding_bag_sum": (lambda w, i, o: F.embedding_bag(i, w, o, mode="sum"), [randn(10, 4), ints(0, 10, 9), torch.tensor([0, 2, 2, 5])], 1e-6),
    "embedding_bag_mean": (lambda w, i: F.embedding_bag(i, w, mode="mean"), [randn(10, 4), ints(0, 10, 3, 4)], 1e-6),
    "embedding_bag_max": (lambda w, i, o: F.embedding_bag(i, w, o, mode="max", include_last_offset=True), [randn(10, 4), ints(0, 10, 9), torch.tensor([0, 3, 3, 7])], 0),
    "embedding_bag_weighted": (lambda w, i, o, p: F.embedding_bag(i, w, o, mode="sum", per_sample_weights=p, padding_idx=2), [randn(10, 4), torch.tensor([1, 2, 3, 2, 5, 9]), torch.tensor([0, 2]), randn(6)], 1e-6),
    # norms and pools
    "rms_norm": (lambda a, w: F.rms_norm(a, (6,), w, 1e-5), [randn(2, 4, 6), randn(6)], 1e-6),
    "rms_norm_default_eps": (lambda a: F.rms_norm(a, (4, 6)), [randn(2, 4, 6)], 1e-6),
    "adaptive_max_pool2d": (lambda a: F.adaptive_max_pool2d(a, (3, 5)), [B()], 0),
    "adaptive_max_pool1d": (lambda a: F.adaptive_max_pool1d(a[0], 3), [B()], 0),
    "interpolate_bilinear_antialias": (lambda a: F.interpolate(a, size=(5, 3), mode="bilinear", antialias=True), [randn(1, 2, 13, 9)], 1e-6),
    "interpolate_bilinear_antialias_up": (lambda a: F.interpolate(a, scale_factor=1.5, mode="bilinear", antialias=True), [B()], 1e-6),
    "interpolate_bicubic_antialias": (lambda a: F.interpolate(a, scale_factor=0.4, mode="bicubic", antialias=True), [randn(1, 2, 16, 11)], 1e-6),
    "interpolate_bilinear_antialias_corners": (lambda a: F.interpolate(a, size=(4, 6), mode="bilinear", antialias=True, align_corners=True), [randn(1, 2, 9, 13)], 1e-6),
    "pixel_shuffle": (lambda a: F.pixel_shuffle(a, 2), [randn(2, 8, 3, 5)], 0),
    "pixel_unshuffle": (lambda a: F.pixel_unshuffle(a, 2), [randn(2, 3, 4, 6)], 0),
    "conv2d_padding_same": (lambda a, w: F.conv2d(a, w, padding="same", dilation=2), [B(), randn(4, 3, 3, 3)], 1e-6),
    "conv1d_padding_valid": (lambda a, w: F.conv1d(a, w, padding="valid"), [randn(2, 3, 9), randn(4, 3, 3)], 1e-6),
    "conv3d_padding_same": (lambda a, w: F.conv3d(a, w, padding="same"), [randn(1, 2, 4, 5, 6), randn(3, 2, 3, 3, 3)], 1e-6),
    "interpolate_bicubic": (lambda a: F.interpolate(a, size=(11, 5), mode="bicubic"), [B()], 1e-6),
    "interpolate_bicubic_corners": (lambda a: F.interpolate(a, scale_factor=1.5, mode="bicubic", align_corners=True), [B()], 1e-6),
    "avg_pool3d_unbatched": (lambda a: F.avg_pool3d(a, 2), [B()], 1e-6),
    "max_pool2d_unbatched": (lambda a: F.max_pool2d(a[0], 3, 2, 1), [B()], 0),
}


class Case(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


def wrapped(fn, count):
    # Named positional arguments, so that every format names its inputs x0, x1, ...
    names = ", ".join(f"x{i}" for i in range(count))
    scope = {"fn": fn}
    exec(f"def forward(self, {names}):\n    return self.fn({names})", scope)
    cls = type("Case", (Case,), {"forward": scope["forward"]})
    return cls(fn).eval()


def outputs_of(result):
    if isinstance(result, torch.Tensor):
        return [result]
    return [t for t in result if isinstance(t, torch.Tensor)]


def onnx_disagreement(path, inputs, outputs):
    """Why the exported ONNX program computes other values than PyTorch, by ONNX's own
    reference evaluator (the exporter writes torch.sgn as Sign, which keeps NaN); None when
    they agree or the evaluator cannot run it."""
    import numpy as np
    import onnx
    from onnx.reference import ReferenceEvaluator

    try:
        model = onnx.load(path)
        feeds = {value.name: t.numpy() for value, t in zip(model.graph.input, inputs)}
        results = ReferenceEvaluator(model).run(None, feeds)
    except Exception:
        return None
    for index, (result, expected) in enumerate(zip(results, outputs)):
        expected = expected.numpy()
        result = np.asarray(result)
        close = result.shape == expected.shape and np.allclose(
            result.astype(np.float64), expected.astype(np.float64), rtol=1e-4, atol=1e-5,
            equal_nan=True)
        if not close:
            return (f"the exported ONNX program computes other values than PyTorch "
                    f"(onnx.reference, output {index})")
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--only", nargs="*", help="remake only these cases")
    args = parser.parse_args()
    manifest = {"pytorch": torch.__version__, "cases": []}
    manifest_path = os.path.join(args.out, "manifest.json")
    if args.only and os.path.exists(manifest_path):  # remake some cases, keep the others
        with open(manifest_path) as f:
            manifest["cases"] = [c for c in json.load(f)["cases"] if c["name"] not in args.only]
    for name, (fn, inputs, tolerance) in CASES.items():
        if args.only and name not in args.only:
            continue
        model = wrapped(fn, len(inputs))
        with torch.no_grad():
            outputs = outputs_of(model(*inputs))
        tensors = {f"input_{i}": t.contiguous().clone() for i, t in enumerate(inputs)}
        tensors.update({f"output_{i}": t.contiguous().clone() for i, t in enumerate(outputs)})
        save_file(tensors, os.path.join(args.out, f"{name}.safetensors"))
        entry = {"name": name, "inputs": len(inputs), "outputs": len(outputs),
                 "tolerance": tolerance, "made": [], "failed": {}}
        stem = os.path.join(args.out, name)
        exporters = {
            "pt2": lambda: torch.export.save(torch.export.export(model, tuple(inputs)), stem + ".pt2"),
            "pt2_core": lambda: torch.export.save(
                torch.export.export(model, tuple(inputs)).run_decompositions(), stem + ".core.pt2"),
            "torchscript": lambda: torch.jit.trace(model, tuple(inputs), check_trace=False).save(stem + ".pt"),
            "onnx": lambda: torch.onnx.export(model, tuple(inputs), stem + ".onnx", dynamo=True,
                                              opset_version=20, verbose=False,
                                              external_data=False),
        }
        for format_name, export in exporters.items():
            try:
                export()
                entry["made"].append(format_name)
            except Exception as error:  # the exporter's failure is recorded, not fatal
                entry["failed"][format_name] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        if "onnx" in entry["made"]:
            reason = onnx_disagreement(stem + ".onnx", inputs, outputs)
            if reason:
                entry["failed"]["onnx"] = reason
        manifest["cases"].append(entry)
        print(name, entry["made"], file=sys.stderr)
    order = list(CASES)
    manifest["cases"].sort(key=lambda c: order.index(c["name"]) if c["name"] in order else len(order))
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
