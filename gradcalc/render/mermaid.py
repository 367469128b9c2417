"""The computational graph as a Mermaid flowchart, to paste into Markdown.

The same picture as :mod:`gradcalc.render.dot`, in ``flowchart LR``: each
edge says the value going forward and the gradient coming back; Mermaid
labels have no colours that survive every renderer, so they say it in words.
"""

from __future__ import annotations

from ..api import GradResult
from ..tape import CONST, VAR
from .dot import GRAPH_DIGITS, drawn, edges, glyph, title, uses
from .escape import mermaid
from .numbers import fmt


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
    lines += [
        "  classDef input fill:#eef4ff,stroke:#4a6fa5",
        "  classDef gate fill:#ffffff,stroke:#333333",
        "  classDef const fill:none,stroke:none,color:#777777,font-size:11px",
        "  classDef output fill:none,stroke:none,font-weight:bold",
    ]
    for name, members in classes.items():
        if members:
            lines.append(f"  class {','.join(members)} {name}")
    if faint:
        lines.append(f"  linkStyle {','.join(faint)} stroke:#bbbbbb")
    return "\n".join(lines) + "\n"
