"""The chain rule as text: symbols and numbers side by side, one line per path."""

from __future__ import annotations

from typing import Any

from ..explain import Explanation, Factor, Path, VariableChain
from ..i18n import msg, ntr, tr
from .numbers import DEFAULT_DIGITS, fmt
from .patterns import tr_pattern

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


def _cells(text: str) -> int:
    """The terminal columns text takes (a Korean syllable takes two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def explanation_text(ex: Explanation, digits: int = DEFAULT_DIGITS) -> str:
    out = ex.output_label
    lines = [tr(msg("Chain rule: ∂{out}/∂v is the sum, over every path from {out} down to v, of the local "
                    "gradients' product", out=out))]
    if ex.note:
        return "\n".join([*lines, f"({tr(ex.note)})"])
    if ex.gates:
        lines += ["", tr("Gates on the way (local gradients):")]
        width = max(len(g.text) for g in ex.gates)
        patterns = {g.pattern: tr_pattern(g.pattern) for g in ex.gates}
        pattern_width = max(_cells(p) for p in patterns.values())
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
            locals_text = ", ".join(t if k == 1 else t + tr(msg(" (each of {k} uses)", k=k)) for t, k in parts)
            shown = patterns[g.pattern]
            lines.append(f"  {g.text:<{width}}  {shown}{' ' * (pattern_width - _cells(shown))}  {locals_text}")
        if ex.omitted_gates:
            lines.append("  " + tr(msg("… and {n} more gates", n=f"{ex.omitted_gates:,}")))
    if ex.chains:
        lines += ["", tr("Chains of one-input gates, each collapsed into one factor (one path runs through each):")]
        for f in ex.chains:
            syms, nums = chain_parts(ex, f, digits)
            lines.append(f"  {d(ex.label(f.top), ex.label(f.bottom))} = {syms} = {nums} = {fmt(f.value, digits)}")
    lines.append("")
    for v in ex.variables:
        lines += variable_lines(ex, v, digits)
    if ex.omitted_variables:
        lines.append(tr(msg("(and {n} more variables, not explained)", n=ex.omitted_variables)))
    return "\n".join(lines)


def variable_lines(ex: Explanation, v: VariableChain, digits: int = DEFAULT_DIGITS) -> list[str]:
    out = ex.output_label
    head = f"{d(out, v.name)} = "
    total = fmt(v.gradient, digits)
    if not v.paths:
        return [f"{head}0   ({tr(msg('{out} does not depend on {name}', out=out, name=v.name))})"]
    if len(v.paths) == 1 and v.path_count == 1:
        path = v.paths[0]
        if not path.factors:
            return [f"{head}1"]
        if len(path.factors) == 1:
            f = path.factors[0]
            if f.collapsed:
                chain = tr(msg("a chain of {n} one-input gates, written out above", n=f"{len(f.links):,}"))
                return [f"{head}{fmt(f.value, digits)}   ({chain})"]
            one = tr(msg("one gate: {gate}", gate=_gate_words(ex, f.top)))
            return [f"{head}{fmt(f.value, digits)}   ({one})"]
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
        more = ntr("{n} more path, together = {total}", "{n} more paths, together = {total}", hidden)
        lines.append(f"{pad}+ … " + more.format(n=many, total=fmt(v.rest, digits)))
    lines.append(f"{pad}= {total}")
    return lines


def _gate_words(ex: Explanation, i: int) -> str:
    node = ex.tape.nodes[i]
    pattern = f", {tr_pattern(node.op.pattern)}" if node.op is not None and node.op.pattern else ""
    return f"{node.label} = {ex.tape.gate_text(i)}{pattern}"


def _numbers(p: Path, digits: int) -> str:
    if len(p.factors) <= 1:
        return fmt(p.product, digits)
    return f"{factor_numbers([f.value for f in p.factors], digits)} = {fmt(p.product, digits)}"


def _fanout_note(ex: Explanation, v: VariableChain) -> str:
    count = f"{v.path_count:,}" if v.path_count < 10**18 else tr("more than 10^18")
    why = ", ".join(tr(msg("{node} feeds {n} inputs", node=ex.label(j), n=n)) for j, n in v.fanouts[:6])
    if len(v.fanouts) > 6:
        why += ", …"
    because = tr(msg(" because {why}", why=why)) if why else ""
    return tr(msg("{name} reaches {out} along {count} paths{because}; their products add up:", name=v.name,
                  out=ex.output_label, count=count, because=because))
