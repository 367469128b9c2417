"""The computational graph as Graphviz DOT text, drawn as CS231n draws it.

Each gate is a node; each edge carries the value flowing forward (green,
above) and the gradient flowing back along it (red, below); inputs on the
left, the output on the right.  A value used twice has two edges, each with
its own share of the gradient; the input's total is the sum, shown on the
input when it fans out.  Constants are small grey nodes without labels on
their edges, since no gradient is wanted for them.

Producing DOT needs nothing installed; :func:`run_dot` renders SVG or PNG
with Graphviz's ``dot`` program when it is on the PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..api import GradResult
from ..errors import GradcalcError
from ..tape import CONST, GATE, VAR, Tape
from .escape import dot_label
from .numbers import fmt

if TYPE_CHECKING:  # the backward picture's library loads only when it is drawn
    from ..backward_graph import BackwardGraph

GRAPH_DIGITS = 4
VALUE_COLOR = "#1b7f2a"  # green: forward values
GRAD_COLOR = "#c62828"  # red: gradients
TITLE_CHARS = 90
MAX_DRAWN_NODES = 3_000  # past this, dot takes minutes; the DOT text is still given
DOT_TIMEOUT = 120.0

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
    "Windows: winget install graphviz), or use --format dot and render it elsewhere, or --format mermaid"
)


@dataclass(frozen=True, slots=True)
class Edge:
    """An input of a gate (or the output leaving the graph, ``dst`` = -1)."""

    src: int
    dst: int
    value: Any  # a float, or an array for a vector or matrix
    gradient: Any  # None where no gradient is wanted (constants only)


def drawn(result: GradResult) -> list[int]:
    """The nodes worth drawing: those the output depends on."""
    used = result.tape.reachable()
    return [i for i, u in enumerate(used) if u]


def edges(result: GradResult) -> list[Edge]:
    tape, bp, vals = result.tape, result.backprop, result.values
    found = []
    for i in drawn(result):
        node = tape.nodes[i]
        if node.kind != GATE:
            continue
        down = bp.downstream(tape, i)
        for k, j in enumerate(node.args):
            grad = down[k] if down is not None and bp.needs[j] else None
            if grad is not None and not isinstance(grad, float | str):  # a broadcast share: to the input's shape
                grad = _unbroadcast(grad, vals[j])
            found.append(Edge(j, i, vals[j], grad))
    out = tape.output
    found.append(Edge(out, -1, vals[out], 1.0))
    return found


def _unbroadcast(g: Any, like: Any) -> Any:
    from ..tensor import NumpyMath

    return NumpyMath.unbroadcast(g, like)


def glyph(result: GradResult, i: int) -> str:
    tape = result.tape
    node = tape.nodes[i]
    assert node.op is not None
    if node.op.index is not None:  # s[0]: the picture shows [0], the edge shows s
        return tape.gate_text(i)[len(tape.nodes[node.args[0]].label):]
    return node.op.glyph or node.op.name


def uses(result: GradResult) -> list[int]:
    count = [0] * len(result.tape.nodes)
    for e in edges(result):
        if e.dst >= 0:
            count[e.src] += 1
    return count


def title(result: GradResult) -> str:
    """The output's formula and the point, shortened to fit above a picture."""
    return heading(result.tape, result.output_label, result.inputs)


def heading(tape: Tape, output_label: str, inputs: Mapping[str, Any]) -> str:
    """``f = (x+y)*z   at x = -2, y = 5, z = -4``: the output's formula, and the point if there is one."""
    text = " ".join(_balanced(tape.source.text, *tape.nodes[tape.output].span).split())
    if not text or len(text) > TITLE_CHARS:
        text = tape.source.name if tape.source.name != "<formula>" else "the formula"
    point = ", ".join(f"{name} = {fmt(v, GRAPH_DIGITS)}" for name, v in inputs.items())
    if len(point) > TITLE_CHARS:
        point = point[: TITLE_CHARS - 1] + "…"
    head = text if text == output_label else f"{output_label} = {text}"
    return head + (f"   at {point}" if point else "")


def _balanced(source: str, start: int, end: int) -> str:
    """The output's own expression (even in a program), widened over the parentheses its span leaves out.

    A gate's span runs from its first operand's start to its last operand's end,
    and a parenthesized operand's span leaves its parentheses out.
    """
    depth = lowest = 0
    for ch in source[start:end]:
        depth += (ch == "(") - (ch == ")")
        lowest = min(lowest, depth)
    opening = -lowest  # closers without their openers: the openers are just before start
    while opening > 0 and start > 0 and source[start - 1] in "( ":
        opening -= source[start - 1] == "("
        start -= 1
    closing = depth - lowest  # openers without their closers: just after end
    while closing > 0 and end < len(source) and source[end] in ") ":
        closing -= source[end] == ")"
        end += 1
    return source[start:end]


def _edge_label(e: Edge, digits: int) -> str:
    value = f'<font color="{VALUE_COLOR}">{dot_label(fmt(e.value, digits))}</font>'
    if e.gradient is None:
        return f"<{value}>"
    return f'<{value}<br/><font color="{GRAD_COLOR}">{dot_label(fmt(e.gradient, digits))}</font>>'


def to_dot(result: GradResult, digits: int = GRAPH_DIGITS) -> str:
    tape, bp = result.tape, result.backprop
    out = result.output_label
    fan = uses(result)
    lines = [
        "digraph gradcalc {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=12, labelloc=t, nodesep=0.35, ranksep=0.55,',
        f'         label=<{dot_label(title(result))}<br/><font point-size="10">'
        f'<font color="{VALUE_COLOR}">green: forward value</font>   '
        f'<font color="{GRAD_COLOR}">red: gradient ∂{dot_label(out)}/∂(edge)</font></font>>];',
        '  node [fontname="Helvetica", fontsize=12];',
        '  edge [fontname="Helvetica", fontsize=11, arrowsize=0.7];',
    ]
    for i in drawn(result):
        node = tape.nodes[i]
        name = dot_label(node.label)
        if node.kind == VAR:
            extra = ""
            if fan[i] > 1:
                total = fmt(bp.grads[i], digits)
                extra = f'<br/><font point-size="9" color="{GRAD_COLOR}">{fan[i]} uses: sum {dot_label(total)}</font>'
            lines.append(f'  n{i} [shape=box, style="rounded", width=0.4, height=0.3, label=<<b>{name}</b>{extra}>];')
        elif node.kind == CONST:
            lines.append(f'  n{i} [shape=plaintext, fontsize=9, fontcolor="gray35", label=<{name}>];')
        else:
            sym = dot_label(glyph(result, i))
            size = 16 if len(sym) <= 2 else 11
            lines.append(
                f'  n{i} [shape=circle, margin=0.02, label=<<font point-size="{size}">{sym}</font>'
                f'<br/><font point-size="9" color="gray35">{name}</font>>];'
            )
    lines.append(f'  out [shape=plaintext, label=<<b>{dot_label(out)}</b>>];')
    for e in edges(result):
        dst = "out" if e.dst < 0 else f"n{e.dst}"
        if tape.nodes[e.src].kind == CONST:
            lines.append(f'  n{e.src} -> {dst} [color="gray60", arrowsize=0.5];')
        else:
            lines.append(f"  n{e.src} -> {dst} [label={_edge_label(e, digits)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# The backward pass as a graph of its own (`gradcalc graph --backward`)


def backward_title(bg: BackwardGraph) -> str:
    return "gradient graph of " + heading(bg.formula, bg.output_label, bg.inputs)


def backward_dot(bg: BackwardGraph, digits: int = GRAPH_DIGITS) -> str:
    """The gradient graph: inputs as boxes, the forward values it needs as grey-labelled gates, the
    gradients as red gates (∂f/∂q), one output per variable; each edge with its value when there is a point."""
    from ..backward_graph import CONSTANT, FORWARD, GRADIENT_NODE, INPUT

    out = dot_label(bg.output_label)
    legend = f'<font color="{GRAD_COLOR}">red: the gradient ∂{out}/∂(node) a node computes</font>'
    if bg.values is not None:
        legend = f'<font color="{VALUE_COLOR}">green: the value on each edge</font>   ' + legend
    lines = [
        "digraph gradcalc {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=12, labelloc=t, nodesep=0.35, ranksep=0.55,',
        f'         label=<{dot_label(backward_title(bg))}<br/><font point-size="10">{legend}</font>>];',
        '  node [fontname="Helvetica", fontsize=12];',
        '  edge [fontname="Helvetica", fontsize=11, arrowsize=0.7];',
    ]
    constants = set()
    for node in bg.nodes:
        extra = "".join(f'<br/><font point-size="9" color="{GRAD_COLOR}">{dot_label(g)}</font>' for g in node.gradients)
        if node.role == INPUT:
            lines.append(f'  n{node.index} [shape=box, style="rounded", width=0.4, height=0.3, '
                         f"label=<<b>{dot_label(node.label)}</b>{extra}>];")
        elif node.role == CONSTANT:
            constants.add(node.index)
            lines.append(f'  n{node.index} [shape=plaintext, fontsize=9, fontcolor="gray35", '
                         f"label=<{dot_label(node.label)}{extra}>];")
        else:
            sym = dot_label(node.glyph)
            size = 16 if len(node.glyph) <= 2 else 11
            color = {FORWARD: "gray35", GRADIENT_NODE: GRAD_COLOR}.get(node.role)
            name = f'<br/><font point-size="9" color="{color}">{dot_label(node.label)}</font>' if color else ""
            outline = f', color="{GRAD_COLOR}"' if node.role == GRADIENT_NODE else ""
            lines.append(f'  n{node.index} [shape=circle, margin=0.02{outline}, '
                         f'label=<<font point-size="{size}">{sym}</font>{name}{extra}>];')
    for k, (label, _) in enumerate(bg.outputs):
        lines.append(f'  d{k} [shape=plaintext, label=<<font color="{GRAD_COLOR}"><b>{dot_label(label)}</b></font>>];')
    vals = bg.values
    for src, dst in [*bg.edges, *((i, -1 - k) for k, (_, i) in enumerate(bg.outputs))]:
        target = f"n{dst}" if dst >= 0 else f"d{-1 - dst}"
        if src in constants and dst >= 0:
            lines.append(f'  n{src} -> {target} [color="gray60", arrowsize=0.5];')
        elif vals is None:
            lines.append(f"  n{src} -> {target};")
        else:
            value = dot_label(fmt(vals[src], digits))
            lines.append(f'  n{src} -> {target} [label=<<font color="{VALUE_COLOR}">{value}</font>>];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Rendering with Graphviz


def find_dot() -> str | None:
    return shutil.which("dot")


def run_dot(dot_text: str, fmt_name: str, node_count: int = 0) -> bytes:
    """SVG or PNG bytes from DOT text, by running Graphviz's ``dot`` (no shell)."""
    exe = find_dot()
    if exe is None:
        raise GradcalcError(
            f"drawing {fmt_name.upper()} needs Graphviz's 'dot' program, which is not installed",
            kind="missing",
            hint=INSTALL_HINT,
        )
    if node_count > MAX_DRAWN_NODES:
        raise GradcalcError(
            f"the graph has {node_count:,} nodes, too many to draw (the limit is {MAX_DRAWN_NODES:,})",
            kind="limit",
            hint="use --format dot to get the DOT text, or draw a smaller formula",
        )
    try:
        done = subprocess.run(
            [exe, f"-T{fmt_name}", *(["-Gdpi=144"] if fmt_name == "png" else [])],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GradcalcError(
            f"Graphviz took more than {DOT_TIMEOUT:g} s to draw the graph",
            kind="limit",
            hint="use --format dot, or draw a smaller formula",
        ) from None
    except OSError as exc:
        raise GradcalcError(f"cannot run {exe}: {exc}", kind="missing", hint=INSTALL_HINT) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[:300]
        raise RuntimeError(f"Graphviz failed on gradcalc's DOT text: {message}")
    return done.stdout
