"""The computational graph as a Mermaid flowchart, to paste into Markdown.

The same picture as :mod:`gradcalc.render.dot`, in ``flowchart LR``: each
edge says the value going forward and the gradient coming back; Mermaid
labels have no colours that survive every renderer, so they say it in words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api import GradResult
from ..tape import CONST, VAR
from .dot import GRAPH_DIGITS, backward_title, drawn, edges, glyph, title, uses
from .escape import mermaid
from .numbers import fmt

if TYPE_CHECKING:  # the backward picture's library loads only when it is drawn
    from ..backward_graph import BackwardGraph


def to_mermaid(result: GradResult, digits: int = GRAPH_DIGITS) -> str:
    tape, bp = result.tape, result.backprop
    out = result.output_label
    fan = uses(result)
    lines = [
        "flowchart LR",
        f"  %% {mermaid(title(result))}",
        f"  %% each edge: the value going forward, and the gradient ∂{mermaid(out)}/∂(edge) coming back",
    ]
    classes: dict[str, list[str]] = {"input": [], "gate": [], "const": [], "output": []}
    for i in drawn(result):
        node = tape.nodes[i]
        name = mermaid(node.label)
        if node.kind == VAR:
            extra = f"<br/>{fan[i]} uses: grad sum {mermaid(fmt(bp.grads[i], digits))}" if fan[i] > 1 else ""
            lines.append(f'  n{i}(["{name}{extra}"])')
            classes["input"].append(f"n{i}")
        elif node.kind == CONST:
            lines.append(f'  n{i}["{name}"]')
            classes["const"].append(f"n{i}")
        else:
            # one line: a circle is sized by its label's width, and a second line would spill out
            lines.append(f'  n{i}(("{mermaid(glyph(result, i))} {name}"))')
            classes["gate"].append(f"n{i}")
    lines.append(f'  out["{mermaid(out)}"]')
    classes["output"].append("out")
    faint = []
    for k, e in enumerate(edges(result)):
        dst = "out" if e.dst < 0 else f"n{e.dst}"
        if tape.nodes[e.src].kind == CONST:
            lines.append(f"  n{e.src} --> {dst}")
            faint.append(str(k))
            continue
        label = f"value {mermaid(fmt(e.value, digits))}"
        if e.gradient is not None:
            label += f"<br/>grad {mermaid(fmt(e.gradient, digits))}"
        lines.append(f'  n{e.src} -- "{label}" --> {dst}')
    return _finish(lines, classes, faint, [
        "  classDef input fill:#eef4ff,stroke:#4a6fa5",
        "  classDef gate fill:#ffffff,stroke:#333333",
        "  classDef const fill:none,stroke:none,color:#777777,font-size:11px",
        "  classDef output fill:none,stroke:none,font-weight:bold",
    ])


def backward_mermaid(bg: BackwardGraph, digits: int = GRAPH_DIGITS) -> str:
    """The gradient graph as a flowchart: gradients as hexagons, forward values as circles, one output per variable."""
    from ..backward_graph import CONSTANT, FORWARD, GRADIENT_NODE, INPUT

    out = mermaid(bg.output_label)
    lines = [
        "flowchart LR",
        f"  %% {mermaid(backward_title(bg))}",
        f"  %% hexagons: the gradient ∂{out}/∂(node) a node computes"
        + ("; each edge: its value" if bg.values is not None else ""),
    ]
    classes: dict[str, list[str]] = {"input": [], "gate": [], "gradient": [], "const": [], "output": []}
    constants = set()
    for node in bg.nodes:
        extra = "".join(f"<br/>{mermaid(g)}" for g in node.gradients)
        key = f"n{node.index}"
        if node.role == INPUT:
            lines.append(f'  {key}(["{mermaid(node.label)}{extra}"])')
            classes["input"].append(key)
        elif node.role == CONSTANT:
            constants.add(node.index)
            lines.append(f'  {key}["{mermaid(node.label)}{extra}"]')
            classes["const"].append(key)
        elif node.role == GRADIENT_NODE:
            lines.append(f'  {key}{{{{"{mermaid(node.glyph)} {mermaid(node.label)}{extra}"}}}}')
            classes["gradient"].append(key)
        else:
            text = f"{node.glyph} {node.label}".strip() if node.role == FORWARD else node.glyph
            lines.append(f'  {key}(("{mermaid(text)}{extra}"))')
            classes["gate"].append(key)
    for k, (label, _) in enumerate(bg.outputs):
        lines.append(f'  d{k}["{mermaid(label)}"]')
        classes["output"].append(f"d{k}")
    faint = []
    for count, (src, dst) in enumerate([*bg.edges, *((i, -1 - k) for k, (_, i) in enumerate(bg.outputs))]):
        target = f"n{dst}" if dst >= 0 else f"d{-1 - dst}"
        if (src in constants and dst >= 0) or bg.values is None:
            lines.append(f"  n{src} --> {target}")
            if src in constants:
                faint.append(str(count))
        else:
            lines.append(f'  n{src} -- "{mermaid(fmt(bg.values[src], digits))}" --> {target}')
    return _finish(lines, classes, faint, [
        "  classDef input fill:#eef4ff,stroke:#4a6fa5",
        "  classDef gate fill:#ffffff,stroke:#333333",
        "  classDef gradient fill:#fff1f0,stroke:#c62828,color:#c62828",
        "  classDef const fill:none,stroke:none,color:#777777,font-size:11px",
        "  classDef output fill:none,stroke:none,color:#c62828,font-weight:bold",
    ])


def _finish(lines: list[str], classes: dict[str, list[str]], faint: list[str], styles: list[str]) -> str:
    """The flowchart's end: its class styles, which nodes are of which class, and the faint edges."""
    lines = [*lines, *styles]
    for name, members in classes.items():
        if members:
            lines.append(f"  class {','.join(members)} {name}")
    if faint:
        lines.append(f"  linkStyle {','.join(faint)} stroke:#bbbbbb")
    return "\n".join(lines) + "\n"
