"""gradcalc: see backpropagation, and trust the numbers.

>>> from gradcalc import gradient
>>> r = gradient("(x+y)*z", {"x": -2, "y": 5, "z": -4})
>>> r.value, r.gradients
(-12.0, {'x': -4.0, 'y': -4.0, 'z': 3.0})
"""

from __future__ import annotations

from .api import GradResult, VariableCheck, gradient
from .builder import build
from .errors import GradcalcError, Source
from .parser import parse_program
from .passes import backward, forward, jvp
from .tape import Tape

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name == "to_sexpr":  # the tree and its printer load on demand
        from .tree import to_sexpr

        return to_sexpr
    if name == "to_text":
        from .printer import to_text

        return to_text
    if name == "Session":  # gradient() calls that pay SymPy's import once
        from .session import Session

        return Session
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GradResult",
    "GradcalcError",
    "Session",
    "Source",
    "Tape",
    "VariableCheck",
    "__version__",
    "backward",
    "build",
    "forward",
    "gradient",
    "jvp",
    "parse_program",
    "to_sexpr",
    "to_text",
]
