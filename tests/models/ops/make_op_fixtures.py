"""Writes small ONNX models for ops whose ONNX node tests use forms Kiln rejects (Pad's and
Resize's node tests pass pads, scales and sizes as run-time inputs; Kiln needs them constant;
others only exist at opsets Kiln does not read), so that kiln_operator_matrix can trace them. Run: .venv/bin/python tests/models/ops/make_op_fixtures.py"""
import pathlib

import onnx
from onnx import TensorProto, helper


def make_pad():
    pads = helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 1, 2, 0, 0, 1, -1])
    value = helper.make_tensor("value", TensorProto.FLOAT, [], [0.5])
    axes_pads = helper.make_tensor("axes_pads", TensorProto.INT64, [2], [1, 2])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [-1])
    nodes = [
        helper.make_node("Pad", ["x", "pads", "value"], ["constant"], mode="constant"),
        helper.make_node("Pad", ["x", "axes_pads", "", "axes"], ["reflect"], mode="reflect"),
        helper.make_node("Pad", ["x", "pads"], ["edge"], mode="edge"),
    ]
    graph = helper.make_graph(
        nodes,
        "pad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
         for name, shape in (("constant", [1, 2, 5, 5]), ("reflect", [1, 2, 3, 7]),
                             ("edge", [1, 2, 5, 5]))],
        [pads, value, axes_pads, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model


def make_resize():
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1.0, 1.0, 2.0, 0.5])
    sizes = helper.make_tensor("sizes", TensorProto.INT64, [2], [5, 6])
    nodes = [
        helper.make_node("Resize", ["x", "", "scales"], ["linear"], mode="linear"),
        helper.make_node("Resize", ["x", "", "", "sizes"], ["nearest"], mode="nearest",
                         axes=[2, 3], coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor"),
    ]
    graph = helper.make_graph(
        nodes,
        "resize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
        [helper.make_tensor_value_info("linear", TensorProto.FLOAT, [1, 2, 6, 2]),
         helper.make_tensor_value_info("nearest", TensorProto.FLOAT, [1, 2, 5, 6])],
        [scales, sizes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model


def make_composites():
    """The ops written as several core ops whose node tests Kiln skips (run-time axes or
    depth, opsets beyond Kiln's range)."""
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    depth = helper.make_tensor("depth", TensorProto.INT64, [1], [3])
    values = helper.make_tensor("values", TensorProto.FLOAT, [2], [0.0, 1.0])
    reductions = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]
    nodes = [helper.make_node(op, ["x", "axes"], [op.lower()], keepdims=0) for op in reductions]
    nodes += [
        helper.make_node("Celu", ["x"], ["celu"], alpha=2.0),
        helper.make_node("Shrink", ["x"], ["shrink"], bias=0.5, lambd=1.0),
        helper.make_node("Greater", ["x", "x"], ["greater"]),
        helper.make_node("Xor", ["greater", "greater"], ["xor"]),
        helper.make_node("OneHot", ["indices", "depth", "values"], ["onehot"]),
        helper.make_node("Einsum", ["x", "x"], ["einsum"], equation="ij,kj->ik"),
    ]
    outputs = [helper.make_tensor_value_info(op.lower(), TensorProto.FLOAT, [2])
               for op in reductions]
    outputs += [
        helper.make_tensor_value_info("celu", TensorProto.FLOAT, [2, 3]),
        helper.make_tensor_value_info("shrink", TensorProto.FLOAT, [2, 3]),
        helper.make_tensor_value_info("xor", TensorProto.BOOL, [2, 3]),
        helper.make_tensor_value_info("onehot", TensorProto.FLOAT, [4, 3]),
        helper.make_tensor_value_info("einsum", TensorProto.FLOAT, [2, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "composites",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("indices", TensorProto.INT64, [4])],
        outputs,
        [axes, depth, values],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model


def make_top_k():
    """TopK with a constant K (its node tests pass K as a run-time input)."""
    k = helper.make_tensor("k", TensorProto.INT64, [1], [2])
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=1, largest=0)
    graph = helper.make_graph(
        [node],
        "top_k",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, [2, 2]),
         helper.make_tensor_value_info("indices", TensorProto.INT64, [2, 2])],
        [k],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model


def make_cum_prod():
    """CumProd exists from opset 26; its node tests pass the axis as a run-time input."""
    axis = helper.make_tensor("axis", TensorProto.INT64, [], [1])
    node = helper.make_node("CumProd", ["x", "axis"], ["y"], exclusive=1)
    graph = helper.make_graph(
        [node], "cum_prod",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], [axis])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 26)])
    onnx.checker.check_model(model)
    return model


def make_tile():
    """Tile with constant repeats (its node tests pass them as a run-time input)."""
    repeats = helper.make_tensor("repeats", TensorProto.INT64, [2], [2, 3])
    node = helper.make_node("Tile", ["x", "repeats"], ["y"])
    graph = helper.make_graph(
        [node], "tile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 15])], [repeats])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model


def make_sequences():
    """The sequence ops and If whose node tests take or give sequences, or a run-time
    condition: sequences built, edited and split, an If on the input's rank (static), and
    the results concatenated. Checked against ONNX's reference evaluator when written."""
    def ints(name, values, dims=None):
        return helper.make_tensor(name, TensorProto.INT64, [len(values)] if dims is None else dims,
                                  values)
    then_branch = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["negated"])], "then", [],
        [helper.make_tensor_value_info("negated", TensorProto.FLOAT, [2, 3])])
    else_branch = helper.make_graph(
        [helper.make_node("Abs", ["x"], ["kept"])], "else", [],
        [helper.make_tensor_value_info("kept", TensorProto.FLOAT, [2, 3])])
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Size", ["shape"], ["rank"]),
        helper.make_node("Equal", ["rank", "two"], ["is_matrix"]),
        helper.make_node("If", ["is_matrix"], ["chosen"], then_branch=then_branch,
                         else_branch=else_branch),
        helper.make_node("SequenceEmpty", [], ["empty"], dtype=TensorProto.FLOAT),
        helper.make_node("SequenceInsert", ["empty", "x"], ["one"]),
        helper.make_node("SequenceInsert", ["one", "chosen", "zero"], ["two_items"]),
        helper.make_node("SplitToSequence", ["x", "sizes"], ["pieces"], axis=1),
        helper.make_node("SequenceErase", ["pieces", "zero"], ["rest"]),
        helper.make_node("SequenceLength", ["rest"], ["count"]),
        helper.make_node("ConcatFromSequence", ["two_items"], ["stacked"], axis=0, new_axis=1),
        helper.make_node("ConcatFromSequence", ["rest"], ["tail"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "sequences",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("stacked", TensorProto.FLOAT, [2, 2, 3]),
         helper.make_tensor_value_info("tail", TensorProto.FLOAT, [2, 2]),
         helper.make_tensor_value_info("count", TensorProto.INT64, [])],
        [ints("two", [2], []), ints("zero", [0], []), ints("sizes", [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    folder = pathlib.Path(__file__).parent
    onnx.save(make_pad(), folder / "pad.onnx")
    onnx.save(make_resize(), folder / "resize.onnx")
    onnx.save(make_composites(), folder / "composites.onnx")
    onnx.save(make_top_k(), folder / "top_k.onnx")
    onnx.save(make_cum_prod(), folder / "cum_prod.onnx")
    onnx.save(make_tile(), folder / "tile.onnx")
    onnx.save(make_sequences(), folder / "sequences.onnx")
