"""kiln.build, engines saved and loaded, inspect, and execution contexts on the CPU reference
backend: outputs equal the CLI's bit for bit, contexts on 8 threads agree, and bad inputs
raise errors naming the input."""

import math
import subprocess

import ml_dtypes
import numpy as np
import pytest

import kiln
from conftest import error, fixture, fixture_io, kiln_cli, run_in_threads


@pytest.fixture(scope="module")
def mlp_engine():
    return kiln.build(fixture("mlp", "fp32", ".onnx"), precisions="fp32,bf16", backend="cpu")


def test_build_chooses_precisions_and_inspect_reports_them(mlp_engine):
    report = mlp_engine.inspect()
    assert report["precisions"] == "fp32,bf16"
    assert report["gpu_architecture"] == "none"
    assert report["inputs"][0]["name"] == "x"
    precisions = mlp_engine.layer_precisions
    assert precisions and set(precisions.values()) <= {"fp32", "bf16", "none"}
    assert "bf16" in precisions.values()  # the heuristic takes bf16 where it is enabled


def test_layer_precisions_pin_an_op_kind(mlp_engine):
    pinned_op = next(layer["op"] for layer in mlp_engine.inspect()["layers"]
                     if layer["precision"] == "bf16")
    engine = kiln.build(fixture("mlp", "fp32", ".onnx"), precisions={"fp32", "bf16"},
                        layer_precisions={pinned_op: "fp32"}, backend="cpu")
    for layer in engine.inspect()["layers"]:
        if layer["op"] == pinned_op:
            assert layer["precision"] == "fp32"
    with pytest.raises(kiln.InvalidArgumentError, match="fp64"):
        kiln.build(fixture("mlp", "fp32", ".onnx"), layer_precisions={pinned_op: "fp64"},
                   backend="cpu")
    with pytest.raises(kiln.InvalidArgumentError, match="Conv"):
        kiln.build(fixture("mlp", "fp32", ".onnx"), layer_precisions={"Conv": "fp32"},
                   backend="cpu")


def test_context_matches_pytorch_and_model_run(mlp_engine):
    inputs, expected = fixture_io("mlp", "fp32")
    context = mlp_engine.context(backend="cpu")
    assert context.backend == "cpu"
    outputs = context.run(inputs)
    (name,) = outputs
    assert error(outputs[name], expected["output_0"]) < 3e-2
    model_outputs = kiln.load_model(fixture("mlp", "fp32", ".onnx")).run(
        inputs, precisions="fp32,bf16", backend="cpu")
    np.testing.assert_array_equal(outputs[name], model_outputs[name])


def test_conv_layout_is_channels_last_by_default_or_the_models_own():
    model = fixture("resnet", "fp32", ".onnx")
    inputs, expected = fixture_io("resnet", "fp32")
    engines = {layout: kiln.build(model, backend="cpu", conv_layout=layout)
               for layout in ("nhwc", "nchw")}
    ops = {layout: [layer["op"] for layer in engine.inspect()["layers"]]
           for layout, engine in engines.items()}
    assert "Transpose" in ops["nhwc"] and "Transpose" not in ops["nchw"]
    assert [layer["op"] for layer in kiln.build(model, backend="cpu").inspect()["layers"]] == ops["nhwc"]
    for engine in engines.values():
        (name, output), = engine.context(backend="cpu").run(inputs).items()
        assert error(output, expected["output_0"]) < 1e-4
    with pytest.raises(kiln.InvalidArgumentError, match="conv_layout"):
        kiln.build(model, backend="cpu", conv_layout="nhcw")


def test_save_and_load_round_trip(mlp_engine, tmp_path):
    path = tmp_path / "mlp.kiln"
    mlp_engine.save(path)
    loaded = kiln.load_engine(path)
    assert loaded.path == str(path)
    assert loaded.layer_precisions == mlp_engine.layer_precisions
    inputs, _ = fixture_io("mlp", "fp32")
    first = mlp_engine.context(backend="cpu").run(inputs)
    again = loaded.context(backend="cpu").run(inputs)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])


def test_outputs_equal_the_cli_bit_for_bit(mlp_engine, tmp_path):
    cli = kiln_cli()
    if cli is None:
        pytest.skip("the kiln CLI is not built (build/kiln or KILN_CLI): comparison not run")
    path = tmp_path / "mlp.kiln"
    mlp_engine.save(path)
    inputs, _ = fixture_io("mlp", "fp32")
    np.save(tmp_path / "x.npy", inputs["x"])
    subprocess.run([str(cli), "run", str(path), "--backend", "cpu", "--input",
                    f"x={tmp_path / 'x.npy'}", "--output-dir", str(tmp_path / "out")],
                   check=True, capture_output=True)
    outputs = kiln.load_engine(path).context(backend="cpu").run(inputs)
    for name, value in outputs.items():
        cli_value = np.load(tmp_path / "out" / f"{name}.npy")
        assert cli_value.dtype == value.dtype
        np.testing.assert_array_equal(cli_value, value)


def test_eight_threads_with_a_context_each_agree(mlp_engine):
    inputs, _ = fixture_io("mlp", "fp32")
    reference = mlp_engine.context(backend="cpu").run(inputs)
    results = [None] * 8

    def work(index):
        context = mlp_engine.context(backend="cpu")
        for _ in range(5):
            results[index] = context.run(inputs)

    assert run_in_threads(8, work) == []
    for result in results:
        for name in reference:
            np.testing.assert_array_equal(result[name], reference[name])


def test_a_batch_range_is_kept_and_enforced():
    path = fixture("bert", "fp32", ".onnx")
    engine = kiln.build(path, precisions="fp32", dims={"batch": (1, 2, 4)}, backend="cpu")
    assert engine.inspect()["dim_ranges"] == {"batch": {"min": 1, "max": 4}}
    inputs, _ = fixture_io("bert", "fp32")
    context = engine.context(backend="cpu")
    resized = {name: np.resize(value, (3,) + value.shape[1:]) for name, value in inputs.items()}
    assert next(iter(context.run(resized).values())).shape[0] == 3
    resized = {name: np.resize(value, (5,) + value.shape[1:]) for name, value in inputs.items()}
    with pytest.raises(ValueError, match="dim 'batch' is 5, outside its range 1..4"):
        context.run(resized)
    with pytest.raises(ValueError, match="min <= opt <= max"):
        kiln.build(path, dims={"batch": (4, 2, 8)}, backend="cpu")
    with pytest.raises(ValueError, match="no symbolic dim of that name"):
        kiln.build(path, dims={"seq": 4}, backend="cpu")
    unbounded = kiln.build(path, dims={"batch": (1, 2, None)}, backend="cpu")
    assert unbounded.inspect()["dim_ranges"] == {"batch": {"min": 1, "max": None}}


def test_strongly_typed_bf16_engine_keeps_bfloat16():
    engine = kiln.build(fixture("mlp", "bf16", ".pt2"), precisions="bf16", strongly_typed=True,
                        backend="cpu")
    inputs, expected = fixture_io("mlp", "bf16")
    (output,) = engine.context(backend="cpu").run(inputs).values()
    assert output.dtype == ml_dtypes.bfloat16
    assert error(output, expected["output_0"]) < 3e-2
    # A float32 array for a bfloat16 input is refused, naming both dtypes.
    with pytest.raises(TypeError, match="float32, but the model takes bfloat16"):
        engine.context(backend="cpu").run({"x": inputs["x"].astype(np.float32)})


def test_context_errors_name_the_problem(mlp_engine):
    x = fixture_io("mlp", "fp32")[0]["x"]
    context = mlp_engine.context(backend="cpu")
    with pytest.raises(ValueError, match="'x' was not given"):
        context.run({})
    with pytest.raises(ValueError, match="outputs= takes GPU tensors"):
        context.run({"x": x}, outputs={"y": x})
    with pytest.raises(kiln.InvalidArgumentError, match="cuda_graph needs the cuda backend"):
        mlp_engine.context(backend="cpu", cuda_graph=True)
    with pytest.raises(kiln.InvalidArgumentError, match="framework"):
        context.run({"x": x}, framework="jax2")


def test_damaged_engine_files_raise_invalid_model(mlp_engine, tmp_path):
    path = tmp_path / "mlp.kiln"
    mlp_engine.save(path)
    data = path.read_bytes()
    (tmp_path / "short.kiln").write_bytes(data[: len(data) // 2])
    with pytest.raises(kiln.InvalidModelError, match="short.kiln"):
        kiln.load_engine(tmp_path / "short.kiln")
    (tmp_path / "junk.kiln").write_bytes(b"not an engine at all")
    with pytest.raises(kiln.InvalidModelError, match="junk.kiln"):
        kiln.load_engine(tmp_path / "junk.kiln")


def test_compare_and_version():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    result = kiln.compare(a + np.float32(0.5), a)
    assert result["max_abs_diff"] == pytest.approx(0.5)
    assert result["normalized_error"] == pytest.approx(np.linalg.norm([0.5] * 3) /
                                                       np.linalg.norm(a))
    assert math.isnan(kiln.compare(np.array([np.nan], np.float32), np.ones(1, np.float32))[
        "normalized_error"])  # NaN never passes
    import importlib.metadata
    try:
        assert kiln.__version__ == importlib.metadata.version("kiln")
    except importlib.metadata.PackageNotFoundError:
        pass  # a source checkout on PYTHONPATH (the GPU machine's run): no metadata
