"""Where gradcalc's time goes on the scale formula, phase by phase, in-process and without a profiler.

    python bench/phases.py                          # 100,000 nodes
    python bench/phases.py 10000 1e6                # other sizes
    python bench/phases.py --formula 1e5 > f.txt    # just print the formula, to profile the CLI on

Times gradcalc's public steps one after another on the same formula as
``run.py``'s scale section: parse, build the tape, a forward pass, a reverse
pass, ``gradient()`` with every check but SymPy's (it builds the tape again),
and rendering the brief JSON.  The sum is close to the end-to-end time less
the start-up (imports) of the process.  The cyclic garbage collector is off,
as in the ``gradcalc`` command (``--gc`` turns it on).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import Any

from workloads import SCALE_VALUES, scale_workload, terms_for_nodes

import gradcalc


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def phases(nodes: int) -> list[tuple[str, float]]:
    text = scale_workload(terms_for_nodes(nodes)).formula()
    values = dict(SCALE_VALUES)
    rows: list[tuple[str, float]] = []
    t, program = timed(lambda: gradcalc.parse_program(text))
    rows.append(("parse_program (tokenize + parse)", t))
    t, tape = timed(lambda: gradcalc.build(program))
    rows.append(("build (tape from the postfix code)", t))
    t, vals = timed(lambda: gradcalc.forward(tape, values))
    rows.append(("forward pass (on a large tape, the first also imports NumPy and builds the level schedule)", t))
    t, _ = timed(lambda: gradcalc.backward(tape, vals))
    rows.append(("backward pass", t))
    t, result = timed(lambda: gradcalc.gradient(program, values, symbolic=False))
    rows.append(("gradient(program, symbolic=False): build + passes + checks", t))
    try:
        from gradcalc.render.jsondoc import dumps, result_doc
    except ImportError:  # pragma: no cover - the renderer moved
        return rows
    t, _ = timed(lambda: dumps(result_doc(result, brief=True)))
    rows.append(("brief JSON document", t))
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["--formula"]:
        for arg in argv[1:] or ["100000"]:
            print(scale_workload(terms_for_nodes(int(float(arg)))).formula())
        return 0
    if argv[:1] == ["--gc"]:
        argv = argv[1:]
    else:
        gc.disable()
    for arg in argv or ["100000"]:
        nodes = int(float(arg))
        rows = phases(nodes)
        print(f"\n{scale_workload(terms_for_nodes(nodes)).nodes:,} nodes")
        width = max(len(name) for name, _ in rows)
        for name, seconds in rows:
            print(f"  {name.ljust(width)}  {seconds:8.3f} s  {seconds / nodes * 1e6:7.2f} µs/node")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
