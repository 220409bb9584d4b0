"""Exact rewrites of the packaged MiniLM graph that save memory and time without changing a vector.

The package stores every weight as int8 with a float scale (``Cast`` then ``Mul``), and ONNX Runtime folds
those into float32 copies when it loads the model. Two rewrites, both exact for our inputs:

* The word-embedding table (30,522 x 384, 45 MB as float32) is looked up in int8 and only the looked-up rows
  are scaled, so the float32 table is never built. Its scales are per row, so scaling after the lookup is
  the same arithmetic as before it.
* The NaN guards after each attention softmax (``Where(IsNaN(p), 0, p)``, from the exporter) only matter for
  a row whose tokens are all masked; every row we run holds ``[CLS]``, so the guard never fires, but it cost a
  pass over the 12 x n x n attention weights in each of the six layers.

A pattern that is not found is left alone, so a different export still loads (just without the saving).
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper, numpy_helper


def rewrite(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:  # noqa: C901 - one pass over the graph's nodes, one branch per pattern rewritten
    """The model rewritten in place, and how many rewrites were made."""
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    dropped: set[int] = set()
    replaced: dict[int, list[onnx.NodeProto]] = {}
    renamed: dict[str, str] = {}
    for mul in graph.node:
        cast = producers.get(mul.input[0]) if mul.op_type == "Mul" else None
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in initializers:
            continue
        quantized, scale = cast.input[0], mul.input[1]
        if scale not in initializers or numpy_helper.to_array(initializers[scale]).shape[-1:] != (1,):
            continue  # only per-row scales commute with a row lookup
        users = consumers.get(mul.output[0], [])
        if not users or any(u.op_type != "Gather" or u.input[0] != mul.output[0] for u in users):
            continue
        for gather in users:
            out, rows = gather.output[0], gather.input[1]
            replaced[id(gather)] = [
                helper.make_node("Gather", [quantized, rows], [f"{out}_q"], name=f"{gather.name}_q"),
                helper.make_node("Cast", [f"{out}_q"], [f"{out}_qf"], to=TensorProto.FLOAT),
                helper.make_node("Gather", [scale, rows], [f"{out}_s"], name=f"{gather.name}_s"),
                helper.make_node("Mul", [f"{out}_qf", f"{out}_s"], [out], name=f"{gather.name}_scale"),
            ]
        dropped.update({id(cast), id(mul)})
    for isnan in graph.node:
        users = consumers.get(isnan.output[0], []) if isnan.op_type == "IsNaN" else []
        if (
            len(users) == 1
            and users[0].op_type == "Where"
            and users[0].input[2] == isnan.input[0]
            and users[0].output[0] not in outputs
        ):
            renamed[users[0].output[0]] = isnan.input[0]
            dropped.update({id(isnan), id(users[0])})
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if id(node) not in dropped:
            nodes.extend(replaced.get(id(node), [node]))
    for node in nodes:
        for position, name in enumerate(node.input):
            if name in renamed:
                node.input[position] = renamed[name]
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return model, len(replaced) + len(renamed)
