"""Loss curves: a text chart for the terminal, and a PNG or an SVG written without a plotting library.

The PNG is drawn on a small pixel canvas (axes, ticks, a 5×7 pixel font for
the numbers and labels, the curve) and encoded with zlib; the SVG is the same
layout written as text.  So `--plot` works on a fresh install with no matplotlib.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from .escape import html
from .numbers import fmt

# A 5×7 pixel font: each glyph is 7 rows of 5 bits.
_FONT = {
    "0": (14, 17, 19, 21, 25, 17, 14), "1": (4, 12, 4, 4, 4, 4, 14), "2": (14, 17, 1, 2, 4, 8, 31),
    "3": (31, 2, 4, 2, 1, 17, 14), "4": (2, 6, 10, 18, 31, 2, 2), "5": (31, 16, 30, 1, 1, 17, 14),
    "6": (6, 8, 16, 30, 17, 17, 14), "7": (31, 1, 2, 4, 8, 8, 8), "8": (14, 17, 17, 14, 17, 17, 14),
    "9": (14, 17, 17, 15, 1, 2, 12), ".": (0, 0, 0, 0, 0, 12, 12), "-": (0, 0, 0, 31, 0, 0, 0),
    "+": (0, 4, 4, 31, 4, 4, 0), "e": (0, 0, 14, 17, 31, 16, 14), "p": (0, 0, 30, 17, 30, 16, 16),
    "o": (0, 0, 14, 17, 17, 17, 14), "c": (0, 0, 14, 16, 16, 17, 14), "h": (16, 16, 22, 25, 17, 17, 17),
    "l": (12, 4, 4, 4, 4, 4, 14), "s": (0, 0, 15, 16, 14, 1, 30), " ": (0, 0, 0, 0, 0, 0, 0),
    "t": (8, 8, 28, 8, 8, 9, 6),
    "g": (0, 15, 17, 17, 15, 1, 14), "(": (2, 4, 8, 8, 8, 4, 2), ")": (8, 4, 2, 2, 2, 4, 8),
}

WHITE = (255, 255, 255)
INK = (40, 40, 40)
GRID = (225, 225, 225)
CURVE = (200, 30, 30)


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(WHITE * (width * height))

    def dot(self, x: int, y: int, color: tuple[int, int, int], size: int = 1) -> None:
        for dx in range(size):
            for dy in range(size):
                px, py = x + dx, y + dy
                if 0 <= px < self.width and 0 <= py < self.height:
                    k = 3 * (py * self.width + px)
                    self.pixels[k : k + 3] = bytes(color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int], size: int = 1) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for k in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * k / steps), round(y0 + (y1 - y0) * k / steps), color, size)

    def text(self, x: int, y: int, text: str, color: tuple[int, int, int] = INK, scale: int = 2) -> None:
        for ch in text:
            rows = _FONT.get(ch, _FONT[" "])
            for r, bits in enumerate(rows):
                for c in range(5):
                    if bits & (1 << (4 - c)):
                        self.dot(x + c * scale, y + r * scale, color, scale)
            x += 6 * scale

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[3 * y * self.width : 3 * (y + 1) * self.width]) for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(
            b"IEND", b""
        )


def _text_width(text: str, scale: int = 2) -> int:
    return 6 * scale * len(text)


@dataclass(frozen=True)
class _Chart:
    """The loss chart laid out in pixels, for every picture format to draw alike."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    grid: list[tuple[int, str]]  # (y, label) of each horizontal grid line
    ticks: list[tuple[int, str]]  # (x, label) of each tick on the epoch axis
    unit: str
    ylabel: str
    points: list[tuple[int, int]]


def _layout(history: Sequence[float], width: int, height: int, unit: str) -> _Chart:
    """Where everything goes; a log scale when the loss spans more than two decades."""
    left, right, top, bottom = 110, width - 30, 44, height - 70
    values = [v for v in history if math.isfinite(v)]
    if not values:
        values = [0.0]
    use_log = min(values) > 0 and max(values) / min(values) > 100
    ys = [math.log10(v) for v in values] if use_log else list(values)
    lo, hi = min(ys), max(ys)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    n = len(values)

    def px(k: int) -> int:
        return left + round((right - left) * (k / max(1, n - 1)))

    def py(y: float) -> int:
        return bottom - round((bottom - top) * (y - lo) / (hi - lo))

    grid = []
    for t in range(5):
        y = lo + (hi - lo) * t / 4
        grid.append((py(y), fmt(10**y if use_log else y, 3)))
    ticks = [(px(k), str(k + 1)) for k in (round((n - 1) * t / 4) for t in range(5))]
    return _Chart(width, height, left, right, top, bottom, grid, ticks, unit,
                  "loss (log)" if use_log else "loss", [(px(k), py(y)) for k, y in enumerate(ys)])


def loss_png(history: Sequence[float], width: int = 720, height: int = 420, unit: str = "epoch") -> bytes:
    """A PNG of loss against epoch (or step), drawn pixel by pixel."""
    chart = _layout(history, width, height, unit)
    canvas = Canvas(width, height)
    left, right, bottom = chart.left, chart.right, chart.bottom
    for y, label in chart.grid:  # horizontal grid lines and their labels
        canvas.line(left, y, right, y, GRID)
        canvas.text(left - 10 - _text_width(label), y - 7, label)
    canvas.line(left, chart.top, left, bottom, INK, 2)
    canvas.line(left, bottom, right, bottom, INK, 2)
    for x, label in chart.ticks:  # epoch ticks
        canvas.line(x, bottom, x, bottom + 6, INK, 2)
        canvas.text(x - _text_width(label) // 2, bottom + 12, label)
    canvas.text((left + right) // 2 - _text_width(unit) // 2, height - 28, unit)
    canvas.text(10, 8, chart.ylabel)
    points = chart.points
    if len(points) == 1:
        canvas.dot(points[0][0] - 2, points[0][1] - 2, CURVE, 5)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        canvas.line(x0, y0, x1, y1, CURVE, 2)
    return canvas.png()


def _rgb(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def loss_svg(history: Sequence[float], width: int = 720, height: int = 420, unit: str = "epoch") -> str:
    """The same chart as :func:`loss_png`, as SVG text (every label escaped for XML)."""
    chart = _layout(history, width, height, unit)
    left, right, bottom = chart.left, chart.right, chart.bottom
    ink, grid, curve = _rgb(INK), _rgb(GRID), _rgb(CURVE)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="14" fill="{ink}">',
        f'<rect width="{width}" height="{height}" fill="{_rgb(WHITE)}"/>',
    ]
    for y, label in chart.grid:
        out.append(f'<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="{grid}"/>')
        out.append(f'<text x="{left - 10}" y="{y + 5}" text-anchor="end">{html(label)}</text>')
    out.append(f'<path d="M{left},{chart.top} V{bottom} H{right}" fill="none" stroke="{ink}" stroke-width="2"/>')
    for x, label in chart.ticks:
        out.append(f'<line x1="{x}" y1="{bottom}" x2="{x}" y2="{bottom + 6}" stroke="{ink}" stroke-width="2"/>')
        out.append(f'<text x="{x}" y="{bottom + 26}" text-anchor="middle">{html(label)}</text>')
    out.append(f'<text x="{(left + right) // 2}" y="{height - 14}" text-anchor="middle">{html(unit)}</text>')
    out.append(f'<text x="10" y="22">{html(chart.ylabel)}</text>')
    points = chart.points
    if len(points) == 1:
        out.append(f'<circle cx="{points[0][0]}" cy="{points[0][1]}" r="3" fill="{curve}"/>')
    else:
        path = " ".join(f"{x},{y}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{curve}" stroke-width="2" '
                   'stroke-linejoin="round"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# The picture formats of --plot, by the file name's suffix.
PLOT_SUFFIXES = {".png": "png", ".svg": "svg"}


def loss_picture(kind: str, history: Sequence[float], unit: str) -> bytes | str:
    """The loss curve in ``kind`` (a value of :data:`PLOT_SUFFIXES`)."""
    return loss_svg(history, unit=unit) if kind == "svg" else loss_png(history, unit=unit)


def loss_chart(history: Sequence[float], width: int = 60, height: int = 10, unit: str = "epoch") -> str:
    """The loss curve as text: one column per stretch of epochs, a block at its loss."""
    values = [v for v in history if math.isfinite(v)]
    if not values:
        return "(no finite loss to plot)"
    n = len(values)
    width = min(width, n)
    cols = [values[min(n - 1, round(c * (n - 1) / max(1, width - 1)))] for c in range(width)]
    use_log = min(cols) > 0 and max(cols) / min(cols) > 100
    ys = [math.log10(v) for v in cols] if use_log else cols
    lo, hi = min(ys), max(ys)
    span = hi - lo or 1.0
    rows = [[" "] * width for _ in range(height)]
    for c, y in enumerate(ys):
        r = height - 1 - round((height - 1) * (y - lo) / span)
        rows[r][c] = "•"
    top_label = fmt(10**hi if use_log else hi, 3)
    low_label = fmt(10**lo if use_log else lo, 3)
    pad = max(len(top_label), len(low_label))
    lines = []
    for r, row in enumerate(rows):
        label = top_label if r == 0 else (low_label if r == height - 1 else "")
        lines.append(f"{label:>{pad}} │{''.join(row)}")
    lines.append(f"{'':>{pad}} └{'─' * width}")
    first = f"{unit} 1"
    lines.append(f"{'':>{pad}}  {first}{' ' * max(1, width - len(first) - len(str(n)))}{n}"
                 + ("   (log scale)" if use_log else ""))
    return "\n".join(lines)
