"""Writes small ONNX models for ops whose ONNX node tests use forms Kiln rejects (Pad's node
tests pass pads as run-time inputs; Kiln needs them constant), so that kiln_operator_matrix
can trace them. Run: .venv/bin/python tests/models/ops/make_op_fixtures.py"""
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


if __name__ == "__main__":
    folder = pathlib.Path(__file__).parent
    onnx.save(make_pad(), folder / "pad.onnx")
