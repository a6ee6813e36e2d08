"""kiln.load_model, Model.run and kiln.inspect on the CPU reference backend, against
PyTorch's own outputs; bad files and bad inputs raise errors that name what is wrong."""

import ml_dtypes
import numpy as np
import pytest

import kiln
from conftest import error, fixture, fixture_io


@pytest.mark.parametrize("suffix", [".onnx", ".pt2", ".pt"])
def test_mlp_matches_pytorch_in_each_format(suffix):
    model = kiln.load_model(fixture("mlp", "fp32", suffix))
    inputs, expected = fixture_io("mlp", "fp32")
    assert [value["name"] for value in model.inputs] == ["x"]
    outputs = model.run(inputs, backend="cpu")
    assert set(outputs) == set(model_output["name"] for model_output in model.outputs)
    (output,) = outputs.values()
    assert isinstance(output, np.ndarray) and output.dtype == np.float32
    assert output.shape == expected["output_0"].shape
    assert error(output, expected["output_0"]) < 1e-5


def test_bf16_model_takes_and_returns_numpy_bfloat16():
    model = kiln.load_model(fixture("mlp", "bf16", ".pt2"))
    inputs, expected = fixture_io("mlp", "bf16")
    assert inputs["x"].dtype == ml_dtypes.bfloat16
    (output,) = model.run(inputs, backend="cpu", strongly_typed=True).values()
    assert output.dtype == ml_dtypes.bfloat16
    assert error(output, expected["output_0"]) < 3e-2


def test_bf16_precision_changes_the_result_but_stays_close():
    model = kiln.load_model(fixture("mlp", "fp32", ".onnx"))
    inputs, expected = fixture_io("mlp", "fp32")
    fp32 = next(iter(model.run(inputs, backend="cpu").values()))
    assert error(fp32, expected["output_0"]) < 1e-5
    bf16 = next(iter(model.run(inputs, precisions={"bf16"}, backend="cpu").values()))
    assert bf16.dtype == np.float32  # the model's declared output dtype
    assert 0 < error(bf16, fp32) < 3e-2


def test_random_inputs_follow_the_seed_and_dims():
    model = kiln.load_model(fixture("bert", "fp32", ".onnx"))
    first = model.run(backend="cpu", dims={"batch": 2}, seed=3)
    again = model.run(backend="cpu", dims={"batch": 2}, seed=3)
    other = model.run(backend="cpu", dims={"batch": 2}, seed=4)
    (name,) = first
    np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first[name], other[name])


def test_integer_inputs_and_strided_arrays():
    model = kiln.load_model(fixture("bert", "fp32", ".onnx"))
    inputs, expected = fixture_io("bert", "fp32")
    (output,) = model.run(inputs, backend="cpu").values()
    assert error(output, expected["output_0"]) < 1e-4
    # The same inputs as non-contiguous views: gathered, same result.
    strided = {name: np.repeat(value, 2, axis=-1)[..., ::2] for name, value in inputs.items()}
    assert not strided["input_ids"].flags.c_contiguous
    (again,) = model.run(strided, backend="cpu").values()
    np.testing.assert_array_equal(output, again)


def test_inspect_lists_the_interface_without_raising():
    report = kiln.inspect(fixture("mlp", "fp32", ".onnx"))
    assert report["inputs"][0]["name"] == "x"
    assert report["unsupported"] == []
    assert report["node_count"] > 0


def test_missing_and_corrupt_files_raise_named_errors(tmp_path):
    with pytest.raises(kiln.InvalidArgumentError, match="does not exist"):
        kiln.load_model(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage" * 7)
    with pytest.raises(kiln.InvalidModelError, match="bad.onnx"):
        kiln.load_model(bad)
    other = tmp_path / "model.txt"
    other.write_text("x")
    with pytest.raises(kiln.Error, match="unknown model format"):
        kiln.load_model(other)


def test_bad_inputs_name_the_input():
    model = kiln.load_model(fixture("mlp", "fp32", ".onnx"))
    x = fixture_io("mlp", "fp32")[0]["x"]
    with pytest.raises(ValueError, match="no input 'y'"):
        model.run({"x": x, "y": x}, backend="cpu")
    with pytest.raises(ValueError, match="no input 'z'"):
        model.run({"z": x}, backend="cpu")
    with pytest.raises(TypeError, match="input 'x' is float64, but the model takes float32"):
        model.run({"x": x.astype(np.float64)}, backend="cpu")
    with pytest.raises(ValueError, match=r"input 'x' has shape \[4, 15\]"):
        model.run({"x": x[:, :15]}, backend="cpu")
    with pytest.raises(ValueError, match="rank 2 expected"):
        model.run({"x": x[None]}, backend="cpu")
    with pytest.raises(TypeError, match="dict"):
        model.run([x], backend="cpu")
    with pytest.raises(TypeError, match="input 'x' is a str, not an array"):
        model.run({"x": "hello"}, backend="cpu")
    with pytest.raises(TypeError, match="dtype object, which Kiln cannot read"):
        model.run({"x": np.array([object()])}, backend="cpu")
    with pytest.raises(TypeError, match="element type Kiln does not have"):
        model.run({"x": x.astype(np.complex64)}, backend="cpu")
    with pytest.raises(ValueError, match="backend"):
        model.run({"x": x}, backend="tpu")
    with pytest.raises(kiln.InvalidArgumentError, match="precision"):
        model.run({"x": x}, precisions="fp33", backend="cpu")


def test_symbol_sizes_must_agree_across_inputs():
    model = kiln.load_model(fixture("bert", "fp32", ".onnx"))
    inputs, _ = fixture_io("bert", "fp32")
    names = [value["name"] for value in model.inputs]
    shapes = {value["name"]: value["shape"] for value in model.inputs}
    inputs = dict(inputs)
    inputs[names[1]] = inputs[names[1]][:1]
    if shapes[names[0]].split(",")[0] == shapes[names[1]].split(",")[0]:
        with pytest.raises(ValueError, match="which input"):
            model.run(inputs, backend="cpu")
