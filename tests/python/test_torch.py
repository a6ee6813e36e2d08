"""kiln.torch: compile() of an nn.Module against eager PyTorch, outputs in the module's own
structure, dynamic batch sizes, save/load, and torch.compile(backend="kiln"). Needs torch
and a GPU (the GPU machine); skipped elsewhere, saying so."""

import pytest

import kiln
from conftest import gpu, needs_torch

pytestmark = [gpu, needs_torch]


@pytest.fixture(scope="module")
def torch():
    import torch
    return torch


@pytest.fixture(scope="module")
def kiln_torch():
    import kiln.torch as kiln_torch
    return kiln_torch


def make_block(torch):
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = torch.nn.LayerNorm(64)
            self.up = torch.nn.Linear(64, 256)
            self.down = torch.nn.Linear(256, 64)

        def forward(self, x):
            hidden = self.down(torch.nn.functional.gelu(self.up(self.norm(x))))
            return x + hidden, {"mean": hidden.mean(dim=-1)}

    torch.manual_seed(0)
    return Block().cuda().eval()


def rel_error(actual, reference):
    return float((actual.float() - reference.float()).norm() / reference.float().norm())


@pytest.mark.parametrize("precisions,tolerance", [({"fp32"}, 1e-4), ({"fp32", "bf16"}, 3e-2)])
def test_compile_matches_eager_in_the_module_structure(torch, kiln_torch, precisions, tolerance):
    block = make_block(torch)
    x = torch.randn(8, 16, 64, device="cuda")
    compiled = kiln_torch.compile(block, (x,), enabled_precisions=precisions)
    with torch.no_grad():
        expected = block(x)
    actual = compiled(x)
    assert isinstance(actual, tuple) and set(actual[1]) == {"mean"}
    assert actual[0].shape == expected[0].shape and actual[0].is_cuda
    assert rel_error(actual[0], expected[0]) < tolerance
    assert rel_error(actual[1]["mean"], expected[1]["mean"]) < max(tolerance, 1e-3) * 10


def test_torch_dtypes_name_precisions_and_dynamic_batch(torch, kiln_torch):
    block = make_block(torch)
    x = torch.randn(4, 16, 64, device="cuda")
    batch = torch.export.Dim("batch", min=1, max=64)
    compiled = kiln_torch.compile(block, (x,), enabled_precisions={torch.float32, torch.bfloat16},
                                  dynamic_shapes=({0: batch},))
    for size in (1, 4, 9):
        y = torch.randn(size, 16, 64, device="cuda")
        with torch.no_grad():
            expected = block(y)[0]
        assert rel_error(compiled(y)[0], expected) < 3e-2


def test_one_engine_over_batch_and_sequence_ranges(torch, kiln_torch):
    # The export's declared ranges become the engine's: any batch 1..8 and sequence 4..64 run
    # within FP32's tolerance, and a size outside is refused naming the dim.
    block = make_block(torch)
    x = torch.randn(2, 16, 64, device="cuda")
    batch = torch.export.Dim("batch", min=1, max=8)
    seq = torch.export.Dim("seq", min=4, max=64)
    compiled = kiln_torch.compile(block, (x,), enabled_precisions={"fp32"},
                                  dynamic_shapes=({0: batch, 1: seq},))
    for size in ((1, 4), (3, 7), (8, 64), (5, 33), (2, 16)):
        y = torch.randn(*size, 64, device="cuda")
        with torch.no_grad():
            expected = block(y)[0]
        assert rel_error(compiled(y)[0], expected) < 1e-4, size
    with pytest.raises(ValueError, match="outside its range 1..8"):
        compiled(torch.randn(9, 16, 64, device="cuda"))
    with pytest.raises(ValueError, match="outside its range 4..64"):
        compiled(torch.randn(2, 65, 64, device="cuda"))


def test_cuda_graph_module_and_save_load(torch, kiln_torch, tmp_path):
    block = make_block(torch)
    x = torch.randn(8, 16, 64, device="cuda")
    compiled = kiln_torch.compile(block, (x,), enabled_precisions={"fp32"}, cuda_graph=True)
    runs = [compiled(x)[0] for _ in range(3)]  # a plain run, then captured and replayed
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[1], runs[2])
    kiln_torch.save(compiled, str(tmp_path / "block.kiln"))
    loaded = kiln_torch.load(str(tmp_path / "block.kiln"))
    # Another engine object times its GEMM algorithms afresh (per engine, not stored in the
    # file), so its bits may differ in the last place.
    assert rel_error(loaded(x)[0], runs[0]) < 1e-5
    with pytest.raises(TypeError, match="structure"):
        loaded(x, x)


def test_torch_compile_backend(torch, kiln_torch):
    block = make_block(torch)
    x = torch.randn(8, 16, 64, device="cuda")
    with torch.no_grad():
        expected = block(x)
        actual = torch.compile(block, backend="kiln")(x)
    assert rel_error(actual[0], expected[0]) < 3e-2


def test_unsupported_models_raise_kiln_errors(torch, kiln_torch):
    class Inverts(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.inv(x)

    with pytest.raises(kiln.UnsupportedError, match="linalg_inv"):
        kiln_torch.compile(Inverts(), (torch.randn(4, 8, 8, device="cuda"),))


def test_sort_values_and_argsort_alone(torch, kiln_torch):
    # Each leaves one of TopK's two outputs unread (no storage on the GPU).
    class Sorts(torch.nn.Module):
        def forward(self, x):
            return torch.sort(x, dim=-1).values, torch.argsort(x, dim=0)

    x = torch.randn(4, 8, device="cuda")
    values, order = kiln_torch.compile(Sorts(), (x,), enabled_precisions={"fp32"})(x)
    assert torch.equal(values, torch.sort(x, dim=-1).values)
    assert torch.equal(order, torch.argsort(x, dim=0))
