"""Training cases of `gradcalc descend` (issue 8): XOR and a 10,000-row linear regression.

Each batch is one vectorized pass over the tape, so time grows with the number
of iterations, not with the rows in a batch; the cases show both.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from measure import run

ROOT = Path(__file__).resolve().parent.parent


def _linear_csv(path: Path, rows: int) -> None:
    lines = ["x,y"]
    for k in range(rows):
        x = -1.0 + 2.0 * k / (rows - 1)
        lines.append(f"{x!r},{2 * x + 1!r}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def training(gradcalc: list[str], quick: bool, problems: Any) -> dict[str, Any]:
    """Run the two cases; wrong answers are added to ``problems``."""
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "linear.csv"
        n = 1_000 if quick else 10_000
        _linear_csv(data, n)
        cases = [
            (
                "XOR, 2-2-1 sigmoid network, full batch",
                [*gradcalc, "descend", "--file", str(ROOT / "samples" / "xor.grad"),
                 "--data", str(ROOT / "samples" / "xor.csv"), "--lr", "2", "--epochs", "200" if quick else "2000",
                 "--json"],
                lambda d: quick or d["loss"] < 0.05,
            ),
            (
                f"linear regression, {n:,} rows, batch 100",
                [*gradcalc, "descend", "(w*x + b - y)^2", "w=0", "b=0", "--data", str(data), "--lr", "0.5",
                 "--batch-size", "100", "--epochs", "10" if quick else "20", "--json"],
                lambda d: abs(d["params"]["w"] - 2) < 1e-3 and abs(d["params"]["b"] - 1) < 1e-3,
            ),
        ]
        for name, cmd, right in cases:
            r = run(cmd, timeout=600)
            row: dict[str, Any] = {"case": name, "seconds": r.seconds, "peak_mb": r.peak_mb, "exit": r.returncode}
            try:
                doc = json.loads(r.stdout)
                row.update(iterations=doc["iterations"], epochs=doc["epochs"], loss=doc["loss"])
                if not right(doc):
                    problems.add(f"training {name}: did not learn ({doc['params']}, loss {doc['loss']})")
            except (ValueError, KeyError):
                problems.add(f"training {name}: no result (exit {r.returncode}): {r.stderr.strip()[:200]}")
            rows_out.append(row)
    print("\nTraining (gradcalc descend):")
    for row in rows_out:
        its = row.get("iterations", 0)
        per = f"{1000 * row['seconds'] / its:.2f} ms/iteration" if its else "—"
        print(f"  {row['case']}: {row['seconds']:.2f} s, {its} iterations ({per}), "
              f"final loss {row.get('loss', float('nan')):.3g}, peak {row['peak_mb']:.0f} MB")
    return {"rows": rows_out}
