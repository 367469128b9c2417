"""User text made safe for each output format: one function per format, used by every printer.

User text is anything gradcalc did not write itself: the source of a formula
(its comments), the names of files, of answer-file problems and of CSV
columns, and the messages and hints that echo them.  It is written into a
terminal, Markdown, LaTeX, Graphviz DOT, Mermaid and JSON; each printer passes
it through the one function here for its format, and through nothing else.

First, always, :func:`visible`: control characters, invisible formatting
characters (the bidi overrides of "Trojan Source", zero-width spaces), line
and paragraph separators and lone surrogates (undecodable bytes of a file
name) are spelled out, ESC as ``\\x1b`` and U+202E as ``U+202E``, so no raw
escape sequence or reordering reaches a terminal or a document.  Then the
format's own special characters are escaped.  (The formula itself refuses all
of these characters, comments included; names are ASCII identifiers.)

Rich markup is never interpreted in user text: every console is made with
``markup=False`` and table cells are :class:`rich.text.Text`
(:mod:`gradcalc.render.table`), so ``[red]`` prints as typed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable

# ---------------------------------------------------------------------------
# Every format


def visible(text: str, keep: str = "") -> str:
    """``text`` with every control or invisible character spelled out (``\\x1b``, ``U+202E``), but those in ``keep``.

    Unicode spaces (a no-break space) stay: they show as spaces.
    """
    return _replace_invisible(text, keep, _spelled)


def _replace_invisible(text: str, keep: str, spell: Callable[[str], str]) -> str:
    if (text if not keep else text.translate(dict.fromkeys(map(ord, keep), " "))).isprintable():
        return text  # the common case, at C speed (a JSON document of a large graph is megabytes)
    return "".join(
        ch if ch in keep or ch.isprintable() or unicodedata.category(ch) == "Zs" else spell(ch) for ch in text
    )


def _spelled(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:  # C0, DEL and C1 controls, as Python writes them
        return f"\\x{code:02x}"
    return f"U+{code:04X}"


# ---------------------------------------------------------------------------
# Terminal


def terminal(text: str, keep: str = "") -> str:
    """Text for a terminal (a table cell, a warning, a title): nothing in it moves the cursor or recolours."""
    return visible(text, keep)


# ---------------------------------------------------------------------------
# Markdown (GitHub's): code spans and fences that user text cannot close, and escaped text

_BACKTICKS = re.compile(r"`+")
# Characters that can start Markdown (or GitHub's) markup anywhere in a line: emphasis,
# code, links and images, raw HTML and entities, strikethrough, math, table pipes.
# A line that starts with '-', '+' or '1.' would be a list item, even inside one.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]!~$|#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^[-+]|^[0-9]+[.)]", re.M)
_HTML_IN_MARKDOWN = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _longest_run(text: str, run: re.Pattern[str]) -> int:
    return max((len(m) for m in run.findall(text)), default=0)


def markdown_code(text: str, cell: bool = False) -> str:
    """An inline code span whose fence is longer than any run of backticks in ``text``.

    A code span is one line: line breaks become spaces.  In a table ``cell``
    pipes are escaped (GitHub splits cells at them even inside code).
    """
    if not text:
        return ""
    text = visible(text.replace("\r\n", " ").replace("\n", " "))
    if cell:
        text = text.replace("|", "\\|")
    fence = "`" * (_longest_run(text, _BACKTICKS) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""  # CommonMark strips one space each side
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_fence(text: str, info: str = "") -> list[str]:
    """A fenced code block of ``text``, as lines; the fence is longer than any backtick run in it."""
    fence = "`" * max(3, _longest_run(text, _BACKTICKS) + 1)
    return [fence + info, visible(text, keep="\n\t"), fence]


def markdown_text(text: str, cell: bool = False) -> str:
    """Text outside code: Markdown's punctuation backslash-escaped, ``& < >`` as HTML entities.

    In a table ``cell`` a line break is ``<br>``; elsewhere the text is one line.
    """
    text = visible(text, keep="\n")
    text = _MARKDOWN_SPECIAL.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], text)
    text = "".join(_HTML_IN_MARKDOWN.get(ch, ch) for ch in text) if any(c in text for c in "&<>") else text
    return text.replace("\n", "<br>" if cell else " ")


# ---------------------------------------------------------------------------
# LaTeX

# Text mode: LaTeX's special characters, and the few non-ASCII signs the diagnoses use.
_LATEX_TEXT = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
    "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "∂": r"$\partial$", "×": r"$\times$", "·": r"$\cdot$", "…": r"\ldots{}", "←": r"$\leftarrow$",
    "→": r"$\rightarrow$", "−": "-", "≤": r"$\leq$", "≥": r"$\geq$", "✓": "", "✗": "",
}  # fmt: skip


def latex_text(text: str) -> str:
    """Plain text safe in a LaTeX document; other non-ASCII characters are kept for inputenc's utf8."""
    return "".join(_LATEX_TEXT.get(ch, ch) for ch in visible(text.replace("\n", " ")))


def latex_comment(text: str) -> str:
    """Text for the rest of a ``%`` comment line: one line (TeX reads nothing else in a comment)."""
    return visible(text.replace("\r\n", " ").replace("\n", " "))


# ---------------------------------------------------------------------------
# Graphviz DOT, SVG and HTML

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def html(text: str) -> str:
    """Text inside an HTML or SVG element or attribute value."""
    return "".join(_HTML.get(ch, ch) for ch in visible(text))


def dot_label(text: str) -> str:
    """Text inside one of Graphviz's HTML-like labels ``<...>``, the only labels gradcalc writes.

    Graphviz expands ``\\G``, ``\\N`` and the like even there, so a backslash is doubled;
    the rest is HTML, which Graphviz writes into SVG escaped again.
    """
    return html(text).replace("\\", "\\\\")


# ---------------------------------------------------------------------------
# Mermaid

# Mermaid's entity codes: '#' first, so that text cannot spell one; '%' so that no
# '%%{init: ...}%%' directive can be formed; quotes, and what an HTML label would read.
_MERMAID = {"#": "#35;", "%": "#37;", '"': "#quot;", "'": "#39;", "&": "#amp;", "<": "#lt;", ">": "#gt;",
            "`": "#96;"}  # fmt: skip


def mermaid(text: str) -> str:
    """Text inside a quoted Mermaid label or a ``%%`` comment line (one line)."""
    return "".join(_MERMAID.get(ch, ch) for ch in visible(text))


# ---------------------------------------------------------------------------
# JSON


def json_text(document: str) -> str:
    """A JSON document (``ensure_ascii=False``) with its invisible characters written as ``\\uXXXX``.

    It means the same; only the characters that would control or reorder a
    terminal showing it are escaped (they can only be inside strings).
    """
    return _replace_invisible(document, "\n", lambda ch: json.dumps(ch)[1:-1])


# ---------------------------------------------------------------------------
# CSV (written with the csv module, which quotes; this is about what a spreadsheet does with a cell)

# A cell that starts with one of these is a formula to Excel, LibreOffice and Google Sheets ("CSV
# injection": =HYPERLINK(...), =cmd|' /C calc'!A0), and tab or carriage return can hide one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: never a formula, never a control character.

    A cell starting with ``= + - @`` (or tab, carriage return) gets a leading apostrophe, as
    OWASP advises and spreadsheets show as text, unless it is a plain number such as -0.20
    (a spreadsheet reads that as the number, no formula).  Line breaks become spaces, and
    control characters are spelled out as everywhere (:func:`visible`).
    """
    text = visible(text.replace("\r\n", " ").replace("\n", " "), keep="\t\r")
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        text = "'" + text
    return visible(text)
