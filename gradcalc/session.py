"""Many ``gradient()`` calls in one process, paying SymPy's import once.

Each SymPy check runs in a child process forked for it, under its own time and
memory budget (:mod:`gradcalc.budget`).  Forked from a process that has not
imported SymPy, the child imports it itself: about 0.3 s a check, more than the
check takes.  A :class:`Session` imports SymPy once, in this process, and warms
it up on gradcalc's own small expressions; every check's child then starts with
it, shared copy-on-write.  The checks keep their budgets: SymPy never works on
your formulas in this process.

>>> from gradcalc import Session
>>> with Session(symbolic_budget=2.0) as session:
...     results = [session.gradient("x*y + sin(x)", {"x": x, "y": 2.0}) for x in (0.0, 1.0)]
>>> [round(r.gradients["x"], 6) for r in results]
[3.0, 2.540302]
>>> [r.symbolic.state for r in results]
['done', 'done']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .api import DEFAULT_SYMBOLIC_BUDGET, gradient
from .ops import DEFAULT_TIE

if TYPE_CHECKING:
    from .api import GradResult
    from .parser import Program
    from .tape import Tape


class Session:
    """:func:`gradcalc.gradient` with SymPy imported once for every call, and the options given here as defaults.

    ``Session(symbolic_budget=1.0).gradient(f, values)`` is ``gradient(f, values,
    symbolic_budget=1.0)``, with the SymPy check's import paid when the session
    starts (``with Session() as s``, or the first call that checks) instead of
    by every call.  SymPy stays imported in this process afterwards (about 80 MB).
    """

    def __init__(self, *, symbolic: bool = True, numeric: bool = True,
                 symbolic_budget: float = DEFAULT_SYMBOLIC_BUDGET, tie: str = DEFAULT_TIE, fuse: bool = False) -> None:
        self.options: dict[str, Any] = {"symbolic": symbolic, "numeric": numeric,
                                        "symbolic_budget": symbolic_budget, "tie": tie, "fuse": fuse}

    def __enter__(self) -> Session:
        if self.options["symbolic"]:
            self.warm()
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # nothing to stop: each check's child is reaped by the call that started it

    @staticmethod
    def warm() -> None:
        """Import SymPy in this process and warm it up, if that is not done yet (a few tenths of a second)."""
        from .symbolic import warm_up

        warm_up()

    def gradient(self, formula: str | Program | Tape, values: Mapping[str, Any] | None = None,
                 **options: Any) -> GradResult:
        """:func:`gradcalc.gradient` with this session's options, overridden by ``options``."""
        merged = {**self.options, **options}
        if merged["symbolic"]:
            self.warm()
        return gradient(formula, values, **merged)
