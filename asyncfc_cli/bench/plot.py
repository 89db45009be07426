"""Gantt charts of benchmark runs as SVG, written by hand (no plotting library).

Each run is one panel: the model lane (every request: time to first token light, decoding dark,
and a cyan strip while an await_future blocks)
and tool lanes below it (a future waiting for its dependencies or for program order as an outline,
running as a filled bar, coloured by tool and labelled with its id and tool). Panels are stacked
on one shared time axis, so sync and async of the same scenario compare at a glance. The timeline
comes from ``timeline_state.TimelineState``, the pure fold of the event stream the TUI draws too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from ..futures import AWAIT_FUTURE
from ..timeline_state import FutureLane, TimelineState
from .runner import CaseResult

__all__ = ["Panel", "gantt_svg", "panel_for", "write_plot"]

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#bab0ac")
_WIDTH, _LEFT, _RIGHT, _LANE, _GAP = 960, 110, 20, 18, 4
_MODEL_FILL, _TTFT_FILL, _AWAIT_FILL = "#3b3b58", "#c9c9dc", "#17becf"


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    state: TimelineState
    bound_s: float | None = None
    """Drawn as a dashed line: the critical-path limit."""


def panel_for(case: CaseResult) -> Panel:
    state = TimelineState().apply_all(case.events)
    title = f"{case.mode}: {case.wall_s:.2f} s, {case.turns} requests"
    return Panel(title, state, case.bound_s if case.mode == "async" else None)


def _pack(lanes: Sequence[FutureLane]) -> list[list[FutureLane]]:
    """First-fit rows so futures that do not overlap in time share a row."""
    rows: list[list[FutureLane]] = []
    for lane in sorted(lanes, key=lambda f: (f.created, int(f.id[1:]))):
        end_of = lambda f: f.finished if f.finished is not None else f.created  # noqa: E731
        row = next((r for r in rows if end_of(r[-1]) <= lane.created + 1e-9), None)
        if row is None:
            rows.append([lane])
        else:
            row.append(lane)
    return rows


def _colour(tool: str, colours: dict[str, str]) -> str:
    if tool not in colours:
        colours[tool] = _PALETTE[len(colours) % len(_PALETTE)]
    return colours[tool]


class _Canvas:
    def __init__(self, end_s: float) -> None:
        self.parts: list[str] = []
        self.scale = (_WIDTH - _LEFT - _RIGHT) / max(end_s, 1e-9)
        self.end_s = end_s

    def x(self, t: float) -> float:
        return _LEFT + t * self.scale

    def rect(self, t0: float, t1: float, y: float, h: float, fill: str, title: str = "", outline: bool = False) -> None:
        width = max(1.0, (t1 - t0) * self.scale)
        style = f'fill="none" stroke="{fill}" stroke-dasharray="3,2"' if outline else f'fill="{fill}"'
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(f'<rect x="{self.x(t0):.1f}" y="{y:.1f}" width="{width:.1f}" height="{h}" {style}>{tip}</rect>')

    def text(self, x: float, y: float, s: str, size: int = 11, anchor: str = "start", fill: str = "#222") -> None:
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">{escape(s)}</text>')

    def line(self, x0: float, y0: float, x1: float, y1: float, stroke: str = "#999", dash: str = "") -> None:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{stroke}"{extra}/>')


def _draw_panel(c: _Canvas, panel: Panel, y: float, colours: dict[str, str]) -> float:
    c.text(8, y + 12, panel.title, size=13)
    y += 20
    c.text(_LEFT - 8, y + 13, "model", anchor="end")
    for req in panel.state.requests:
        first = req.first_token if req.first_token is not None else req.end_at(req.start)
        c.rect(req.start, first, y, _LANE, _TTFT_FILL, f"request {req.turn}: waiting for the first token")
        c.rect(first, req.end_at(first), y, _LANE, _MODEL_FILL, f"request {req.turn}: decoding")
    for f in panel.state.futures.values():
        if f.tool == AWAIT_FUTURE and f.finished is not None:
            c.rect(f.created, f.finished, y + _LANE - 4, 4, _AWAIT_FILL, f"{f.id} await_future {' '.join(f.deps)}")
    y += _LANE + _GAP
    rows = _pack([f for f in panel.state.futures.values() if f.tool != AWAIT_FUTURE])
    for number, row in enumerate(rows):
        c.text(_LEFT - 8, y + 13, f"tools {number + 1}", anchor="end", fill="#666")
        for f in row:
            colour = _colour(f.tool, colours)
            end = f.finished if f.finished is not None else f.created
            started = f.started if f.started is not None else end
            if started > f.created:
                c.rect(f.created, started, y + 1, _LANE - 2, colour, f"{f.id} {f.tool} waiting", outline=True)
            c.rect(started, end, y, _LANE, colour, f"{f.id} {f.tool} {end - started:.2f} s: {f.summary}")
            label = f"{f.id} {f.tool}"
            if (end - started) * c.scale > 7 * len(label):
                c.text(c.x(started) + 3, y + 13, label, size=10, fill="#fff")
        y += _LANE + _GAP
    if panel.bound_s is not None:
        c.line(c.x(panel.bound_s), y - _GAP, c.x(panel.bound_s), y - (len(rows) + 1) * (_LANE + _GAP) - _GAP,
               stroke="#7f7f7f", dash="4,3")
    return y + 14


def _axis(c: _Canvas, y: float) -> float:
    step = next(s for s in (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120) if c.end_s / s <= 12)
    c.line(_LEFT, y, c.x(c.end_s), y)
    tick = 0.0
    while tick <= c.end_s + 1e-9:
        c.line(c.x(tick), y, c.x(tick), y + 4)
        c.text(c.x(tick), y + 16, f"{tick:g} s", size=10, anchor="middle")
        tick += step
    return y + 26


def gantt_svg(panels: Sequence[Panel], title: str = "") -> str:
    """An SVG document with the panels stacked on one time axis."""
    end_s = max(max(p.state.last_t for p in panels), 1e-3)
    c = _Canvas(end_s)
    colours: dict[str, str] = {}
    y = 24.0
    if title:
        c.text(8, 16, title, size=14)
    for panel in panels:
        y = _draw_panel(c, panel, y, colours)
    y = _axis(c, y)
    x = _LEFT
    for tool, colour in [("ttft", _TTFT_FILL), ("decode", _MODEL_FILL), (AWAIT_FUTURE, _AWAIT_FILL), *colours.items()]:
        c.parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        c.text(x + 16, y + 10, tool, size=11)
        x += 28 + 7 * len(tool)
    if any(p.bound_s is not None for p in panels):
        c.line(x, y + 6, x + 16, y + 6, stroke="#7f7f7f", dash="4,3")
        c.text(x + 20, y + 10, "critical-path bound", size=11)
    height = y + 24
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {_WIDTH} {height:.0f}" font-family="sans-serif">'
            f'<rect width="100%" height="100%" fill="#fff"/>' + "".join(c.parts) + "</svg>\n")


def write_plot(cases: Sequence[CaseResult], path: Path) -> None:
    """Write the Gantt charts of ``cases`` (e.g. sync then async of one scenario) to ``path``."""
    first = cases[0]
    title = f"{first.scenario} at profile {first.profile} ({first.clock} clock, {first.tools} tools)"
    Path(path).write_text(gantt_svg([panel_for(c) for c in cases], title), encoding="utf-8")
