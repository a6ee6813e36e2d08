"""Contexts on the GPU with torch CUDA tensors (run on the GPU machine, where torch is
installed; skipped elsewhere, saying so): zero-copy BF16 in and out, outputs equal to the CLI's
bit for bit, 8 threads, CUDA graphs, several input sizes in one context, and bad tensors."""

import contextlib
import subprocess

import numpy as np
import pytest

import kiln
from conftest import error, fixture, fixture_io, gpu, kiln_cli, needs_torch, run_in_threads

pytestmark = [gpu, needs_torch]


@pytest.fixture(scope="module")
def torch():
    import torch
    return torch


@pytest.fixture(scope="module")
def bf16_engine():
    return kiln.build(fixture("mlp", "bf16", ".pt2"), precisions="bf16", strongly_typed=True,
                      backend="cuda")


@pytest.fixture(scope="module")
def bert_engine():
    return kiln.build(fixture("bert", "fp32", ".onnx"), precisions="fp32,bf16",
                      dims={"batch": 2}, backend="cuda")


def test_bf16_cuda_tensor_in_and_out_without_copies(torch, bf16_engine):
    inputs, expected = fixture_io("mlp", "bf16")
    x = torch.from_numpy(inputs["x"].view(np.uint16).astype(np.int32)).to(torch.int16)
    x = x.view(torch.bfloat16).cuda()
    (name,) = bf16_engine.output_names
    out = torch.empty(expected["output_0"].shape, dtype=torch.bfloat16, device="cuda")
    before = out.data_ptr()
    results = bf16_engine.context().run({"x": x}, outputs={name: out})
    torch.cuda.synchronize()
    assert results[name] is out and out.data_ptr() == before
    reference = expected["output_0"].astype(np.float32)
    assert error(out.float().cpu().numpy(), reference) < 3e-2
    # Without outputs=, new torch tensors on the GPU.
    fresh = bf16_engine.context().run({"x": x})[name]
    assert isinstance(fresh, torch.Tensor) and fresh.is_cuda and fresh.dtype == torch.bfloat16
    torch.cuda.synchronize()
    assert torch.equal(fresh, out)


def test_outputs_equal_the_cli_bit_for_bit(tmp_path):
    cli = kiln_cli()
    if cli is None:
        pytest.skip("the kiln CLI is not built (build/kiln or KILN_CLI): comparison not run")
    # The engine file carries the GEMM algorithms the build chose, so the CLI's process, this
    # process's built engine and its loaded copy all run the same ones.
    engine = kiln.build(fixture("bert", "fp32", ".onnx"), precisions="fp32,bf16",
                        dims={"batch": 2}, backend="cuda")
    path = tmp_path / "bert.kiln"
    engine.save(path)
    inputs, _ = fixture_io("bert", "fp32")
    args = []
    for name, value in inputs.items():
        np.save(tmp_path / f"{name}.npy", value)
        args += ["--input", f"{name}={tmp_path / (name + '.npy')}"]
    subprocess.run([str(cli), "run", str(path), "--backend", "cuda", *args, "--output-dir",
                    str(tmp_path / "out")], check=True, capture_output=True)
    for runs in (kiln.load_engine(path).context().run(inputs), engine.context().run(inputs)):
        for name, value in runs.items():
            cli_value = np.load(tmp_path / "out" / f"{name}.npy")
            assert cli_value.dtype == value.dtype and cli_value.shape == value.shape
            np.testing.assert_array_equal(value, cli_value)


def test_torch_tensors_match_host_arrays_and_pytorch(torch, bert_engine):
    inputs, expected = fixture_io("bert", "fp32")
    context = bert_engine.context()
    host = context.run(inputs)
    device = context.run({name: torch.from_numpy(value).cuda() for name, value in inputs.items()})
    for name in host:
        np.testing.assert_array_equal(device[name].cpu().numpy(), host[name])
    assert error(host[bert_engine.output_names[0]], expected["output_0"]) < 3e-2


def test_one_context_serves_several_batch_sizes(torch, bert_engine):
    inputs, _ = fixture_io("bert", "fp32")
    context = bert_engine.context(cached_shapes=2)
    full = context.run(inputs)
    for batch in (1, 2, 1):
        part = context.run({name: value[:batch] for name, value in inputs.items()})
        for name in full:
            np.testing.assert_allclose(part[name], full[name][:batch], rtol=2e-2, atol=2e-2)


def test_cuda_graph_replays_give_the_same_outputs(torch, bert_engine):
    inputs = {name: torch.from_numpy(value).cuda()
              for name, value in fixture_io("bert", "fp32")[0].items()}
    plain = bert_engine.context().run(inputs)
    graph_context = bert_engine.context(cuda_graph=True)
    for _ in range(3):
        replayed = graph_context.run(inputs)
    torch.cuda.synchronize()
    for name in plain:
        assert torch.equal(plain[name], replayed[name])


def test_cuda_graph_binds_steady_tensors_and_copies_moving_ones(torch, bf16_engine):
    # Steady addresses are bound (the graph replayed with them), addresses that alternate
    # between two buffers too, new ones copied: every result equals a plain run's, on torch's
    # default stream (legacy: capture on a side stream) and on a stream of its own.
    name = bf16_engine.output_names[0]
    shape = fixture_io("mlp", "bf16")[0]["x"].shape
    plain = bf16_engine.context()
    for stream in (None, torch.cuda.Stream()):
        graph_context = bf16_engine.context(cuda_graph=True)
        with torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext():
            x = torch.randn(*shape, device="cuda", dtype=torch.bfloat16)
            buffers = [torch.empty_like(plain.run({"x": x})[name]) for _ in range(2)]
            for step in range(12):
                if step % 3 == 2:
                    x = x.clone()  # a new address
                x.mul_(1.5)  # new values in place: a bound graph must read them
                out = buffers[step % 2] if step < 8 else buffers[0]
                result = graph_context.run({"x": x}, outputs={name: out})[name]
                assert result is out
                expected = plain.run({"x": x})[name]
                torch.cuda.current_stream().synchronize()
                assert torch.equal(out, expected), f"step {step}"


def test_engine_built_for_a_batch_range_runs_across_it():
    # dims={"batch": (1, 2, 8)}: timed at 2, valid from 1 to 8, checked against the CPU
    # reference at sizes across the range; 9 is refused naming the dim and its range.
    path = fixture("bert", "fp32", ".onnx")
    engine = kiln.build(path, precisions="fp32,bf16", dims={"batch": (1, 2, 8)}, backend="cuda")
    assert engine.inspect()["dim_ranges"] == {"batch": {"min": 1, "max": 8}}
    model = kiln.load_model(path)
    fixture_inputs, _ = fixture_io("bert", "fp32")
    context = engine.context()
    for batch in (1, 2, 5, 8):
        inputs = {name: np.resize(value, (batch,) + value.shape[1:])
                  for name, value in fixture_inputs.items()}
        reference = model.run(inputs, precisions="fp32", backend="cpu")
        for name, value in context.run(inputs).items():
            assert value.shape[0] == batch
            assert error(value, reference[name]) < 3e-2, batch
    too_big = {name: np.resize(value, (9,) + value.shape[1:])
               for name, value in fixture_inputs.items()}
    with pytest.raises(ValueError, match="dim 'batch' is 9, outside its range 1..8"):
        context.run(too_big)


def test_eight_threads_with_a_context_each_agree(torch, bert_engine):
    inputs = {name: torch.from_numpy(value).cuda()
              for name, value in fixture_io("bert", "fp32")[0].items()}
    reference = bert_engine.context().run(inputs)
    torch.cuda.synchronize()
    results = [None] * 8

    def work(index):
        context = bert_engine.context()
        stream = torch.cuda.Stream()
        with torch.cuda.stream(stream):
            for _ in range(10):
                results[index] = context.run(inputs)
        stream.synchronize()

    assert run_in_threads(8, work) == []
    for result in results:
        for name in reference:
            assert torch.equal(result[name], reference[name])


def test_bad_tensors_raise_errors_naming_the_input(torch, bert_engine):
    inputs = {name: torch.from_numpy(value).cuda()
              for name, value in fixture_io("bert", "fp32")[0].items()}
    names = list(inputs)
    context = bert_engine.context()
    wide = {**inputs, names[0]: torch.cat([inputs[names[0]]] * 2, dim=-1)[..., ::2]}
    assert not wide[names[0]].is_contiguous()
    with pytest.raises(ValueError, match=f"input '{names[0]}' is not contiguous"):
        context.run(wide)
    with pytest.raises(TypeError, match=f"input '{names[0]}' is int32"):
        context.run({**inputs, names[0]: inputs[names[0]].int()})
    with pytest.raises(ValueError, match="mix host arrays and GPU tensors"):
        context.run({**inputs, names[0]: inputs[names[0]].cpu()})
    with pytest.raises(ValueError, match="runs on the CPU"):
        bert_engine.context(backend="cpu").run(inputs)
    (output,) = bert_engine.output_names
    with pytest.raises(ValueError, match=f"output '{output}' has shape"):
        context.run(inputs, outputs={output: torch.empty(3, device="cuda")})
