"""A timeline chart as a self-contained SVG (no plotting dependency): ops/s per client over time
(solid), errors/s (dashed, same colour, right axis), shaded event window. Stdlib only."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple
from xml.sax.saxutils import escape

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
W, H, L, R, T, B = 900, 380, 70, 70, 40, 110


def timeline_svg(title: str, series: Dict[str, List[Tuple[float, float, float]]],
                 events: List[Tuple[str, float, Optional[float]]], ours: str = "slotwise") -> str:
    """series: label -> [(t seconds from start, ok/s, errors/s)]; events: (label, start, ok at)."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="60"><text x="10" y="30">{escape(title)}: no data</text></svg>'
    t_max = max(p[0] for p in pts) or 1.0
    ok_max = max(max(p[1] for p in pts), 1.0)
    err_max = max(max(p[2] for p in pts), 1.0)
    pw, ph = W - L - R, H - T - B

    def x(t: float) -> float:
        return L + pw * t / t_max

    def y(v: float, top: float) -> float:
        return T + ph - ph * v / top

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i, (what, e0, e1) in enumerate(events):
        out.append(f'<rect x="{x(e0):.1f}" y="{T}" width="{max(2.0, x(e1 if e1 else e0) - x(e0)):.1f}" height="{ph}" fill="#fde9c8"/>')
        out.append(f'<text x="{x(e0) + 3:.1f}" y="{T + 14 + 14 * (i % 2)}" fill="#a0622d">{escape(what)}</text>')
    for i in range(5):  # grid + axes labels
        v = ok_max * i / 4
        out.append(f'<line x1="{L}" x2="{L + pw}" y1="{y(v, ok_max):.1f}" y2="{y(v, ok_max):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{L - 6}" y="{y(v, ok_max) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
        out.append(f'<text x="{L + pw + 6}" y="{y(err_max * i / 4, err_max) + 4:.1f}" fill="#777">{err_max * i / 4:,.0f}</text>')
    for i in range(int(t_max) + 1):
        if i % max(1, int(t_max) // 10) == 0:
            out.append(f'<text x="{x(i):.1f}" y="{T + ph + 16}" text-anchor="middle">{i}s</text>')
    out.append(f'<line x1="{L}" x2="{L + pw}" y1="{T + ph}" y2="{T + ph}" stroke="#333"/>')
    out.append(f'<text x="14" y="{T + ph / 2}" transform="rotate(-90 14 {T + ph / 2})" text-anchor="middle">ok ops/s (solid)</text>')
    out.append(f'<text x="{W - 14}" y="{T + ph / 2}" transform="rotate(90 {W - 14} {T + ph / 2})" text-anchor="middle" fill="#777">errors/s (dashed)</text>')
    for i, (label, s) in enumerate(series.items()):
        c = COLOURS[i % len(COLOURS)]
        width = 2.5 if label.startswith(ours) else 1.4
        ok = " ".join(f"{x(t):.1f},{y(v, ok_max):.1f}" for t, v, _ in s)
        er = " ".join(f"{x(t):.1f},{y(e, err_max):.1f}" for t, _, e in s)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="{width}" points="{ok}"/>')
        if any(e for _, _, e in s):
            out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.2" stroke-dasharray="4 3" points="{er}"/>')
        lx, ly = L + (i % 4) * (pw / 4), T + ph + 36 + (i // 4) * 18
        out.append(f'<line x1="{lx:.1f}" x2="{lx + 18:.1f}" y1="{ly - 4}" y2="{ly - 4}" stroke="{c}" stroke-width="{width}"/>')
        out.append(f'<text x="{lx + 22:.1f}" y="{ly}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)
