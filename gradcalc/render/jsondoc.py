"""The JSON document of a result: strict JSON (no NaN or Infinity), one per run."""

from __future__ import annotations

import json
from math import isfinite
from typing import TYPE_CHECKING, Any

from ..api import GradResult
from ..checks import FORWARD_TOL, NUMERIC_TOL, SYMBOLIC_TOL
from ..errors import GradcalcError
from ..tape import CONST, GATE, VAR
from .escape import json_text
from .numbers import num, status_of
from .patterns import fanout, pattern

if TYPE_CHECKING:
    from ..jacobian import JacobianResult

SCHEMA_VERSION = 1


def result_doc(result: GradResult, brief: bool = False) -> dict[str, Any]:
    tape = result.tape
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "output": result.output_label,
        "value": num(result.value),
        "gradients": {v.name: num(v.gradient) for v in result.variables},
        "status": "ok" if result.ok else "disagree",
    }
    bad = {v.name: status_of(v.gradient) for v in result.variables if status_of(v.gradient) != "ok"}
    if bad:
        doc["gradient_status"] = bad
    if brief:
        return doc
    doc["formula"] = tape.source.text
    doc["inputs"] = {name: num(value) for name, value in result.inputs.items()}
    doc["nodes"] = nodes_doc(result)
    doc["checks"] = {
        "ok": result.ok,
        "variables": [
            {
                "name": v.name,
                "value": num(v.value),
                "gradient": num(v.gradient),
                "forward": num(v.forward),
                "sympy": num(v.symbolic),
                "derivative": v.derivative,
                "numeric": num(v.numeric),
                "status": v.status,
                "checked": "each" if result.directional is None else "direction",
                "disagreeing": v.disagreeing,
                "notes": v.notes,
            }
            for v in result.variables
        ],
        "sympy": {
            "state": result.symbolic.state,
            "reason": result.symbolic.reason,
            "seconds": round(result.symbolic.seconds, 3),
        },
        "numeric": result.numeric,
        "directional": _directional(result),
        "tolerances": {
            "forward": {"rtol": FORWARD_TOL.rtol, "atol": FORWARD_TOL.atol},
            "sympy": {"rtol": SYMBOLIC_TOL.rtol, "atol": SYMBOLIC_TOL.atol},
            "numeric": {"rtol": NUMERIC_TOL.rtol, "atol": NUMERIC_TOL.atol, "step": "cbrt(eps)*max(1,|x|)"},
        },
    }
    doc["conventions"] = [
        {"node": k.node, "name": k.label, "note": k.note, "variables": k.variables} for k in result.kinks
    ]
    doc["conventions_more"] = result.kinks_more
    doc["tie"] = result.tie
    doc["warnings"] = result.warnings
    return doc


_KINDS = {VAR: "input", CONST: "constant", GATE: "gate"}


def nodes_doc(result: GradResult) -> list[dict[str, Any]]:
    tape, bp = result.tape, result.backprop
    uses = fanout(tape)
    out = []
    scalar = not tape.has_tensors and all(isinstance(v, float) for v in result.inputs.values())
    number = _finite_or_null if scalar else num
    for i, node in enumerate(tape.nodes):
        item: dict[str, Any] = {
            "id": i,
            "name": node.label,
            "kind": _KINDS[node.kind],
            "op": node.op.name if node.op else None,
            "expr": tape.gate_text(i),
            "inputs": list(node.args),
            "span": list(node.span),
            "value": number(result.values[i]),
            "upstream": number(bp.grads[i]) if bp.needs[i] else None,
            "local": None,
            "downstream": None,
            "pattern": pattern(tape, i, uses),
        }
        loc = bp.locals[i]
        if loc is not None:
            item["local"] = [number(v) if bp.needs[j] else None for j, v in zip(node.args, loc, strict=True)]
        # Structural gates (matmul, sum, softmax, ...) hand gradients back through a
        # vector-Jacobian product: no local gradient per input, but a downstream one.
        down = bp.downstream(tape, i) if node.kind == GATE else None
        if down is not None:
            item["downstream"] = [number(v) if bp.needs[j] else None for j, v in zip(node.args, down, strict=True)]
        out.append(item)
    return out


def _finite_or_null(x: Any) -> float | None:
    """``num`` for the numbers of a scalar tape, without its test for arrays (a large graph has millions)."""
    x = float(x)
    return x if isfinite(x) else None


def _directional(result: GradResult) -> dict[str, Any] | None:
    d = result.directional
    if d is None:
        return None
    return {
        "direction": d["direction"],
        "reverse": num(d["reverse"]),
        "forward": num(d["forward"]),
        "numeric": num(d.get("numeric")),
        "numeric_note": d.get("numeric_note"),
        "agree": d["agree"],
    }


def jacobian_doc(result: JacobianResult) -> dict[str, Any]:
    """The Jacobian as ``gradcalc jacobian --json`` writes it."""

    return {
        "formula": result.tape.source.text,
        "output": result.tape.nodes[result.tape.output].label,
        "value": num(result.value),
        "rows": result.rows,
        "columns": result.column_labels(),
        "jacobian": [[num(v) for v in row] for row in result.reverse],
        "forward": [[num(v) for v in row] for row in result.forward],
        "numeric": None if result.numeric is None else [[num(v) for v in row] for row in result.numeric],
        "checks": {"forward_agrees": result.agree_forward, "numeric_agrees": result.agree_numeric},
        "conventions": result.kinks,
        "status": "ok" if result.ok else "disagree",
    }


def error_doc(err: GradcalcError) -> dict[str, Any]:
    return err.to_json()


# Numbers and strings in a document past which it is written compactly: each
# item of its large parts on one line.
LIGHT_SCALARS = 2_000
# A part with at most this many entries (a node, a variable's check) is one line of a large document.
LINE_ENTRIES = 64
_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def dumps(doc: dict[str, Any]) -> str:
    """Strict JSON indented by two spaces; in a large document, each item of a large part on one line.

    Invisible characters in strings are written as ``\\uXXXX`` (:func:`~gradcalc.render.escape.json_text`).

    json's fast C encoder cannot indent, and the Python one took 30 s for the
    nodes of a 300,000-node graph.  So a document of more than LIGHT_SCALARS
    numbers and strings is opened part by part, and each item of a part (a
    node, a variable's check, a gradient) is written on one line by the C
    encoder.  Small documents print exactly as ``json.dumps(indent=2)``.
    """
    if _light(doc):
        return json_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
    return json_text(_opened(doc, 0))


def dumps_line(doc: dict[str, Any]) -> str:
    """The document on one line, for JSON Lines: strict JSON, invisible characters written as ``\\uXXXX``.

    The same value :func:`dumps` writes over many lines (JSON escapes newlines in
    strings, and U+2028 and U+2029, which some readers take for line ends, are
    among the characters escaped).
    """
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    return text if text.isprintable() else json_text(text)


def _opened(value: dict[str, Any] | list[Any], level: int) -> str:
    """A part too large for one line: its items one per line, indented by level."""
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        items = [f"{pad}{_COMPACT.encode(key)}: {_line(v, level + 1)}" for key, v in value.items()]
        opener, closer = "{", "}"
    else:
        items = [pad + _line(v, level + 1) for v in value]
        opener, closer = "[", "]"
    return f"{opener}\n" + ",\n".join(items) + "\n" + "  " * level + closer


def _line(value: Any, level: int) -> str:
    if isinstance(value, dict | list) and len(value) > LINE_ENTRIES:
        return _opened(value, level)
    return _COMPACT.encode(value)


def _light(value: Any) -> bool:
    """At most LIGHT_SCALARS numbers and strings inside (keys count), by a walk that stops past it."""
    left = LIGHT_SCALARS
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            left -= len(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        else:
            left -= 1
        if left < 0:
            return False
    return True
