"""``NAME=VALUE`` arguments: a number by a pattern, or a constant expression by gradcalc's own parser.

``x=-2``, ``x=2e-3``, ``W=[[0.1, 0.5], [-0.3, 0.8]]`` as written; ``x=pi/2``,
``x=1/3``, ``x=-sqrt(2)``, ``x=e`` parsed and computed like a formula with no
variables.  Never given to ``eval`` or any other reader of Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import GradcalcError, Source, closest
from .grammar import NUMBER_RE
from .i18n import msg
from .limits import SUGGEST_MAX_WARNINGS
from .ops import CONSTANTS, FUNCTIONS
from .tape import Tape

NAME_RE = re.compile(r"[^\W\d]\w*\Z")  # as Python reads names (PEP 3131); the parser normalizes them
_MINUS = {"\u2212": "-", "\u2013": "-"}


def clean_number(text: str) -> str:
    """The text with its spaces trimmed and a Unicode minus written as '-'."""
    return "".join(_MINUS.get(c, c) for c in text.strip())


def parse_number(
    text: str,
    source: Source | None,
    offset: int = 0,
    *,
    kind: str = "value",
    hint: str = "values are decimal or scientific numbers such as -2, 0.5 or 1e-3",
    overflow_hint: str | None = "floats reach about 1.8e308",
) -> float:
    """A decimal or scientific number; anything else is a located error of ``kind``."""
    clean = clean_number(text)
    if not NUMBER_RE.match(clean):
        lead = len(text) - len(text.lstrip())
        raise GradcalcError(
            f"{text.strip()[:40]!r} is not a number",
            kind=kind,
            span=(offset + lead, offset + max(lead + 1, len(text.rstrip()))),
            hint=hint,
            source=source,
        )
    value = float(clean)
    if not math.isfinite(value):
        raise GradcalcError(
            f"{clean[:40]} is too large for a 64-bit float",
            kind=kind,
            span=(offset, offset + len(text)),
            hint=overflow_hint,
            source=source,
        )
    return value


def parse_assignments(args: Iterable[str]) -> dict[str, Any]:
    """``["x=-2", "y=5"]`` → ``{"x": -2.0, "y": 5.0}``, each checked."""
    values: dict[str, Any] = {}
    for k, arg in enumerate(args, 1):
        source = Source(arg, f"value {k}")
        if "=" not in arg and arg.startswith("-"):
            raise GradcalcError(
                f"unknown option {arg[:40]!r}",
                kind="usage",
                span=(0, len(arg)),
                hint="see the command's --help for its options",
                source=source,
            )
        if "=" not in arg:
            raise GradcalcError(
                f"expected NAME=VALUE, found {arg[:40]!r}",
                kind="value",
                span=(0, len(arg)),
                hint="give values as x=-2 y=5; quote the formula if it contains spaces",
                source=source,
            )
        name, _, text = arg.partition("=")
        name = name.strip()
        if NAME_RE.match(name) and not name.isascii():
            from .parser import identifier

            name = identifier(name)
        if not NAME_RE.match(name):
            raise GradcalcError(
                f"{name[:40]!r} is not a variable name",
                kind="value",
                span=(0, max(1, len(arg.partition("=")[0]))),
                hint="names start with a letter or '_' and go on with letters, digits and '_'",
                source=source,
            )
        if name in values:
            raise GradcalcError(
                f"{name!r} is given twice",
                kind="value",
                span=(0, len(arg)),
                hint="give each variable one value",
                source=source,
            )
        offset = len(arg) - len(text)
        if text.lstrip().startswith("["):  # a vector or matrix: x=[0.2,0.4]
            from .tensor import parse_array

            values[name] = parse_array(text, source, offset)
        elif NUMBER_RE.match(clean_number(text)) or not text.strip() or (
            NAME_RE.match(text.strip()) and text.strip() not in CONSTANTS  # x=nan, x=y: not a number
        ):
            values[name] = parse_number(text, source, offset)
        else:
            values[name] = constant_value(text, source, offset)
    return values


def constant_value(text: str, source: Source, offset: int) -> float:
    """``pi/2``, ``-sqrt(2)``, ``1/3``: a formula without variables, parsed and computed by gradcalc's own engine."""
    from .builder import build
    from .ops import ScalarMath
    from .parser import parse_program
    from .passes import Loop, check_forward

    if _DECIMAL_COMMA.match(text.strip()):
        lead = len(text) - len(text.lstrip())
        raise GradcalcError(
            f"{text.strip()!r} is not a number",
            kind="value",
            span=(offset + lead, offset + len(text.rstrip())),
            hint=f"use a decimal point: {text.strip().replace(',', '.')}",
            source=source,
        )
    try:
        tape = build(parse_program(text, source.name))
        if tape.has_tensors:
            raise GradcalcError("a value that is a vector or matrix is written as a list of numbers",
                                kind="value", span=(0, len(text)), hint="write v=[0.2, 0.4]")
        if tape.variables:
            name, i = next(iter(tape.variables.items()))
            raise GradcalcError(
                f"{name!r} in a value: a value is a number or a constant expression",
                kind="value",
                span=tape.nodes[i].span,
                hint=_VALUE_HINT,
            )
        m = ScalarMath()
        vals = Loop(tape, m).forward({})
        check_forward(tape, vals, m)
    except GradcalcError as err:
        # Point into the NAME=VALUE argument, not into the value alone.
        err.source = source
        if err.span is not None:
            err.span = (err.span[0] + offset, err.span[1] + offset)
        if err.kind in ("syntax", "name"):  # a bad value, whatever the parser calls it
            err.kind = "value"
            err.hint = err.hint or "values are numbers such as -2 or 1e-3, or constant expressions such as pi/2"
        raise
    return float(vals[tape.output])


_VALUE_HINT = "values are numbers such as -2 or 1e-3, or constant expressions of numbers, pi and e such as pi/2"


_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+\Z")


def resolve_inputs(tape: Tape, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The value of every variable (given, else the program's default), and warnings."""
    missing = [n for n in tape.variables if n not in given and n not in tape.defaults]
    if missing:
        first = tape.nodes[tape.variables[missing[0]]]
        listed = ", ".join(missing)
        wanted = " ".join(f"{n}=..." for n in missing)
        hint = msg("add {values} after the formula", values=wanted)
        unused = [n for n in given if n not in tape.variables]
        given_near = closest(missing[0], unused) if unused else None
        # One- and two-letter names are near every short function name (x and T): no guess.
        near = closest(missing[0], list(FUNCTIONS)) if len(missing[0]) >= 3 else None
        if given_near:
            hint = msg("add {values} after the formula; a value was given for {near}: is one of them misspelt?",
                       values=wanted, near=repr(given_near))
        elif near and len(missing) == 1:
            hint = msg("add {values} after the formula; or did you mean the function {near}(...)?", values=wanted,
                       near=near)
        raise GradcalcError(
            msg("no value for {names}", names=listed),
            kind="value",
            span=first.span,
            hint=hint,
            source=tape.source,
        )
    for name in given:
        if name in CONSTANTS and name not in tape.variables:
            raise GradcalcError(
                f"{name!r} is the constant {CONSTANTS[name]:.6g}, not a variable",
                kind="value",
                hint="rename the variable in the formula",
            )
    inputs = {n: _value(given[n]) if n in given else tape.defaults[n] for n in tape.variables}
    warnings: list[str] = []
    for name in given:
        if name not in tape.variables:
            # Each suggestion reads every variable: only the first few warnings look for one.
            near = closest(name, tape.variables) if len(warnings) < SUGGEST_MAX_WARNINGS else None
            extra = f" (did you mean {near!r}?)" if near else ""
            warnings.append(f"{name!r} is not used by the formula; its value is ignored{extra}")
    warnings += _unused_defaults(tape)
    return inputs, warnings


def _unused_defaults(tape: Tape) -> list[str]:
    """Program inputs (``x = 1``) that no gate reads: ``x = 1; x = 2; x^2`` means x^2 at the constant 2."""
    if not tape.defaults:
        return []
    used = {tape.output}
    for node in tape.nodes:
        used.update(node.args)
    found = []
    for name in tape.defaults:
        i = tape.variables.get(name)
        if i is None or i in used:
            continue
        why = "it is assigned again before any use" if tape.bindings.get(name, i) != i else "nothing uses it"
        found.append(f"the input {name!r} is never used ({why}), so its gradient is 0")
    return found


def _value(v: Any) -> Any:
    """Numbers as floats; arrays (vectors, matrices) as they are."""
    return float(v) if isinstance(v, int | float) else v
