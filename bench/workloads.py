"""What the benchmark runs: the formulas, their values, and their answers in closed form.

Every workload here has a reference answer computed in plain Python from the
formula's closed-form derivative, so each timing is also a correctness check
that needs neither PyTorch nor SymPy.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# ---------------------------------------------------------------------------
# One-shot latency: the sigmoid neuron of CS231n lecture 4.

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
NEURON_VALUES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}

# The bare SymPy one-liner gradcalc's checked run is compared with: the same
# expression from sympy.Symbol objects, its five derivatives, evaluated.
SYMPY_ONE_LINER = (
    "import sympy as sp;"
    "w0,x0,w1,x1,w2=(sp.Symbol(n) for n in ('w0','x0','w1','x1','w2'));"
    "f=1/(1+sp.exp(-(w0*x0+w1*x1+w2)));"
    "p={w0:2,x0:-1,w1:-3,x1:-2,w2:-3};"
    "print(*[float(sp.diff(f,v).subs(p)) for v in (w0,x0,w1,x1,w2)])"
)
# The floor of gradcalc's own dependencies: what any typer + rich CLI pays to start.
IMPORT_FLOOR = "import typer, rich.table"


def neuron_reference() -> tuple[float, dict[str, float]]:
    """f and ∂f/∂v of the neuron: σ(s) with s = w0 x0 + w1 x1 + w2, σ' = σ(1 − σ)."""
    v = NEURON_VALUES
    s = v["w0"] * v["x0"] + v["w1"] * v["x1"] + v["w2"]
    f = 1 / (1 + math.exp(-s))
    ds = f * (1 - f)
    grads = {"w0": v["x0"] * ds, "x0": v["w0"] * ds, "w1": v["x1"] * ds, "x1": v["w1"] * ds, "w2": ds}
    return f, grads


# ---------------------------------------------------------------------------
# Scale: sum of relu(w*c_i + b)*(w - d_i*x)^2 over i.
#
# Constants have three decimals, c_i in [0.1, 1.1] and d_i in [0.5, 1.5].  With
# w = 1.3 and b = -0.7 no relu sits at its kink (w*c_i + b = 0 needs
# c_i = 7/13) and a bit over half of them are active, so both branches are timed.

SCALE_VALUES = {"w": 1.3, "b": -0.7, "x": 0.6}
# gradcalc's tape holds w, b and x once, and 11 nodes per term (c, *, +, relu,
# d, *, -, 2, ^, *, and the + joining it to the sum); run.py checks this.
NODES_PER_TERM = 11
NODES_BASE = 2


@dataclass(frozen=True)
class ScaleWorkload:
    terms: int
    c: list[float]
    d: list[float]

    @property
    def nodes(self) -> int:
        """gradcalc tape nodes, by the count run.py verifies on small sizes."""
        return NODES_PER_TERM * self.terms + NODES_BASE

    def formula(self) -> str:
        return " + ".join(f"relu(w*{c!r} + b)*(w - {d!r}*x)^2" for c, d in zip(self.c, self.d, strict=True))

    def reference(self) -> tuple[float, dict[str, float]]:
        """f, ∂f/∂w, ∂f/∂b, ∂f/∂x in closed form (relu' = 1 where its input is > 0)."""
        w, b, x = SCALE_VALUES["w"], SCALE_VALUES["b"], SCALE_VALUES["x"]
        f = gw = gb = gx = 0.0
        for c, d in zip(self.c, self.d, strict=True):
            a = w * c + b
            s = w - d * x
            if a > 0:
                f += a * s * s
                gw += c * s * s + 2 * a * s
                gb += s * s
                gx += -2 * a * s * d
        return f, {"w": gw, "b": gb, "x": gx}


def scale_workload(terms: int, seed: int = 0) -> ScaleWorkload:
    rng = random.Random(seed)
    c, d = [], []
    for _ in range(terms):
        c.append(rng.randint(100, 1100) / 1000)
        d.append(rng.randint(500, 1500) / 1000)
    return ScaleWorkload(terms, c, d)


def terms_for_nodes(nodes: int) -> int:
    return max(1, round((nodes - NODES_BASE) / NODES_PER_TERM))


# ---------------------------------------------------------------------------
# SymPy check cost: sums of k sigmoid neurons over shared weights w0, w1, w2.

SYMPY_VALUES = {"w0": 0.5, "w1": -1.5, "w2": 0.25}


@dataclass(frozen=True)
class SympyWorkload:
    k: int
    a: list[float]
    c: list[float]

    def formula(self) -> str:
        return " + ".join(f"1/(1+exp(-(w0*{a!r} + w1*{c!r} + w2)))" for a, c in zip(self.a, self.c, strict=True))

    def reference(self) -> tuple[float, dict[str, float]]:
        v = SYMPY_VALUES
        f = g0 = g1 = g2 = 0.0
        for a, c in zip(self.a, self.c, strict=True):
            s = 1 / (1 + math.exp(-(v["w0"] * a + v["w1"] * c + v["w2"])))
            ds = s * (1 - s)
            f += s
            g0 += a * ds
            g1 += c * ds
            g2 += ds
        return f, {"w0": g0, "w1": g1, "w2": g2}


def sympy_workload(k: int, seed: int = 1) -> SympyWorkload:
    rng = random.Random(seed)
    a, c = [], []
    for _ in range(k):
        a.append(rng.randint(-1000, 1000) / 1000)
        c.append(rng.randint(-1000, 1000) / 1000)
    return SympyWorkload(k, a, c)


# ---------------------------------------------------------------------------


def rel_close(a: float, b: float, rtol: float = 1e-9) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)


def all_close(got: dict[str, float], want: dict[str, float], rtol: float = 1e-9) -> bool:
    return got.keys() == want.keys() and all(rel_close(float(got[k]), want[k], rtol) for k in want)
