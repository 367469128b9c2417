"""The computational graph as a flat tape: its nodes, as data.

A tape is a list of nodes in evaluation order.  A node refers to its inputs by
integer index, so every pass is one loop over the list (gradcalc.passes):
forward in order, reverse (backprop) backwards, *adding* into each input's
gradient, which is how a value used twice sums the gradients of its uses.
Nothing here recurses on the shape of the formula.  gradcalc.builder makes tapes
from parsed programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Source, Span
from .ops import Op

VAR, CONST, GATE = "var", "const", "gate"

# Tapes of at least this many scalar nodes may run gradcalc.sweep's vectorized
# passes.  Measured (2 cores) on sums of relu(w*c_i + b)*(w - d_i*x)^2,
# gradient() in a fresh process, NumPy's import (60-100 ms) included: 10,000
# nodes 59 ms loops / 93 ms swept, 20,000: 111 / 107 ms, 40,000: 248 / 161 ms.
SWEEP_MIN_NODES = 20_000



@dataclass(slots=True)
class Node:
    kind: str  # VAR, CONST or GATE
    op: Op | None
    args: tuple[int, ...]
    span: Span
    label: str  # how the node is called in tables: a variable, a constant's text, q, f, ...
    const: Any = 0.0  # a constant's value: a float, or an array
    named: bool = False  # the label is the user's (a variable or an assigned name)


@dataclass(repr=False)
class Tape:
    nodes: list[Node]
    output: int
    source: Source
    variables: dict[str, int]  # input variable -> node index, in order of first use
    defaults: dict[str, Any] = field(default_factory=dict)  # program values of variables
    bindings: dict[str, int] = field(default_factory=dict)  # every label -> node index
    notes: list[str] = field(default_factory=list)  # what the program does that its reader may not expect
    _tensors: bool | None = field(default=None, repr=False)
    _sweep: Any = field(default=None, repr=False, compare=False)  # gradcalc.sweep's schedule, or False

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:  # the nodes are listed by gradcalc.to_sexpr, the tables and --json
        output = self.nodes[self.output].label
        names = ", ".join(list(self.variables)[:6]) + (", …" if len(self.variables) > 6 else "")
        return f"<Tape of {len(self.nodes):,} nodes: output {output}, variables {names or 'none'}>"

    def gate_text(self, i: int) -> str:
        """The right-hand side of a node, in terms of its inputs' labels: ``x + y`` (see gradcalc.printer)."""
        node = self.nodes[i]
        if node.kind != GATE:
            return node.label
        assert node.op is not None
        from .printer import GATE as GATE_STYLE
        from .printer import gate_tree, leaf, to_string

        return to_string(gate_tree(node.op, [leaf(self.nodes[j].label) for j in node.args]), GATE_STYLE)

    @property
    def has_tensors(self) -> bool:
        """Whether any gate or constant needs NumPy (vectors, matrices)."""
        if self._tensors is None:
            self._tensors = any(
                (n.op is not None and n.op.tensor) or (n.kind == CONST and not isinstance(n.const, float))
                for n in self.nodes
            )
        return self._tensors

    def reachable(self) -> list[bool]:
        """Which nodes the output depends on."""
        used = [False] * len(self.nodes)
        used[self.output] = True
        nodes = self.nodes
        for i in range(self.output, -1, -1):
            if used[i]:
                for j in nodes[i].args:
                    used[j] = True
        return used

    def needs_grad(self) -> list[bool]:
        """Nodes that depend on some variable and that the output depends on."""
        nodes = self.nodes
        depends = [False] * len(nodes)
        for i, node in enumerate(nodes):
            kind = node.kind
            if kind == VAR:
                depends[i] = True
            elif kind == GATE:
                for j in node.args:
                    if depends[j]:
                        depends[i] = True
                        break
        used = self.reachable()
        return [d and u for d, u in zip(depends, used, strict=True)]

    def ancestors(self, i: int) -> set[int]:
        """Every node that node ``i`` depends on, ``i`` included."""
        seen = {i}
        stack = [i]
        nodes = self.nodes
        while stack:
            for j in nodes[stack.pop()].args:
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        return seen
