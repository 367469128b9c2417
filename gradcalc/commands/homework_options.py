"""The command line's homework options: which flag asks for which kind of answer, and reading them.

`gradcalc grad` reads ``--expect-value NUM``, ``--expect-grad NAME=NUM``,
``--expect NODE=NUM`` and ``--expect-upstream NODE=NUM`` into expectations for
:func:`gradcalc.judge.judge` (an answer that is not a number is a formula:
``--expect-grad 'x=2*x*cos(x^2)'``), and ``--params A,B`` into the variables of one
descent step.  Judging names only the kind of answer to ask for; the hints say
it with the flags here (and the keys of answer files).
"""

from collections.abc import Sequence

from ..answerfile import ANSWER_KEYS
from ..answers import Expectation, Kind, read_answer, split_label
from ..errors import GradcalcError, Source

FLAGS = {
    Kind.VALUE: "--expect-value", Kind.GRAD: "--expect-grad", Kind.NODE: "--expect", Kind.UPSTREAM: "--expect-upstream",
}  # fmt: skip


def how_to_ask(kind: Kind, example: str) -> str:
    """How to ask for an answer of this kind, for hints: "--expect-upstream q=... (expect_upstream in answer files)"."""
    flag = f"{FLAGS[kind]} {example}" if example else FLAGS[kind]
    return f"{flag} ({ANSWER_KEYS[kind]} in answer files)"


def parse_expectations(
    value: str | None = None,
    grads: Sequence[str] = (),
    nodes: Sequence[str] = (),
    upstreams: Sequence[str] = (),
) -> list[Expectation]:
    """The command line's ``--expect-value NUM``, ``--expect-grad NAME=NUM``, ``--expect NODE=NUM``, ...."""
    found: list[Expectation] = []
    if value is not None:
        source = Source(value, FLAGS[Kind.VALUE])
        found.append(Expectation(Kind.VALUE, "", read_answer(value, source), source, (0, len(value))))
    for what, args in ((Kind.GRAD, grads), (Kind.NODE, nodes), (Kind.UPSTREAM, upstreams)):
        for arg in args:
            found.append(_pair(what, arg))
    return found


def _pair(what: Kind, arg: str) -> Expectation:
    option = FLAGS[what]
    source = Source(arg, option)
    name, eq, text = arg.partition("=")
    if not eq:
        raise GradcalcError(
            f"{option} expects NAME=NUMBER, found {arg[:40]!r}",
            kind="usage",
            span=(0, max(1, len(arg))),
            hint=f"e.g. {option} {'x0' if what == Kind.GRAD else 'q'}=0.39",
            source=source,
        )
    label = name.strip()
    lead = len(name) - len(name.lstrip())
    span = (lead, lead + max(1, len(label)))
    parts = split_label(label)
    if parts is None:
        raise GradcalcError(
            f"{label[:40]!r} is not a name",
            kind="usage",
            span=span,
            hint="names start with a letter or '_' and go on with letters, digits and '_'; "
            "one element of a vector or matrix is v[2] or W[0, 1]",
            source=source,
        )
    return Expectation(what, parts[0], read_answer(text, source, len(name) + 1), source, span, parts[1])


def parse_params(text: str | None, lr: float | None) -> list[str] | None:
    """``--params w5,w6`` → ``["w5", "w6"]``; it only means something with ``--lr``."""
    if text is None:
        return None
    if lr is None:
        raise GradcalcError("--params needs --lr", kind="usage", hint="e.g. --lr 0.5 --params w5,w6")
    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise GradcalcError("--params is empty", kind="usage", hint="e.g. --params w5,w6")
    return names
