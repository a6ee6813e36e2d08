# Writes the ONNX backend node-test cases that Kiln can take (model.onnx + test_data_set_N/*.pb,
# the layout onnx's generate_data writes) and a manifest.json listing every case and why it was skipped.
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# The ONNX element types Kiln has a DType for (src/core/dtype.h).
SUPPORTED_DTYPES = {
    TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE,
    TensorProto.INT8, TensorProto.INT16, TensorProto.INT32, TensorProto.INT64,
    TensorProto.UINT8, TensorProto.BOOL,
}
DEFAULT_DOMAINS = ("", "ai.onnx")


def read_supported_ops(path: str) -> set[str]:
    with open(path) as file:
        lines = (line.split("#", 1)[0].strip() for line in file)
        return {line for line in lines if line}


def core_ops_in_doc(path: str) -> set[str]:
    """The op names in the first column of docs/core_ops.md's table ("| Relu, Erf, ... |")."""
    ops = set()
    with open(path) as file:
        for line in file:
            if line.startswith("| ") and line[2:3].isupper():
                ops.update(name.strip() for name in line.split("|")[1].split(","))
    ops.discard("op")
    return ops


def dtype_name(code: int) -> str:
    return TensorProto.DataType.Name(code) if code in TensorProto.DataType.values() else f"code {code}"


def all_nodes(graph: onnx.GraphProto):
    """Every node, including those of subgraphs (If/Loop/Scan bodies)."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(attribute.g)
            for subgraph in attribute.graphs:
                yield from all_nodes(subgraph)


def unsupported_ops(model: onnx.ModelProto, supported: set[str]) -> list[str]:
    missing = []
    for node in all_nodes(model.graph):
        name = node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"
        if (node.domain not in DEFAULT_DOMAINS or node.op_type not in supported) and name not in missing:
            missing.append(name)
    return missing


def value_kind(value_type: onnx.TypeProto) -> str:
    return value_type.WhichOneof("value") or "none"


def data_dtype(value) -> int | None:
    if isinstance(value, TensorProto):
        return value.data_type
    array = np.asarray(value)
    try:
        return helper.np_dtype_to_tensor_dtype(array.dtype)
    except (KeyError, ValueError, TypeError):
        return None


def skip_reason(case, supported: set[str]) -> str | None:
    """Why Kiln cannot take this case at all, or None if it can."""
    model = case.model
    missing = unsupported_ops(model, supported)
    if missing:
        return "op not supported by Kiln: " + ", ".join(missing)
    graph = model.graph
    for value in list(graph.input) + list(graph.output):
        kind = value_kind(value.type)
        if kind != "tensor_type":
            return f"input/output is {kind.replace('_type', '')}"
    codes = [value.type.tensor_type.elem_type for value in list(graph.input) + list(graph.output)]
    codes += [initializer.data_type for initializer in graph.initializer]
    for node in all_nodes(graph):
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                codes.append(attribute.t.data_type)
            if node.op_type == "Cast" and attribute.name == "to":
                codes.append(attribute.i)
    for inputs, outputs in case.data_sets:
        codes += [data_dtype(value) for value in list(inputs) + list(outputs)]
    for code in codes:
        if code is None or code not in SUPPORTED_DTYPES:
            return "dtype not supported by Kiln: " + ("unknown" if code is None else dtype_name(code))
    return None


def tensor_proto(value, name: str) -> TensorProto:
    if isinstance(value, TensorProto):
        return value
    return numpy_helper.from_array(np.asarray(value), name)


# Operands Kiln needs as constants (an initializer or Constant node): where a node test feeds
# one as a graph input with the same value in every data set, it becomes an initializer of
# that value, so the case checks the op instead of being skipped for the form.
FROZEN_OPERANDS = {"Resize": {1, 2, 3}, "Pad": {1, 2, 3}}


def as_array(value) -> np.ndarray:
    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else np.asarray(value)


def freeze_constant_operands(case) -> list[str]:
    """Turns graph inputs that only feed FROZEN_OPERANDS slots into initializers; returns their
    names."""
    graph = case.model.graph
    names = [value.name for value in graph.input]
    frozen = []
    for index, name in enumerate(names):
        readers = [(node.op_type, slot) for node in graph.node for slot, input in enumerate(node.input)
                   if input == name]
        if not readers or any(slot not in FROZEN_OPERANDS.get(op, ()) for op, slot in readers):
            continue
        values = [as_array(inputs[index]) for inputs, _ in case.data_sets]
        if any(not np.array_equal(values[0], other) for other in values[1:]):
            continue
        frozen.append(name)
    if not frozen:
        return frozen
    keep = [i for i, name in enumerate(names) if name not in frozen]
    for name in frozen:
        index = names.index(name)
        graph.initializer.append(numpy_helper.from_array(as_array(case.data_sets[0][0][index]), name))
    inputs = [graph.input[i] for i in keep]
    del graph.input[:]
    graph.input.extend(inputs)
    case.data_sets[:] = [([inputs_[i] for i in keep], outputs) for inputs_, outputs in case.data_sets]
    return frozen


def write_case(case, folder: str) -> None:
    os.makedirs(folder)
    with open(os.path.join(folder, "model.onnx"), "wb") as file:
        file.write(case.model.SerializeToString())
    graph = case.model.graph
    for index, (inputs, outputs) in enumerate(case.data_sets):
        data_folder = os.path.join(folder, f"test_data_set_{index}")
        os.makedirs(data_folder)
        for role, values, declared in (("input", inputs, graph.input), ("output", outputs, graph.output)):
            for j, value in enumerate(values):
                with open(os.path.join(data_folder, f"{role}_{j}.pb"), "wb") as file:
                    file.write(tensor_proto(value, declared[j].name).SerializeToString())


def default_opset(model: onnx.ModelProto) -> int | None:
    for entry in model.opset_import:
        if entry.domain in DEFAULT_DOMAINS:
            return entry.version
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", required=True, help="folder to (re)create with the cases")
    parser.add_argument("--supported-ops", required=True, help="file with one ONNX op type per line")
    parser.add_argument("--manifest", help="manifest path (default: <output>/manifest.json)")
    parser.add_argument("--core-ops-doc", help="docs/core_ops.md: warn about its ops missing from the list")
    args = parser.parse_args()

    supported = read_supported_ops(args.supported_ops)
    if args.core_ops_doc:
        missing = sorted(core_ops_in_doc(args.core_ops_doc) - supported)
        if missing:
            print(f"generate_node_tests: warning: {args.supported_ops} lacks core ops {', '.join(missing)}",
                  file=sys.stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the case definitions overflow casts on purpose
        from onnx.backend.test.case.node import collect_testcases

        cases = collect_testcases()

    if os.path.exists(args.output):
        shutil.rmtree(args.output)
    os.makedirs(args.output)
    entries = []
    for case in sorted(cases, key=lambda c: c.name):
        reason = skip_reason(case, supported)
        frozen = freeze_constant_operands(case) if reason is None else []
        entry = {
            "name": case.name,
            "op_types": sorted({node.op_type for node in case.model.graph.node}),
            "opset": default_opset(case.model),
            "rtol": case.rtol,
            "atol": case.atol,
            "data_sets": len(case.data_sets),
            "skipped": reason is not None,
        }
        if frozen:
            entry["frozen_inputs"] = frozen
        if reason is None:
            write_case(case, os.path.join(args.output, case.name))
        else:
            entry["reason"] = reason
        entries.append(entry)

    manifest = {"onnx_version": onnx.__version__, "cases": entries}
    manifest_path = args.manifest or os.path.join(args.output, "manifest.json")
    with open(manifest_path, "w") as file:
        json.dump(manifest, file, indent=1)
    written = sum(1 for entry in entries if not entry["skipped"])
    print(f"generate_node_tests: {written} of {len(entries)} cases written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
