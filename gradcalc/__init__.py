"""gradcalc: see backpropagation, and trust the numbers.

>>> from gradcalc import gradient
>>> r = gradient("(x+y)*z", {"x": -2, "y": 5, "z": -4})
>>> r.value, r.gradients
(-12.0, {'x': -4.0, 'y': -4.0, 'z': 3.0})
>>> r
<GradResult f=-12 ∂x=-4 ∂y=-4 ∂z=3 checks ok>

What the command line does, as functions: :func:`gradient`, :func:`jacobian`,
:func:`hessian`, :func:`derivatives`, :func:`trace`, :func:`descend` and
:func:`check` (an answer file); and each result in each format:
:func:`render_table`, :func:`render_json`, :func:`render_markdown`,
:func:`render_latex`, :func:`render_dot`, :func:`render_svg`,
:func:`render_html`, and :func:`save` (by the file's suffix).  Bad input
raises :class:`GradcalcError`, with the command line's message.

Importing gradcalc loads nothing but this file: each name loads its module
on first use, and SymPy, NumPy and rich only when a computation needs them.
In a notebook, results show themselves (HTML tables, the graph as SVG,
formulas as LaTeX): the renderers are handed to the results here
(see :mod:`gradcalc.shown`).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Collection
from typing import TYPE_CHECKING

from .shown import draw_with

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .answerfile import FileReport, check
    from .api import GradResult, VariableCheck, gradient
    from .builder import build
    from .descend import Dataset, DescendResult, descend, read_csv
    from .display import (
        render_dot,
        render_html,
        render_json,
        render_latex,
        render_markdown,
        render_svg,
        render_table,
        save,
    )
    from .errors import GradcalcError, Source
    from .hessian import HessianResult, OrderResult, hessian
    from .hessian import derivatives_of_order as derivatives
    from .jacobian import JacobianResult, jacobian
    from .parser import parse_program
    from .passes import backward, forward, jvp
    from .printer import to_text
    from .tape import Tape
    from .trace import Trace, trace
    from .tree import to_sexpr

# Each public name, the module it lives in, and its name there: loaded on first use.
_PUBLIC = {
    "Session": ("session", "Session"),  # gradient() calls that pay SymPy's import once
    "gradient": ("api", "gradient"), "GradResult": ("api", "GradResult"), "VariableCheck": ("api", "VariableCheck"),
    "jacobian": ("jacobian", "jacobian"), "JacobianResult": ("jacobian", "JacobianResult"),
    "hessian": ("hessian", "hessian"), "HessianResult": ("hessian", "HessianResult"),
    "derivatives": ("hessian", "derivatives_of_order"), "OrderResult": ("hessian", "OrderResult"),
    "trace": ("trace", "trace"), "Trace": ("trace", "Trace"),
    "descend": ("descend", "descend"), "DescendResult": ("descend", "DescendResult"),
    "Dataset": ("descend", "Dataset"), "read_csv": ("descend", "read_csv"),
    "check": ("answerfile", "check"), "FileReport": ("answerfile", "FileReport"),
    "render_table": ("display", "render_table"), "render_json": ("display", "render_json"),
    "render_markdown": ("display", "render_markdown"), "render_latex": ("display", "render_latex"),
    "render_dot": ("display", "render_dot"), "render_svg": ("display", "render_svg"),
    "render_html": ("display", "render_html"), "save": ("display", "save"),
    "GradcalcError": ("errors", "GradcalcError"), "Source": ("errors", "Source"),
    "parse_program": ("parser", "parse_program"), "build": ("builder", "build"), "Tape": ("tape", "Tape"),
    "forward": ("passes", "forward"), "backward": ("passes", "backward"), "jvp": ("passes", "jvp"),
    "to_sexpr": ("tree", "to_sexpr"), "to_text": ("printer", "to_text"),
}  # fmt: skip


class _Package(types.ModuleType):
    """gradcalc itself, whose functions hessian, jacobian, trace and descend share their modules' names.

    Importing the module ``gradcalc.hessian`` (which the library does when it needs it) sets the
    package's attribute ``hessian`` to the module; the function keeps the name instead.  The module
    is ``sys.modules["gradcalc.hessian"]``, and ``from gradcalc.hessian import ...`` reads it as ever.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in _PUBLIC and isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.{name}":
            return
        super().__setattr__(name, value)


def __getattr__(name: str) -> object:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # found once: the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


def _draw(result: object, wanted: Collection[str]) -> dict[str, str]:
    """A result's notebook pictures, drawn by gradcalc.display (loaded on the first picture)."""
    from .display import draw

    return draw(result, wanted)


draw_with(_draw)
sys.modules[__name__].__class__ = _Package

__all__ = [
    "Dataset", "DescendResult", "FileReport", "GradResult", "GradcalcError", "HessianResult", "JacobianResult",
    "OrderResult", "Session", "Source", "Tape", "Trace", "VariableCheck", "__version__", "backward", "build", "check",
    "derivatives", "descend", "forward", "gradient", "hessian", "jacobian", "jvp", "parse_program", "read_csv",
    "render_dot", "render_html", "render_json", "render_latex", "render_markdown", "render_svg", "render_table",
    "save", "to_sexpr", "to_text", "trace",
]
