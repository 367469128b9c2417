"""Build and backpropagate the scale formula in-process with PyTorch or micrograd.

    python bench/worker.py torch|micrograd TERMS REPEATS

Runs in its own process (one per size) so that each peak memory is its own.
Times only building the scalar graph and ``.backward()``, after the import,
the median of REPEATS builds; prints one JSON object on stdout.
"""

from __future__ import annotations

import importlib
import json
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from workloads import SCALE_VALUES, ScaleWorkload, scale_workload

_RSS_UNIT = 1 if sys.platform == "darwin" else 1024


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RSS_UNIT / 1e6


def torch_build(work: ScaleWorkload) -> Callable[[], tuple[float, dict[str, float]]]:
    warnings.filterwarnings("ignore")  # torch warns when NumPy is absent; it is not needed here
    torch: Any = importlib.import_module("torch")  # Any: mypy need not know torch

    def once() -> tuple[float, dict[str, float]]:
        w, b, x = (torch.tensor(SCALE_VALUES[n], dtype=torch.float64, requires_grad=True) for n in ("w", "b", "x"))
        total = None
        for c, d in zip(work.c, work.d, strict=True):
            term = torch.relu(w * c + b) * (w - d * x) ** 2
            total = term if total is None else total + term
        assert total is not None
        total.backward()
        return total.item(), {"w": w.grad.item(), "b": b.grad.item(), "x": x.grad.item()}

    return once


def micrograd_build(work: ScaleWorkload) -> Callable[[], tuple[float, dict[str, float]]]:
    Value: Any = importlib.import_module("micrograd.engine").Value

    # micrograd's backward() sorts the graph with a recursive build_topo, as deep
    # as the chain of sums; Python 3.11+ keeps such recursion off the C stack.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 40 * work.terms + 10_000))

    def once() -> tuple[float, dict[str, float]]:
        w, b, x = (Value(SCALE_VALUES[n]) for n in ("w", "b", "x"))
        total = None
        for c, d in zip(work.c, work.d, strict=True):
            term = (w * c + b).relu() * (w - d * x) ** 2
            total = term if total is None else total + term
        assert total is not None
        total.backward()
        return float(total.data), {"w": float(w.grad), "b": float(b.grad), "x": float(x.grad)}

    return once


BUILDERS = {"torch": torch_build, "micrograd": micrograd_build}


def main(argv: list[str]) -> int:
    engine, terms, repeats = argv[0], int(argv[1]), int(argv[2])
    work = scale_workload(terms)
    report: dict[str, Any] = {"engine": engine, "terms": terms}
    try:
        once = BUILDERS[engine](work)
    except ImportError as exc:
        report["error"] = f"not installed ({exc})"
        print(json.dumps(report))
        return 0
    report["rss_after_import_mb"] = _rss_mb()
    samples, cpu = [], []
    try:
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            value, grads = once()
            samples.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    except RecursionError:
        report["error"] = "RecursionError in backward()"
    except MemoryError:
        report["error"] = "MemoryError"
    if samples:
        report.update(
            seconds=statistics.median(samples),
            samples=samples,
            cpu_seconds=statistics.median(cpu),
            value=value,
            gradients=grads,
        )
    report["rss_peak_mb"] = _rss_mb()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
