"""The chain rule as text: symbols and numbers side by side, one line per path."""

from __future__ import annotations

from typing import Any

from ..explain import Explanation, Factor, Path, VariableChain
from .numbers import DEFAULT_DIGITS, fmt

WIDTH = 100  # past this a line's symbols and numbers go on separate lines
CHAIN_ENDS = 3  # a collapsed chain longer than 2·3+1 links shows its first and last 3


def d(top: str, bottom: str) -> str:
    return f"∂{top}/∂{bottom}"


def factor_symbols(ex: Explanation, factors: list[Factor]) -> str:
    return " · ".join(d(ex.label(f.top), ex.label(f.bottom)) for f in factors)


def factor_numbers(values: list[float], digits: int) -> str:
    return "".join(f"({fmt(v, digits)})" for v in values)


def chain_parts(ex: Explanation, f: Factor, digits: int, keep: int = CHAIN_ENDS) -> tuple[str, str]:
    """A collapsed chain written out: its factors' symbols and numbers, the middle elided when long."""
    links = list(f.links)
    symbols = [d(ex.label(link.parent), ex.label(link.child)) for link in links]
    numbers = [f"({fmt(link.local, digits)})" for link in links]
    if len(links) > 2 * keep + 1:
        hidden = len(links) - 2 * keep
        symbols = [*symbols[:keep], f"… ({hidden:,} more) …", *symbols[-keep:]]
        numbers = [*numbers[:keep], "…", *numbers[-keep:]]
    return " · ".join(symbols), "".join(numbers)


def explanation_text(ex: Explanation, digits: int = DEFAULT_DIGITS) -> str:
    out = ex.output_label
    lines = [f"Chain rule: ∂{out}/∂v is the sum, over every path from {out} down to v, of the local gradients' product"]
    if ex.note:
        return "\n".join([*lines, f"({ex.note})"])
    if ex.gates:
        lines += ["", "Gates on the way (local gradients):"]
        width = max(len(g.text) for g in ex.gates)
        pattern_width = max(len(g.pattern) for g in ex.gates)
        for g in ex.gates:
            parts: list[list[Any]] = []  # [text, uses]: x * x gives the same local gradient twice
            for n in g.locals:
                value = fmt(n.value, digits)
                sym = d(ex.label(g.node), ex.label(n.child))
                text = f"{sym} = {value}" if n.formula in (None, value) else f"{sym} = {n.formula} = {value}"
                if parts and parts[-1][0] == text:
                    parts[-1][1] += 1
                else:
                    parts.append([text, 1])
            locals_text = ", ".join(t if k == 1 else f"{t} (each of {k} uses)" for t, k in parts)
            lines.append(f"  {g.text:<{width}}  {g.pattern:<{pattern_width}}  {locals_text}")
        if ex.omitted_gates:
            lines.append(f"  … and {ex.omitted_gates:,} more gates")
    if ex.chains:
        lines += ["", "Chains of one-input gates, each collapsed into one factor (one path runs through each):"]
        for f in ex.chains:
            syms, nums = chain_parts(ex, f, digits)
            lines.append(f"  {d(ex.label(f.top), ex.label(f.bottom))} = {syms} = {nums} = {fmt(f.value, digits)}")
    lines.append("")
    for v in ex.variables:
        lines += variable_lines(ex, v, digits)
    if ex.omitted_variables:
        lines.append(f"(and {ex.omitted_variables} more variables, not explained)")
    return "\n".join(lines)


def variable_lines(ex: Explanation, v: VariableChain, digits: int = DEFAULT_DIGITS) -> list[str]:
    out = ex.output_label
    head = f"{d(out, v.name)} = "
    total = fmt(v.gradient, digits)
    if not v.paths:
        return [f"{head}0   ({out} does not depend on {v.name})"]
    if len(v.paths) == 1 and v.path_count == 1:
        path = v.paths[0]
        if not path.factors:
            return [f"{head}1"]
        if len(path.factors) == 1:
            f = path.factors[0]
            if f.collapsed:
                chain = f"a chain of {len(f.links):,} one-input gates, written out above"
                return [f"{head}{fmt(f.value, digits)}   ({chain})"]
            return [f"{head}{fmt(f.value, digits)}   (one gate: {_gate_words(ex, f.top)})"]
        syms = factor_symbols(ex, path.factors)
        nums = factor_numbers([f.value for f in path.factors], digits)
        line = f"{head}{syms} = {nums} = {total}"
        if len(line) <= WIDTH:
            return [line]
        pad = " " * (len(head) - 2)
        return [f"{head}{syms}", f"{pad}= {nums}", f"{pad}= {total}"]
    lines = [_fanout_note(ex, v)]
    pad = " " * (len(head) - 2)
    rows = [(factor_symbols(ex, p.factors) or "1", _numbers(p, digits)) for p in v.paths]
    sym_width = max(len(s) for s, _ in rows)
    for k, (syms, nums) in enumerate(rows):
        lead = head if k == 0 else f"{pad}+ "
        line = f"{lead}{syms:<{sym_width}}  = {nums}"
        if len(line) > WIDTH:
            lines += [f"{lead}{syms}", f"{pad}    = {nums}"]
        else:
            lines.append(line)
    hidden = v.path_count - len(v.paths)
    if hidden > 0:
        many = f"{hidden:,}" if v.path_count < 10**18 else "very many"
        lines.append(f"{pad}+ … {many} more path{'s' * (hidden != 1)}, together = {fmt(v.rest, digits)}")
    lines.append(f"{pad}= {total}")
    return lines


def _gate_words(ex: Explanation, i: int) -> str:
    node = ex.tape.nodes[i]
    pattern = f", {node.op.pattern}" if node.op is not None and node.op.pattern else ""
    return f"{node.label} = {ex.tape.gate_text(i)}{pattern}"


def _numbers(p: Path, digits: int) -> str:
    if len(p.factors) <= 1:
        return fmt(p.product, digits)
    return f"{factor_numbers([f.value for f in p.factors], digits)} = {fmt(p.product, digits)}"


def _fanout_note(ex: Explanation, v: VariableChain) -> str:
    count = f"{v.path_count:,}" if v.path_count < 10**18 else "more than 10^18"
    why = ", ".join(f"{ex.label(j)} feeds {n} inputs" for j, n in v.fanouts[:6])
    if len(v.fanouts) > 6:
        why += ", …"
    because = f" because {why}" if why else ""
    return f"{v.name} reaches {ex.output_label} along {count} paths{because}; their products add up:"
