"""Gate fusion: collapse known chains of gates into one gate with its own rule.

CS231n's sigmoid neuron is four gates — ``*-1``, ``exp``, ``+1``, ``1/x`` —
that together are exactly σ, whose local gradient σ(1−σ) reuses its output.
``fuse`` rewrites a tape so that such chains become one gate:

* ``1/(1+exp(-z))`` (also with ``exp(-z)+1`` or ``-1*z``) → ``sigmoid(z)``
* ``exp(z)/sum(exp(z))`` → ``softmax(z)``
* ``log(sum(exp(z)))`` → ``logsumexp(z)``

Only unnamed intermediates used once are folded, so a value the user named
or uses elsewhere stays in the table.  Fused and unfused tapes give the same
gradients (the tests check it).
"""

from __future__ import annotations

from dataclasses import replace

from .builder import label_sequence
from .ops import CONSTANTS, OPS
from .tape import CONST, GATE, Node, Tape


def fuse(tape: Tape) -> Tape:
    nodes = [replace(n) for n in tape.nodes]
    uses = [0] * len(nodes)
    for node in nodes:
        for j in node.args:
            uses[j] += 1
    uses[tape.output] += 1  # the output is used by the world
    dead: set[int] = set()

    def op(i: int) -> str | None:
        n = nodes[i]
        return n.op.name if n.kind == GATE and n.op is not None else None

    def const(i: int, value: float) -> bool:
        n = nodes[i]
        return n.kind == CONST and isinstance(n.const, float) and n.const == value

    def private(i: int) -> bool:
        """An intermediate we may fold away: unnamed and used once."""
        return nodes[i].kind == GATE and not nodes[i].named and uses[i] == 1 and i not in dead

    def negated(i: int) -> int | None:
        """z when node i is -z or -1*z or z*-1."""
        if op(i) == "neg":
            return nodes[i].args[0]
        if op(i) == "mul":
            a, b = nodes[i].args
            if const(a, -1.0):
                return b
            if const(b, -1.0):
                return a
        return None

    for i, node in enumerate(nodes):
        name = op(i)
        if name == "div":
            num, den = node.args
            z = _sigmoid_input(nodes, num, den, op, const, private, negated)
            if z is not None:
                chain, z_index = z
                dead.update(chain)
                nodes[i] = Node(GATE, OPS["sigmoid"], (z_index,), node.span, node.label, named=node.named)
                continue
            if op(num) == "exp" and op(den) == "sum" and private(den):
                inner = nodes[den].args[0]
                same_exp = inner == num and uses[num] == 2 and not nodes[num].named
                twin_exp = (inner != num and op(inner) == "exp" and private(inner) and private(num)
                            and nodes[inner].args == nodes[num].args)
                if same_exp or twin_exp:
                    dead.update({num, den, inner})
                    nodes[i] = Node(GATE, OPS["softmax"], nodes[num].args, node.span, node.label, named=node.named)
        elif name == "log":
            (s,) = node.args
            if op(s) == "sum" and private(s) and op(nodes[s].args[0]) == "exp" and private(nodes[s].args[0]):
                e = nodes[s].args[0]
                dead.update({s, e})
                nodes[i] = Node(GATE, OPS["logsumexp"], nodes[e].args, node.span, node.label, named=node.named)
    # Constants that only fed folded gates go too.
    consumers = [0] * len(nodes)
    for i, node in enumerate(nodes):
        if i not in dead:
            for j in node.args:
                consumers[j] += 1
    keep = [
        i for i in range(len(nodes))
        if i not in dead and (nodes[i].kind != CONST or consumers[i] or i == tape.output)
    ]
    new_index = {old: k for k, old in enumerate(keep)}
    out_nodes = []
    for old in keep:
        n = nodes[old]
        n.args = tuple(new_index[j] for j in n.args)
        out_nodes.append(n)
    # Give the unnamed gates that remain fresh letters, in order, as build() does.
    taken = {n.label for n in out_nodes if n.named or n.kind != GATE} | set(CONSTANTS)
    out_label = nodes[tape.output].label
    taken.add(out_label)
    letters = label_sequence(taken)
    for n in out_nodes:
        if n.kind == GATE and not n.named and n is not nodes[tape.output]:
            n.label = next(letters)
    return Tape(
        out_nodes,
        new_index[tape.output],
        tape.source,
        {v: new_index[i] for v, i in tape.variables.items() if i in new_index},
        dict(tape.defaults),
        {k: new_index[i] for k, i in tape.bindings.items() if i in new_index},
        list(tape.notes),
    )


def _sigmoid_input(nodes, num, den, op, const, private, negated):  # type: ignore[no-untyped-def]
    """For 1/(1+exp(-z)): the folded chain and z, else None."""
    if not const(num, 1.0) or op(den) != "add" or not private(den):
        return None
    a, b = nodes[den].args
    e = b if const(a, 1.0) else (a if const(b, 1.0) else None)
    if e is None or op(e) != "exp" or not private(e):
        return None
    inner = nodes[e].args[0]
    z = negated(inner)
    if z is None or not private(inner):
        return None
    return {den, e, inner}, z
