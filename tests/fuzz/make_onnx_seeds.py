"""Writes a few small ONNX models as a seed corpus for fuzz_onnx.

Usage: .venv/bin/python tests/fuzz/make_onnx_seeds.py OUT_FOLDER
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inputs, outputs, initializers=(), opset=18):
    graph = helper.make_graph(nodes, "seed", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def seeds():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    yield "conv_relu_pool", model(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
         helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
        [x], [y], [w])
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    split = numpy_helper.from_array(np.array([2, 2], np.int64), "split")
    v = helper.make_tensor_value_info("v", TensorProto.BFLOAT16, [2, 1, 4])
    yield "squeeze_split_cast", model(
        [helper.make_node("Squeeze", ["v", "axes"], ["s"]),
         helper.make_node("Split", ["s", "split"], ["a", "b"], axis=1),
         helper.make_node("Cast", ["a"], ["y"], to=TensorProto.FLOAT)],
        [v], [y], [axes, split], opset=13)
    q = helper.make_tensor_value_info("q", TensorProto.FLOAT, [1, 2, 4, 8])
    yield "attention", model(
        [helper.make_node("Attention", ["q", "q", "q"], ["y"], is_causal=1)], [q], [y], opset=23)
    yield "constants_unsupported", model(
        [helper.make_node("Constant", [], ["c"], value_ints=[2, 3]),
         helper.make_node("ConstantOfShape", ["c"], ["z"],
                          value=helper.make_tensor("v", TensorProto.FLOAT16, [1], [1.5])),
         helper.make_node("Resize", ["z"], ["r"]),
         helper.make_node("Identity", ["r"], ["y"])], [], [y])

    # Subgraphs and sequences: an If on the input's rank, a SequenceMap whose body reads an
    # outer value, a split and a concatenation.
    two = numpy_helper.from_array(np.array(2, np.int64), "two")
    m = helper.make_tensor_value_info("m", TensorProto.FLOAT, [2, 3])
    branch = helper.make_graph([helper.make_node("Neg", ["m"], ["n"])], "then", [],
                               [helper.make_tensor_value_info("n", TensorProto.FLOAT, [2, 3])])
    other = helper.make_graph([helper.make_node("Abs", ["m"], ["a"])], "else", [],
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])])
    body = helper.make_graph(
        [helper.make_node("Add", ["e", "two_f"], ["s"])], "body",
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, None)])
    two_f = numpy_helper.from_array(np.array(2, np.float32), "two_f")
    yield "if_sequences", model(
        [helper.make_node("Shape", ["m"], ["shape"]),
         helper.make_node("Size", ["shape"], ["rank"]),
         helper.make_node("Equal", ["rank", "two"], ["cond"]),
         helper.make_node("If", ["cond"], ["chosen"], then_branch=branch, else_branch=other),
         helper.make_node("SplitToSequence", ["chosen"], ["parts"], axis=1),
         helper.make_node("SequenceMap", ["parts"], ["mapped"], body=body),
         helper.make_node("ConcatFromSequence", ["mapped"], ["y"], axis=1)],
        [m], [y], [two, two_f])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, proto in seeds():
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(proto.SerializeToString())
    here = os.path.dirname(os.path.abspath(__file__))
    shutil.copy(os.path.join(here, "..", "models", "example", "example.onnx"),
                os.path.join(out, "example.onnx"))


if __name__ == "__main__":
    main()
