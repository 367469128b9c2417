"""``NAME=VALUE`` arguments: a number by a pattern, or a constant expression by gradcalc's own parser.

``x=-2``, ``x=2e-3``, ``W=[[0.1, 0.5], [-0.3, 0.8]]`` as written; ``x=pi/2``,
``x=1/3``, ``x=-sqrt(2)``, ``x=e`` parsed and computed like a formula with no
variables.  Never given to ``eval`` or any other reader of Python.
"""

from __future__ import annotations

import math
import numbers
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import GradcalcError, Source, closest
from .grammar import NUMBER_RE
from .i18n import msg
from .limits import MAX_ELEMENTS, SUGGEST_MAX_WARNINGS
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
    given = checked_values(given)
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


# ---------------------------------------------------------------------------
# Values from Python: what the API's callers hand in, checked as the command line checks its text

_VALUE_KINDS = "a value is a number, a list of numbers (a vector), a list of equal lists (a matrix) or a NumPy array"


def checked_values(given: object) -> dict[str, Any]:
    """``given`` as the engine takes it: names to floats and float arrays, every bad value a :class:`GradcalcError`.

    The command line's values pass as they are (they are floats and arrays
    already); a Python caller's ints, NumPy scalars, nested lists and arrays are
    converted, and the rest is refused with the command line's words: a string,
    None, a bool, NaN or infinity, a dict, a ragged or too deep list, an array
    past :data:`gradcalc.limits.MAX_ELEMENTS`, a name that is not a variable's.
    """
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise GradcalcError(
            f"the values are {_a(given)}, not a mapping of names to values",
            kind="value",
            hint="give them as a dict, e.g. {'x': -2, 'y': 5}",
        )
    values: dict[str, Any] = {}
    for key, v in given.items():
        name = _checked_name(key)
        if name in values:
            raise GradcalcError(f"{name!r} is given twice", kind="value", hint="give each variable one value")
        values[name] = v if type(v) is float and math.isfinite(v) else _checked_value(name, v)
    return values


def _checked_name(key: object) -> str:
    if not isinstance(key, str):
        raise GradcalcError(f"{key!r} is {_a(key)}, not a variable name", kind="value",
                            hint="name each value as the formula does, e.g. {'x': -2}")
    name = key.strip()
    if NAME_RE.match(name) and not name.isascii():
        from .parser import identifier

        name = identifier(name)
    if not NAME_RE.match(name):
        raise GradcalcError(f"{key[:40]!r} is not a variable name", kind="value",
                            hint="names start with a letter or '_' and go on with letters, digits and '_'")
    return name


def _checked_value(name: str, v: object) -> Any:
    """One value: a finite float, or a finite float array of one or two dimensions."""
    np = sys.modules.get("numpy")  # an array or a NumPy scalar means NumPy is imported already
    if isinstance(v, bool) or (np is not None and isinstance(v, np.bool_)):
        raise GradcalcError(f"the value of {name!r} is {v}, a bool, not a number", kind="value",
                            hint=f"write {name}=1.0 or {name}=0.0 if a number is meant")
    if isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real):
        raise GradcalcError(f"the value of {name!r} is {_short(v)}, a complex number", kind="value",
                            hint="gradcalc computes with real numbers")
    if isinstance(v, numbers.Number):  # int, float, Fraction, Decimal, NumPy's scalars
        try:
            x = float(v)  # type: ignore[arg-type]  # a Number that is not Complex is real
        except OverflowError:
            x = math.inf
        if not math.isfinite(x):
            raise GradcalcError(
                f"the value of {name!r} is {_short(v)}, not a finite number",
                kind="value",
                hint="values are finite numbers such as -2, 0.5 or 1e-3; floats reach about 1.8e308",
            )
        return x
    if isinstance(v, str):
        raise GradcalcError(f"the value of {name!r} is the text {v[:40]!r}, not a number", kind="value",
                            hint=f"give numbers as numbers ({name}=3.0, not '3'); {_VALUE_KINDS}")
    if isinstance(v, list | tuple) or (np is not None and isinstance(v, np.ndarray)) or hasattr(v, "__array__"):
        return _checked_array(name, v)
    what = "None" if v is None else _a(v)
    raise GradcalcError(f"the value of {name!r} is {what}, not a number", kind="value", hint=_VALUE_KINDS)


def _checked_array(name: str, v: Any) -> Any:
    """A vector or matrix from a list of numbers, a list of equal lists, or anything NumPy reads as an array."""
    where = f"the value of {name!r}"
    if isinstance(v, list | tuple):
        _check_nesting(where, v)
    from .tensor import np

    try:
        array = np.array(v, dtype=float)  # a copy: the caller's array is never the engine's
    except (TypeError, ValueError, OverflowError) as exc:
        raise GradcalcError(f"{where} is not an array of numbers ({str(exc)[:80]})", kind="value",
                            hint=_VALUE_KINDS) from None
    if array.ndim == 0:
        return _checked_value(name, float(array))
    if array.ndim > 2:
        raise GradcalcError(f"{where} has {array.ndim} dimensions: only vectors and matrices are supported",
                            kind="value", hint=_VALUE_KINDS)
    if array.size == 0:
        raise GradcalcError(f"{where} is an empty list", kind="value", hint="a vector has at least one number")
    if array.size > MAX_ELEMENTS:
        raise GradcalcError(f"{where} has more than {MAX_ELEMENTS:,} elements", kind="limit",
                            hint=f"a value may have at most {MAX_ELEMENTS:,} elements (the limit of every array)")
    if not np.all(np.isfinite(array)):
        raise GradcalcError(f"{where} holds a number that is not finite (nan or inf)", kind="value",
                            hint="values are finite numbers; floats reach about 1.8e308")
    return array


def _check_nesting(where: str, v: list[Any] | tuple[Any, ...]) -> None:
    """A list of numbers or a list of equal lists of numbers, checked before NumPy copies it (no recursion)."""
    if len(v) > MAX_ELEMENTS:
        raise GradcalcError(f"{where} has more than {MAX_ELEMENTS:,} elements", kind="limit",
                            hint=f"a value may have at most {MAX_ELEMENTS:,} elements (the limit of every array)")
    if not v:
        raise GradcalcError(f"{where} is an empty list", kind="value", hint="a vector has at least one number")
    matrix = isinstance(v[0], list | tuple)
    rows = v if matrix else [v]
    width = len(rows[0])
    if matrix and width * len(rows) > MAX_ELEMENTS:
        raise GradcalcError(f"{where} has more than {MAX_ELEMENTS:,} elements", kind="limit",
                            hint=f"a value may have at most {MAX_ELEMENTS:,} elements (the limit of every array)")
    for r, row in enumerate(rows):
        if matrix and (not isinstance(row, list | tuple) or len(row) != width):
            raise GradcalcError(f"{where}: the rows have different lengths (row 0 has {width}, row {r} "
                                f"{len(row) if isinstance(row, list | tuple) else 'is not a list'})",
                                kind="value", hint="every row of a matrix needs the same length")
        for item in row:
            if isinstance(item, bool) or not isinstance(item, numbers.Number) or isinstance(item, complex):
                if isinstance(item, list | tuple):
                    raise GradcalcError(f"{where} is nested too deep: only vectors and matrices are supported",
                                        kind="value", hint=_VALUE_KINDS)
                raise GradcalcError(f"{where} holds {_short(item)}, {_a(item)}, not a number", kind="value",
                                    hint=_VALUE_KINDS)


def _a(v: object) -> str:
    """``an int``, ``a str``: what kind of Python object ``v`` is."""
    kind = type(v).__name__
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def _short(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:39] + "…"
