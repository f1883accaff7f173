"""The capability radar as server-rendered SVG (no JavaScript library): one axis per competency, 0–100 %."""

import math
from xml.sax.saxutils import escape

SIZE = 320
CENTRE = SIZE / 2
RADIUS = 110


def _point(i: int, n: int, value: float) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * i / n
    r = RADIUS * max(0.0, min(100.0, value)) / 100
    return round(CENTRE + r * math.cos(angle), 1), round(CENTRE + r * math.sin(angle), 1)


def radar_svg(scores, *, title: str) -> str:
    """`scores`: objects with `label` and `percent`. Fewer than three axes still draw (a line or a dot)."""
    n = max(len(scores), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" height="{SIZE}" '
             f'role="img" aria-label="{escape(title, {chr(34): "&quot;"})}" data-testid="capability-radar">',
             f"<title>{escape(title)}</title>"]
    for ring in (25, 50, 75, 100):
        points = " ".join(f"{x},{y}" for x, y in (_point(i, n, ring) for i in range(n)))
        parts.append(f'<polygon points="{points}" fill="none" stroke="#ddd" stroke-width="1"/>')
    for i, score in enumerate(scores):
        x, y = _point(i, n, 100)
        parts.append(f'<line x1="{CENTRE}" y1="{CENTRE}" x2="{x}" y2="{y}" stroke="#ccc" stroke-width="1"/>')
        lx, ly = _point(i, n, 118)
        anchor = "middle" if abs(lx - CENTRE) < 10 else ("start" if lx > CENTRE else "end")
        parts.append(f'<text x="{lx}" y="{ly}" font-size="11" text-anchor="{anchor}" class="radar-label">'
                     f"{escape(score.label)} {score.percent:g}%</text>")
    if scores:
        points = " ".join(f"{x},{y}" for x, y in (_point(i, n, s.percent) for i, s in enumerate(scores)))
        parts.append(f'<polygon points="{points}" fill="rgba(7,193,96,0.25)" stroke="#07c160" stroke-width="2" '
                     f'data-testid="radar-area"/>')
    parts.append("</svg>")
    return "".join(parts)
