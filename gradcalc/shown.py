"""How a result shows itself: a one-line ``repr``, and pictures in a notebook (Jupyter's ``_repr_*_``).

Every result class of the library (the gradient's, the Hessian's, a descent's,
an answer file's...) takes :class:`Shown` as its base and says what its one
line holds (:meth:`Shown.summary`): ``<GradResult f=0.7311 ∂w0=-0.1966 ... checks ok>``
instead of a dump of its tape.

Its pictures (HTML tables, the graph as SVG, formulas as LaTeX) are drawn by
the renderers in ``gradcalc.render``, which the library's layers may not
import: they import downward only.  So the package's ``__init__`` hands the
one function that draws them in (:func:`draw_with`) when gradcalc is
imported, which is before any result can exist.

A leaf module: it imports nothing of gradcalc, so every layer may take its base from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any

HTML = "text/html"
SVG = "image/svg+xml"
LATEX = "text/latex"
PICTURES = (HTML, SVG, LATEX)

# Draws the pictures of a result that are asked for: (result, MIME types) -> {MIME type: text}.
Draw = Callable[[object, Collection[str]], dict[str, str]]
_draw: list[Draw] = []


def draw_with(draw: Draw) -> None:
    """Who draws the results' pictures (gradcalc's ``__init__`` says: :mod:`gradcalc.display`)."""
    _draw[:] = [draw]


class Shown:
    """A result that shows itself: a short ``repr``, and HTML, SVG and LaTeX for a notebook."""

    __slots__ = ()

    def summary(self) -> str:
        """What the one-line ``repr`` says, after the class's name."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.summary()}>"

    def _pictures(self, wanted: Collection[str]) -> dict[str, str]:
        return _draw[0](self, wanted) if _draw else {}

    def _repr_mimebundle_(self, include: Collection[str] | None = None,
                          exclude: Collection[str] | None = None) -> dict[str, str]:
        """Every picture at once, so the graph is drawn once for the HTML and the SVG (IPython asks this first)."""
        wanted = [m for m in PICTURES if (include is None or m in include) and not (exclude and m in exclude)]
        return self._pictures(wanted)

    def _repr_html_(self) -> str | None:
        return self._pictures([HTML]).get(HTML)

    def _repr_svg_(self) -> str | None:
        return self._pictures([SVG]).get(SVG)

    def _repr_latex_(self) -> str | None:
        return self._pictures([LATEX]).get(LATEX)


def brief(x: Any) -> str:
    """A number in four significant digits; a vector or matrix by its shape (``[2×2]``), its elements if few."""
    shape = getattr(x, "shape", None)
    if shape:
        if math.prod(shape) <= 4 and len(shape) == 1:
            return "[" + ", ".join(brief(v) for v in x) + "]"
        return "[" + "×".join(map(str, shape)) + "]"
    if x is None:
        return "—"
    try:
        text = f"{float(x):.4g}"
    except (TypeError, ValueError):
        return "?"
    return "0" if text == "-0" else text


def listed(items: list[str], most: int = 6) -> str:
    """The first ``most`` items with spaces between, and how many more there are."""
    shown = " ".join(items[:most])
    return shown + (f" … {len(items) - most} more" if len(items) > most else "")
