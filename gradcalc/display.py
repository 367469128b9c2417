"""Every result in every format, for the Python API: ``render_table(r)``, ``render_json(r)``, ... ``save(r, path)``.

One shape for all: a function per format that takes any result the format
suits and returns text, written by the same renderers as the command line
(:mod:`gradcalc.render`), so a result reads the same from Python as from the
shell.  ``save`` writes a file in the format its suffix names, atomically, as
``-o`` does.  :func:`draw` gives a notebook its pictures (see :mod:`gradcalc.shown`).

================  ===============================================================
format            results
================  ===============================================================
table             gradient, Hessian, descent, answer file
json              gradient, Hessian, Jacobian, trace, descent, answer file
markdown, latex   gradient, Hessian
dot               gradient (the graph as Graphviz text)
svg               gradient (the graph, drawn by Graphviz), descent (the loss curve)
html              gradient, Hessian, descent, answer file (one self-contained page)
================  ===============================================================
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from .answerfile import FileReport
from .api import DEFAULT_SYMBOLIC_BUDGET, GradResult, check_budget
from .descend import DescendResult
from .errors import GradcalcError
from .hessian import HessianResult
from .jacobian import JacobianResult
from .shown import HTML, LATEX, SVG
from .trace import Trace

DEFAULT_DIGITS = 6
TABLE_WIDTH = 200  # columns of render_table's text, as the command line writes to a pipe


def _unsuited(result: object, what: str, kinds: str) -> GradcalcError:
    return GradcalcError(f"{what} is not made for {type(result).__name__!r}", kind="usage",
                         hint=f"{what} takes {kinds}")


def render_table(result: GradResult | HessianResult | DescendResult | FileReport, *, digits: int = DEFAULT_DIGITS,
                 width: int = TABLE_WIDTH) -> str:
    """The tables the command line prints, as plain text ``width`` columns wide (ASCII boxes, no colour)."""
    from rich.console import Console

    if isinstance(result, GradResult):
        from .render.table import full_report

        report: Any = full_report(result, digits, plain=True)
    elif isinstance(result, HessianResult):
        from .render.hessian import hessian_report

        report = hessian_report(result, digits, plain=True)
    elif isinstance(result, DescendResult):
        from .render.descent import descend_report

        report = descend_report(result, digits, plain=True)
    elif isinstance(result, FileReport):
        from .render.answers import file_report

        report = file_report(result, digits, plain=True)
    else:
        raise _unsuited(result, "render_table", "a GradResult, HessianResult, DescendResult or FileReport")
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, highlight=False, markup=False, emoji=False,
            soft_wrap=False).print(report)
    return out.getvalue()


def render_json(result: GradResult | HessianResult | JacobianResult | Trace | DescendResult | FileReport, *,
                brief: bool = False) -> str:
    """The command's ``--json`` document (strict JSON: no NaN; ``brief``: a gradient's value and gradients only)."""
    from .render import jsondoc

    if isinstance(result, GradResult):
        doc = jsondoc.result_doc(result, brief=brief)
    elif isinstance(result, HessianResult):
        from .render.hessian import hessian_doc

        doc = hessian_doc(result)
    elif isinstance(result, JacobianResult):
        doc = jsondoc.jacobian_doc(result)
    elif isinstance(result, Trace):
        from .trace import trace_doc

        doc = trace_doc(result)
    elif isinstance(result, DescendResult):
        from .render.descent import descend_doc

        doc = descend_doc(result)
    elif isinstance(result, FileReport):
        from .render.answers import file_doc

        doc = file_doc(result)
    else:
        raise _unsuited(result, "render_json", "a result of gradient, hessian, jacobian, trace, descend or check")
    return jsondoc.dumps(doc) + "\n"


def _gradient(result: object, what: str) -> GradResult:
    if not isinstance(result, GradResult):
        kinds = "a GradResult or a HessianResult" if what in ("render_markdown", "render_latex") else "a GradResult"
        raise _unsuited(result, what, kinds)
    return result


def render_markdown(result: GradResult | HessianResult, *, digits: int = DEFAULT_DIGITS) -> str:
    """A gradient's gate table and gradient table, or a Hessian's matrix and checks, as GitHub tables
    (``--format markdown``)."""
    from .render import markdown

    if isinstance(result, HessianResult):
        return markdown.hessian_markdown(result, digits) + "\n"
    return markdown.markdown_report(_gradient(result, "render_markdown"), digits) + "\n"


def render_latex(result: GradResult | HessianResult, *, digits: int = DEFAULT_DIGITS, symbolic: bool = True,
                 symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET) -> str:
    """A gradient's SymPy derivatives and gradient table, or a Hessian's matrix, as a LaTeX fragment
    (``--format latex``).

    A gradient's symbolic forms are SymPy's, computed in a child process within ``symbolic_budget``
    seconds; ``symbolic=False`` gives the numbers alone.
    """
    from .render.latex import collect_latex, hessian_latex, latex_report

    if isinstance(result, HessianResult):
        return hessian_latex(result, digits) + "\n"
    r = _gradient(result, "render_latex")
    found = None
    if symbolic:
        check_budget(symbolic_budget)
        found = collect_latex(r, symbolic_budget)
    return latex_report(r, digits, found) + "\n"


def render_dot(result: GradResult, *, digits: int = 4) -> str:
    """The computational graph as Graphviz DOT text, values and gradients on its edges."""
    from .render.dot import to_dot

    return to_dot(_gradient(result, "render_dot"), digits)


def render_svg(result: GradResult | DescendResult, *, digits: int = 4) -> str:
    """A gradient's graph drawn by Graphviz (it must be installed), or a descent's loss curve, as SVG."""
    if isinstance(result, DescendResult):
        from .render.descent import unit
        from .render.plot import loss_svg

        return loss_svg(result.history or [result.initial_loss], unit=unit(result))
    from .render.dot import drawn, run_dot, to_dot

    r = _gradient(result, "render_svg")
    return run_dot(to_dot(r, digits), "svg", len(drawn(r))).decode("utf-8")


def render_html(result: GradResult | HessianResult | DescendResult | FileReport, *,
                digits: int = DEFAULT_DIGITS) -> str:
    """One self-contained HTML page: inline styles and SVG, nothing fetched (``--format html``)."""
    return html_page(result, digits)


def html_page(result: object, digits: int = DEFAULT_DIGITS, **extra: Any) -> str:
    """:func:`render_html`, with the command line's extras (see :func:`html_fragment`)."""
    from .render.html import document

    return document(_title(result), html_fragment(result, digits, **extra))


def html_fragment(result: object, digits: int = DEFAULT_DIGITS, **extra: Any) -> str:
    """The page's body, a ``<div>`` with its styles: what a notebook shows.  ``extra``: a gradient's
    ``explanation``, ``marks`` and ``step`` (the command line's --explain, answers and --lr)."""
    from .render import html

    if isinstance(result, GradResult):
        return html.grad_html(result, digits, graph=html.graph_picture(result), **extra)
    if isinstance(result, HessianResult):
        return html.hessian_html(result, digits)
    if isinstance(result, DescendResult):
        return html.descend_html(result, digits, **extra)
    if isinstance(result, FileReport):
        return html.file_html(result, digits)
    raise _unsuited(result, "render_html", "a GradResult, HessianResult, DescendResult or FileReport")


def _title(result: object) -> str:
    if isinstance(result, FileReport):
        return f"gradcalc check: {result.name}"
    tape = getattr(result, "tape", None)
    text = " ".join(tape.source.text.split()) if tape is not None else ""
    if len(text) > 80 and tape is not None:
        text = tape.source.name
    command = {GradResult: "grad", HessianResult: "hessian", DescendResult: "descend"}.get(type(result), "")
    return f"gradcalc {command}: {text}"


# The format each file name's suffix asks for, as the command line's -o reads it, and what writes it.
SUFFIXES = {".txt": "table", ".json": "json", ".md": "markdown", ".tex": "latex", ".dot": "dot", ".gv": "dot",
            ".svg": "svg", ".html": "html", ".htm": "html"}
_WRITERS: dict[str, Callable[..., str]] = {
    "table": render_table, "json": render_json, "markdown": render_markdown, "latex": render_latex, "dot": render_dot,
    "svg": render_svg, "html": render_html,
}


def save(result: Any, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write ``result`` to ``path`` in the format its suffix names (.html, .json, .md, .tex, .txt, .svg, .dot).

    The file is replaced whole or not at all (a temporary file renamed over it);
    ``options`` go to the format's ``render_*`` function.  Returns the path.
    """
    from .files import OutputError, write_atomically

    target = Path(path)
    kind = SUFFIXES.get(target.suffix.lower())
    if kind is None:
        raise GradcalcError(f"{target.name}: the file name does not say which format to write", kind="usage",
                            hint=f"end it in one of {', '.join(SUFFIXES)}")
    text = _WRITERS[kind](result, **options)
    try:
        write_atomically(target, text.encode("utf-8"))
    except OutputError as exc:
        raise GradcalcError(exc.message, kind="output", hint="an existing file is unchanged") from None
    return target


# ---------------------------------------------------------------------------
# A notebook's pictures


def draw(result: object, wanted: Collection[str]) -> dict[str, str]:
    """The pictures of ``result`` that are ``wanted`` (MIME types) and that it has: HTML, SVG, LaTeX.

    A gradient: its report as HTML (the graph inline, where Graphviz is installed), the graph as
    SVG, the output and gradients as LaTeX (SymPy's forms, when its check was on).  A Hessian: the
    report, and the matrix as LaTeX.  A descent: the report, and the loss curve as SVG.  An answer
    file: its report.
    """
    from .render import html

    out: dict[str, str] = {}
    if isinstance(result, GradResult):
        graph = html.graph_picture(result) if HTML in wanted or SVG in wanted else None
        if HTML in wanted:
            out[HTML] = html.grad_html(result, graph=graph)
        if SVG in wanted and graph is not None and graph.svg is not None:
            out[SVG] = graph.svg
        if LATEX in wanted:
            out[LATEX] = _formulas(result)
    elif isinstance(result, HessianResult | DescendResult | FileReport):
        if HTML in wanted:
            out[HTML] = html_fragment(result)
        if SVG in wanted and isinstance(result, DescendResult):
            out[SVG] = html.inline_svg(render_svg(result))
        if LATEX in wanted and isinstance(result, HessianResult) and result.hvp is None:
            out[LATEX] = _matrix(result)
    return out


def _formulas(result: GradResult) -> str:
    from .render.latex import collect_latex, formulas_latex

    symbolic = None
    if result.symbolic.state != "off" and not result.tape.has_tensors:  # asked for SymPy: its forms, in budget
        symbolic = collect_latex(result, DEFAULT_SYMBOLIC_BUDGET)
    return formulas_latex(result, DEFAULT_DIGITS, symbolic)


def _matrix(result: HessianResult) -> str:
    from .render.latex import latex_name, number

    out = latex_name(result.tape.nodes[result.tape.output].label)
    rows = r" \\ ".join(" & ".join(number(v) for v in row) for row in result.hessian)
    by = ", ".join(latex_name(n) for n in result.variables)
    return rf"\begin{{align*}} \nabla^2 {out}\,({by}) &= \begin{{bmatrix}} {rows} \end{{bmatrix}} \end{{align*}}"
