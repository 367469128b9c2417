"""Loss curves: the text chart (golden) and the PNG (a valid file that decodes to the drawn pixels)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from conftest import SAMPLES, cli

from gradcalc.render.plot import CURVE, WHITE, loss_chart, loss_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) chunks of a PNG, each CRC checked."""
    assert png[:8] == PNG_SIGNATURE
    out = []
    pos = 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        out.append((kind, data))
        pos += 12 + length
    assert pos == len(png)
    return out


def decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB PNG with filter 0 on every row."""
    parts = chunks(png)
    kinds = [k for k, _ in parts]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", parts[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(d for k, d in parts if k == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == height * stride
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0  # filter type "none"
        rows.append(line[1:])
    return width, height, rows


def pixel(rows: list[bytes], x: int, y: int) -> tuple[int, int, int]:
    r, g, b = rows[y][3 * x : 3 * x + 3]
    return (r, g, b)


def curve_pixels(rows: list[bytes], width: int) -> list[tuple[int, int]]:
    return [(x, y) for y in range(len(rows)) for x in range(width) if pixel(rows, x, y) == CURVE]


# ---------------------------------------------------------------------------
# PNG


def test_png_header_and_pixels() -> None:
    png = loss_png([8.0, 4.0, 2.0, 1.0])
    width, height, rows = decode(png)
    assert (width, height) == (720, 420)
    assert pixel(rows, 0, height - 1) == WHITE  # the background
    red = curve_pixels(rows, width)
    assert red
    # A falling curve: starts at the top left of the plot area, ends at the bottom right.
    first_x = min(x for x, _ in red)
    last_x = max(x for x, _ in red)
    assert first_x < 120 and last_x > 680
    y_at_first = min(y for x, y in red if x == first_x)
    y_at_last = max(y for x, y in red if x == last_x)
    assert y_at_first < y_at_last


def test_png_of_another_size() -> None:
    width, height, _ = decode(loss_png([3.0, 2.0], width=400, height=300))
    assert (width, height) == (400, 300)


def test_png_edge_cases_still_decode() -> None:
    for history in ([1.0], [2.0, 2.0, 2.0], [float("nan"), float("inf")], [], [1e6, 1e-6]):
        width, height, rows = decode(loss_png(history))
        assert (width, height) == (720, 420)
    _, _, rows = decode(loss_png([5.0]))
    assert curve_pixels(rows, 720)  # a single epoch is a dot


def test_plot_option_writes_the_png(tmp_path: Path) -> None:
    out = tmp_path / "xor-loss.png"
    run = cli("descend", "--file", str(SAMPLES / "xor.grad"), "--data", str(SAMPLES / "xor.csv"),
              "--lr", "2", "--epochs", "50", "--plot", str(out))  # fmt: skip
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == f"loss curve written to {out}"
    width, height, rows = decode(out.read_bytes())
    assert (width, height) == (720, 420)
    assert curve_pixels(rows, width)


def test_plot_option_with_json(tmp_path: Path) -> None:
    out = tmp_path / "bowl.png"
    run = cli("descend", "(x-3)^2", "x=0", "--steps", "5", "--plot", str(out), "--json")
    assert run.exit_code == 0
    assert run.json()["iterations"] == 5
    assert out.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_to_a_place_that_cannot_be_written(tmp_path: Path) -> None:
    run = cli("descend", "(x-3)^2", "x=0", "--steps", "5", "--plot", str(tmp_path / "no" / "such" / "dir.png"))
    assert run.exit_code == 4  # the output could not be written
    assert run.stderr.startswith(f"error: could not write {tmp_path}/no/such/dir.png: the directory ")
    assert "does not exist" in run.stderr


# ---------------------------------------------------------------------------
# Text chart


def test_chart_golden_linear_scale() -> None:
    # Values 4, 3, 2, 1 on 4 rows: one column each, one row lower each step.
    assert loss_chart([4.0, 3.0, 2.0, 1.0], height=4) == "\n".join(
        [
            "4 │•   ",
            "  │ •  ",
            "  │  • ",
            "1 │   •",
            "  └────",
            "   epoch 1 4",
        ]
    )


def test_chart_golden_log_scale_and_unit() -> None:
    # 1000, 100, 10, 1 span three decades: a log scale, evenly spaced rows.
    assert loss_chart([1000.0, 100.0, 10.0, 1.0], height=4, unit="step") == "\n".join(
        [
            "1000 │•   ",
            "     │ •  ",
            "     │  • ",
            "   1 │   •",
            "     └────",
            "      step 1 4   (log scale)",
        ]
    )


def test_chart_shape_for_a_long_history() -> None:
    history = [1.0 / (k + 1) for k in range(500)]
    lines = loss_chart(history).splitlines()
    assert len(lines) == 10 + 2  # height rows, the axis, the epoch line
    bars = [line.split("│", 1)[1] for line in lines[:10]]
    assert all(len(b) == 60 for b in bars)  # at most 60 columns
    for c in range(60):  # exactly one dot in each column
        assert sum(b[c] == "•" for b in bars) == 1
    assert bars[0][0] == "•" and bars[-1][-1] == "•"  # from the top left to the bottom right
    assert lines[0].startswith("    1 │") and lines[9].startswith("0.002 │")  # labels right-aligned
    assert lines[-1].strip() == "epoch 1" + " " * 50 + "500   (log scale)"  # 500 under the last column


def test_chart_skips_non_finite_values() -> None:
    assert loss_chart([float("nan"), float("inf")]) == "(no finite loss to plot)"
    assert loss_chart([2.0, float("nan"), 1.0], height=2) == "\n".join(["2 │• ", "1 │ •", "  └──", "   epoch 1 2"])


def test_chart_of_a_flat_history() -> None:
    lines = loss_chart([3.0, 3.0, 3.0], height=3).splitlines()
    assert lines[-3] == "3 │•••"  # all on the bottom row (top and bottom labels are both 3)
