"""Grading at scale: `gradcalc batch` against a process per job, a plain SymPy script, and the Python API.

    python bench/batch.py                    # several minutes: every section at its full size
    python bench/batch.py --quick            # a minute: small sizes, to see that it runs and is right
    python bench/batch.py --before /path/to/other/venv/bin/gradcalc   # start-up before/after

Sections (``--only checked,unchecked,memory,forks,startup`` picks some):

* checked — 200 neuron gradients with every check (forward mode, central
  differences, SymPy) and an answer each, through ``gradcalc batch`` vs 200
  ``gradcalc grad --json`` processes one after another vs one Python process that
  imports SymPy and differentiates the same expressions; target: batch >= 10x
  faster than the processes;
* unchecked — 2,000 of them without the SymPy check, the same three ways;
  target >= 100x;
* memory — ``gradcalc batch`` over 10^3 and 10^5 unchecked jobs (a tenth of them
  bad lines): peak memory of the largest process (``ru_maxrss``) and of the whole
  process tree (the sum of its processes' proportional set sizes, sampled);
  target: at 10^5 within 1.5x of 10^3;
* forks — what one SymPy check costs in a process that has not imported SymPy (the
  check's child imports it) and in one that has (``gradcalc.Session``: the child
  shares it);
* startup — one-shot ``gradcalc grad`` on the neuron with the SymPy check, this
  gradcalc vs the one given by ``--before`` (say, an install of the commit before
  the SymPy child was forked first thing), alternating rounds.

Every answer is checked against the neuron's closed form (rtol 1e-9).  Results
are printed as tables and saved as JSON (``--out``, by default
``bench/results/batch-<timestamp>.json``).  Exit code 0 when every answer is
right, 1 when one is wrong; targets missed are reported, not failed on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from measure import CHILD_ENV, Run, alternate, median, run
from run import PY, ROOT, _load, _source_hash, gradcalc_cmd, table, verdict
from workloads import NEURON

BENCH = Path(__file__).resolve().parent
NAMES = ("w0", "x0", "w1", "x1", "w2")
RTOL = 1e-9

CHECKED_TARGET = 10.0  # batch at least this many times faster than a process per job
UNCHECKED_TARGET = 100.0
MEMORY_TARGET = 1.5  # peak memory at 10^5 jobs within this factor of 10^3

# The plain SymPy script the jobs are compared with: the neuron built from sympy.Symbol objects for each
# job, its five derivatives taken and evaluated at the job's point, one JSON line a job.  SymPy's cache
# answers the same derivative again at once; with "fresh", the cache is cleared for each job, as each of
# gradcalc's checks starts from a child that has not seen the formula.
SYMPY_SCRIPT = """
import json, sys
import sympy as sp
names = ("w0", "x0", "w1", "x1", "w2")
w0, x0, w1, x1, w2 = symbols = [sp.Symbol(n, real=True) for n in names]
fresh = sys.argv[2:] == ["fresh"]
for line in open(sys.argv[1]):
    job = json.loads(line)
    if fresh:
        sp.core.cache.clear_cache()
    f = 1 / (1 + sp.exp(-(w0*x0 + w1*x1 + w2)))
    point = {s: sp.Float(job["values"][n], 30) for s, n in zip(symbols, names)}
    grads = {n: float(sp.diff(f, s).xreplace(point).evalf(30)) for s, n in zip(symbols, names)}
    print(json.dumps({"id": job["id"], "gradients": grads}))
"""

# One SymPy check in-process, cold (the check's child imports SymPy) or in a Session (it is imported once).
FORKS_SCRIPT = """
import json, sys, time
import gradcalc
n, warm = int(sys.argv[1]), sys.argv[2] == "warm"
f = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
point = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
session = gradcalc.Session()
began = time.perf_counter()
if warm:
    session.warm()
warmed = time.perf_counter()
times = []
for _ in range(n):
    t = time.perf_counter()
    r = session.gradient(f, point) if warm else gradcalc.gradient(f, point)
    times.append(time.perf_counter() - t)
    assert r.symbolic.state == "done", r.symbolic
print(json.dumps({"warm_up": warmed - began, "calls": times}))
"""


# ---------------------------------------------------------------------------
# The jobs and their answers


def neuron_jobs(count: int, checked: bool, seed: int = 6) -> list[dict[str, Any]]:
    """``count`` neuron jobs at seeded points (three decimals), each with its answer for ∂f/∂w0 to 4 digits."""
    rng = random.Random(seed)
    jobs = []
    for k in range(count):
        values = {n: round(rng.uniform(-2.0, 2.0), 3) for n in NAMES}
        _, grads = neuron_reference(values)
        job: dict[str, Any] = {"id": k, "formula": NEURON, "values": values,
                               "expect_grad": {"w0": float(f"{grads['w0']:.4g}")}}
        if not checked:
            job["symbolic"] = False
        jobs.append(job)
    return jobs


def neuron_reference(v: dict[str, float]) -> tuple[float, dict[str, float]]:
    """f and ∂f/∂v of σ(w0 x0 + w1 x1 + w2): σ' = σ(1 − σ) times the other factor."""
    s = v["w0"] * v["x0"] + v["w1"] * v["x1"] + v["w2"]
    f = 1 / (1 + math.exp(-s))
    ds = f * (1 - f)
    return f, {"w0": v["x0"] * ds, "x0": v["w0"] * ds, "w1": v["x1"] * ds, "x1": v["w1"] * ds, "w2": ds}


def memory_lines(count: int) -> list[str]:
    """``count`` unchecked jobs, brief, a tenth of them bad lines (not JSON, an unknown key, a syntax error)."""
    lines = []
    for k in range(count):
        if k % 10 == 3:
            lines.append("not json" if k % 30 == 3 else json.dumps({"id": k, "formula": "x*", "values": {"x": 1}})
                         if k % 30 == 13 else json.dumps({"id": k, "formula": "x", "expect_grd": 1}))
        else:
            lines.append(json.dumps({"id": k, "formula": "(x+y)*z", "values": {"x": k % 7, "y": 5, "z": -4},
                                     "symbolic": False, "brief": True}))
    return lines


def grad_arguments(job: dict[str, Any]) -> list[str]:
    """The job as a `gradcalc grad --json` command line, as a grader would run it without batch."""
    args = ["grad", "--json", job["formula"], *[f"{n}={v!r}" for n, v in job["values"].items()]]
    args += [f"--expect-grad={n}={v!r}" for n, v in job.get("expect_grad", {}).items()]
    if job.get("symbolic") is False:
        args.append("--no-symbolic")
    return args


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)
        print(f"  WRONG: {message}", flush=True)


def check_answers(what: str, jobs: list[dict[str, Any]], docs: list[dict[str, Any]], problems: Problems,
                  sympy: bool) -> None:
    """Every job answered, in order, with the closed form's gradients, its answer right, SymPy done if asked."""
    if [d.get("id") for d in docs] != [j["id"] for j in jobs]:
        problems.add(f"{what}: the results are not the jobs, in order")
        return
    for job, doc in zip(jobs, docs, strict=True):
        _, want = neuron_reference(job["values"])
        got = doc.get("gradients") or {}
        if not all(math.isclose(got.get(n, math.nan), want[n], rel_tol=RTOL, abs_tol=1e-15) for n in NAMES):
            problems.add(f"{what}: job {job['id']}: {got} != closed form {want}")
            return
        if "answers_right" in doc and doc["answers_right"] != 1:
            problems.add(f"{what}: job {job['id']}: its answer was judged wrong")
            return
        if sympy and doc["checks"]["sympy"]["state"] != "done":
            problems.add(f"{what}: job {job['id']}: SymPy check {doc['checks']['sympy']}")
            return


def write_jobs(path: Path, items: list[Any]) -> Path:
    path.write_text("".join((i if isinstance(i, str) else json.dumps(i)) + "\n" for i in items), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# The three ways


def via_batch(jobs_file: Path, workers: int) -> tuple[Run, list[dict[str, Any]]]:
    r = run([*gradcalc_cmd(), "batch", "--jobs", str(workers), str(jobs_file)])
    return r, [json.loads(line) for line in r.stdout.splitlines()]


def via_processes(jobs: list[dict[str, Any]]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Each job as its own `gradcalc grad --json` process, one after another (a grader's loop)."""
    wall = cpu = 0.0
    peak = 0.0
    docs = []
    for job in jobs:
        r = run([*gradcalc_cmd(), *grad_arguments(job)])
        wall += r.seconds
        cpu += r.cpu_seconds
        peak = max(peak, r.peak_mb)
        doc = json.loads(r.stdout) if r.stdout.strip() else {}
        docs.append({"id": job["id"], **doc})
    return {"seconds": wall, "cpu_seconds": cpu, "peak_mb": peak}, docs


def via_sympy(jobs_file: Path, fresh: bool = False) -> tuple[Run, list[dict[str, Any]]]:
    r = run([PY, "-c", SYMPY_SCRIPT, str(jobs_file), *(["fresh"] if fresh else [])])
    return r, [json.loads(line) for line in r.stdout.splitlines()]


def three_ways(name: str, count: int, checked: bool, workers: int, work: Path, problems: Problems,
               target: float) -> dict[str, Any]:
    jobs = neuron_jobs(count, checked)
    path = write_jobs(work / f"{name}.jsonl", jobs)
    print(f"{name}: {count} jobs through batch ...", flush=True)
    b, docs = via_batch(path, workers)
    if b.returncode != 0:
        problems.add(f"{name}: batch exit {b.returncode}: {b.stderr.strip()[:300]}")
    check_answers(f"{name} batch", jobs, docs, problems, checked)
    print(f"{name}: {count} separate gradcalc grad processes ...", flush=True)
    p, pdocs = via_processes(jobs)
    check_answers(f"{name} processes", jobs, pdocs, problems, checked)
    print(f"{name}: the SymPy script ...", flush=True)
    s, sdocs = via_sympy(path)
    if s.returncode != 0:
        problems.add(f"{name}: SymPy script exit {s.returncode}: {s.stderr.strip()[-300:]}")
    check_answers(f"{name} SymPy script", jobs, sdocs, problems, False)
    f, fdocs = via_sympy(path, fresh=True)
    check_answers(f"{name} SymPy script, fresh cache", jobs, fdocs, problems, False)
    ratio = p["seconds"] / b.seconds
    row = {
        "jobs": count, "workers": workers, "sympy_check": checked,
        "batch": {"seconds": b.seconds, "cpu_seconds": b.cpu_seconds, "peak_mb": b.peak_mb},
        "processes": p,
        "sympy_script": {"seconds": s.seconds, "cpu_seconds": s.cpu_seconds, "peak_mb": s.peak_mb},
        "sympy_script_fresh_cache": {"seconds": f.seconds, "cpu_seconds": f.cpu_seconds, "peak_mb": f.peak_mb},
        "processes_over_batch": ratio,
        "sympy_script_over_batch": s.seconds / b.seconds,
        "target": target, "pass": ratio >= target,
    }
    table(f"{name}: {count} neuron jobs{' with the SymPy check' if checked else ', no SymPy check'} "
          f"(batch --jobs {workers})", ["way", "wall s", "cpu s", "ms/job", "batch faster by"], [
        ["gradcalc batch", f"{b.seconds:.2f}", f"{b.cpu_seconds:.2f}", f"{1000 * b.seconds / count:.1f}", ""],
        ["gradcalc grad processes", f"{p['seconds']:.2f}", f"{p['cpu_seconds']:.2f}",
         f"{1000 * p['seconds'] / count:.1f}", f"{ratio:.1f}x"],
        ["plain SymPy script", f"{s.seconds:.2f}", f"{s.cpu_seconds:.2f}", f"{1000 * s.seconds / count:.1f}",
         f"{s.seconds / b.seconds:.1f}x"],
        ["  the same, SymPy's cache cleared a job", f"{f.seconds:.2f}", f"{f.cpu_seconds:.2f}",
         f"{1000 * f.seconds / count:.1f}", f"{f.seconds / b.seconds:.1f}x"],
    ])  # fmt: skip
    return row


# ---------------------------------------------------------------------------
# Memory: the largest process and the whole tree


def tree_peak(cmd: list[str]) -> tuple[float, float, float, int]:
    """Run ``cmd`` in its own process group: wall seconds, the largest process's peak RSS (MB, from wait4), the
    peak of the group's summed proportional set size (MB, sampled every 50 ms), and the exit code."""
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                env=CHILD_ENV, start_new_session=True)
        peak = [0.0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.05):
                peak[0] = max(peak[0], _group_pss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        stop.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        with _suppress():
            os.killpg(proc.pid, signal.SIGKILL)  # nothing should be left; if something is, it goes
    unit = 1 if sys.platform == "darwin" else 1024
    return seconds, usage.ru_maxrss * unit / 1e6, peak[0], proc.returncode


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)  # type: ignore[arg-type]


def _group_pss(pgrp: int) -> float:
    """The summed proportional set size (MB) of the live processes of a process group (RSS where PSS is not known)."""
    total = 0.0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgrp:
                continue
            try:
                rollup = Path(f"/proc/{entry}/smaps_rollup").read_text()
                kb = next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
            except (OSError, StopIteration):
                kb = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
            total += kb * 1024 / 1e6
        except (OSError, IndexError, ValueError):
            continue
    return total


def memory(sizes: list[int], workers: int, work: Path, problems: Problems) -> dict[str, Any]:
    rows = []
    for n in sizes:
        path = write_jobs(work / f"memory-{n}.jsonl", memory_lines(n))
        print(f"memory: {n:,} jobs ...", flush=True)
        out = work / f"memory-{n}.out"
        seconds, largest, tree, code = tree_peak([*gradcalc_cmd(), "batch", "--jobs", str(workers), str(path),
                                                  "-o", str(out)])
        results = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
        if code != 2 or len(results) != n:  # a tenth are bad lines: exit 2, and every line answered
            problems.add(f"memory {n}: exit {code}, {len(results)} results for {n} jobs")
        else:
            last = json.loads(results[-1])
            if last["line"] != n:
                problems.add(f"memory {n}: the last result is of line {last['line']}")
        rows.append({"jobs": n, "seconds": seconds, "largest_process_mb": largest, "tree_mb": tree})
    first, last = rows[0], rows[-1]
    ratio = last["tree_mb"] / first["tree_mb"] if first["tree_mb"] else math.nan
    largest_ratio = last["largest_process_mb"] / first["largest_process_mb"]
    table(f"memory: gradcalc batch --jobs {workers}, unchecked jobs, a tenth bad lines",
          ["jobs", "wall s", "µs/job", "largest process MB (ru_maxrss)", "process tree MB (peak summed PSS)"],
          [[f"{r['jobs']:,}", f"{r['seconds']:.2f}", f"{1e6 * r['seconds'] / r['jobs']:.0f}",
            f"{r['largest_process_mb']:.1f}", f"{r['tree_mb']:.1f}"] for r in rows])  # fmt: skip
    return {"rows": rows, "tree_ratio": ratio, "largest_ratio": largest_ratio, "target": MEMORY_TARGET,
            "pass": max(ratio, largest_ratio) <= MEMORY_TARGET}


# ---------------------------------------------------------------------------
# Forks: one SymPy check cold and warm


def forks(calls: int, problems: Problems) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for mode in ("cold", "warm"):
        r = run([PY, "-c", FORKS_SCRIPT, str(calls), mode])
        if r.returncode != 0:
            problems.add(f"forks {mode}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
            return {}
        doc = json.loads(r.stdout)
        found[mode] = {"warm_up_seconds": doc["warm_up"], "median_call_ms": 1000 * median(doc["calls"]),
                       "calls": doc["calls"]}
    table(f"forks: gradient() with the SymPy check, {calls} calls in one process",
          ["process", "warm-up s", "median call ms"],
          [["SymPy not imported (each check's child imports it)", "", f"{found['cold']['median_call_ms']:.1f}"],
           ["gradcalc.Session (imported once; the child shares it)", f"{found['warm']['warm_up_seconds']:.2f}",
            f"{found['warm']['median_call_ms']:.1f}"]])  # fmt: skip
    return found


# ---------------------------------------------------------------------------
# Start-up of the one-shot command


def startup(rounds: int, before: str | None, problems: Problems) -> dict[str, Any]:
    point = [f"{n}={v}" for n, v in {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}.items()]
    commands = {"after": [*gradcalc_cmd(), "grad", NEURON, *point]}
    if before:
        commands["before"] = [before, "grad", NEURON, *point]
    for name, cmd in commands.items():
        r = run([*cmd, "--json"])
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        if doc.get("checks", {}).get("sympy", {}).get("state") != "done":
            problems.add(f"startup {name}: {r.returncode} {r.stderr.strip()[:200]}")
    runs = alternate(commands, rounds) if len(commands) > 1 else {"after": [run(commands["after"])
                                                                             for _ in range(rounds)]}
    found = {name: {"median_seconds": median([r.seconds for r in rs]),
                    "median_cpu_seconds": median([r.cpu_seconds for r in rs]),
                    "samples": [r.seconds for r in rs]} for name, rs in runs.items()}  # fmt: skip
    rows = [[name, f"{v['median_seconds']:.3f}", f"{v['median_cpu_seconds']:.3f}", " ".join(commands[name][:1])]
            for name, v in found.items()]
    table(f"startup: gradcalc grad on the neuron with the SymPy check, median of {rounds} alternating rounds",
          ["gradcalc", "wall s", "cpu s", "command"], rows)
    if "before" in found:
        found["saved_seconds"] = found["before"]["median_seconds"] - found["after"]["median_seconds"]
    else:
        print("  (no --before gradcalc given: only this one measured)")
    return found


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark gradcalc batch.", prog="python bench/batch.py")
    p.add_argument("--quick", action="store_true", help="small sizes: to see that it runs and is right")
    p.add_argument("--only", default="checked,unchecked,memory,forks,startup", help="sections, comma-separated")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="batch's workers (default: the cores)")
    p.add_argument("--before", help="another gradcalc script, for the startup section's before/after")
    p.add_argument("--rounds", type=int, help="startup rounds (default 15, --quick 3)")
    p.add_argument("--out", type=Path, help="where to save the JSON (default bench/results/batch-<timestamp>.json)")
    args = p.parse_args(argv)
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - {"checked", "unchecked", "memory", "forks", "startup"}
    if unknown:
        p.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    quick = args.quick
    problems = Problems()
    out: dict[str, Any] = {"meta": {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "mode": "quick" if quick else "full",
        "cpus": os.cpu_count(), "workers": args.jobs, "gradcalc_source_sha256": _source_hash(),
        "load_average_at_start": _load(), "gradcalc": " ".join(gradcalc_cmd()), "before": args.before,
    }}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "checked" in sections:
            out["checked"] = three_ways("checked", 10 if quick else 200, True, args.jobs, work, problems,
                                        CHECKED_TARGET)
        if "unchecked" in sections:
            out["unchecked"] = three_ways("unchecked", 50 if quick else 2000, False, args.jobs, work, problems,
                                          UNCHECKED_TARGET)
        if "memory" in sections:
            out["memory"] = memory([100, 1000] if quick else [1000, 100_000], args.jobs, work, problems)
        if "forks" in sections:
            out["forks"] = forks(5 if quick else 20, problems)
        if "startup" in sections:
            out["startup"] = startup(args.rounds or (3 if quick else 15), args.before, problems)
    out["meta"]["load_average_at_end"] = _load()
    out["problems"] = problems.items
    targets = []
    for key, label in (("checked", "checked: processes / batch"), ("unchecked", "unchecked: processes / batch")):
        if key in out:
            targets.append([label, f"{out[key]['processes_over_batch']:.1f}x", f">= {out[key]['target']:g}x",
                            verdict(out[key]["pass"])])
    if "memory" in out:
        m = out["memory"]
        targets.append(["memory: largest 10^5 / 10^3 jobs" if not quick else "memory: largest 10^3 / 10^2",
                        f"{m['largest_ratio']:.2f}x", f"<= {MEMORY_TARGET:g}x", verdict(m["largest_ratio"] <= 1.5)])
        targets.append(["memory: tree 10^5 / 10^3 jobs" if not quick else "memory: tree 10^3 / 10^2",
                        f"{m['tree_ratio']:.2f}x", f"<= {MEMORY_TARGET:g}x", verdict(m["tree_ratio"] <= 1.5)])
    if targets:
        table("Targets", ["target", "measured", "limit", ""], targets)
    path = args.out or BENCH / "results" / f"batch-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"\nsaved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print("answers: " + ("all right" if not problems.items else f"{len(problems.items)} WRONG"))
    return 1 if problems.items else 0


if __name__ == "__main__":
    sys.exit(main())
