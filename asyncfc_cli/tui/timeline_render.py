"""Drawing the timeline as rows of Rich segments: pure functions of (state, viewport, now).

Row 0 is the time axis, row 1 the model lane (one bar per request: a dim stretch while waiting for
the first token, a bright mark at the first token, a bar that fills to the present while text
streams, a diamond where each tool call was dispatched), then one row per future (a dashed stretch
while it waits, for its ``$fN`` dependencies or an approval, then a bar coloured by state). Every
lane shares one time axis, so what overlaps what is a matter of looking down a column.

No Textual here: the widget wraps rows in Strips, the frame benchmark times them directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style

from ..approval import Decision
from ..futures import AWAIT_FUTURE, State
from ..timeline_state import FutureLane, RequestBar, TimelineState
from .summaries import short_summary

__all__ = ["PALETTE", "Viewport", "TimelineRenderer", "fit_viewport", "format_seconds", "tick_step"]

PALETTE: dict[str, str] = {
    "axis": "#7f848e",
    "now": "#56b6c2",
    "label": "#abb2bf",
    "label_dim": "#5c6370",
    "model_wait": "#4b3a63",
    "model": "#c678dd",
    "model_text": "#1e1e2e",
    "mark": "#ffffff",
    "call": "#ffd866",
    State.PENDING: "#5c6370",
    "deps": "#d19a66",
    "approval": "#e06cdf",
    State.RUNNING: "#e5c07b",
    State.DONE: "#98c379",
    State.FAILED: "#e06c75",
    State.CANCELLED: "#4b5263",
    "await": "#61afef",
    "bar_text": "#1e1e2e",
    "grid": "#3e4451",
    "highlight": "#3e4451",
}

STATE_ICONS = {State.PENDING: "○", State.RUNNING: "◐", State.DONE: "✓", State.FAILED: "✗",
               State.CANCELLED: "⊘"}
_EIGHTHS = " ▏▎▍▌▋▊▉"
_NICE_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
MIN_SPC = 0.01
"""Finest zoom: seconds per column."""
_MIN_TICK_COLS = 9


@dataclass(frozen=True, slots=True)
class Viewport:
    """The visible window of time: ``cells`` columns from ``start``, ``spc`` seconds each."""

    start: float
    spc: float
    cells: int

    @property
    def end(self) -> float:
        return self.start + self.spc * self.cells

    def col(self, t: float) -> float:
        return (t - self.start) / self.spc


def fit_viewport(
    state: TimelineState, now: float, cells: int, spc: float | None = None, start: float | None = None
) -> Viewport:
    """Choose the window to draw.

    Args:
        spc: seconds per column; None fits the current task (up to ``now``) into the width.
        start: left edge in session seconds; None follows the present (``now`` near the right edge).
    """
    cells = max(1, cells)
    first, last = state.span(now)
    first = max(first, state.task_start)  # fit the current task; earlier ones are a pan away
    if spc is None:
        spc = max(MIN_SPC, (last - first) / max(1, cells - 2))
        if start is None:  # start on a round tick and fit from there
            origin = math.floor(first / tick_step(spc)) * tick_step(spc)
            return Viewport(start=origin, spc=max(MIN_SPC, (last - origin) / max(1, cells - 2)), cells=cells)
    if start is None:
        origin = math.floor(first / tick_step(spc)) * tick_step(spc)  # a round left edge
        start = max(origin, last - spc * (cells - 2)) if last - origin > spc * (cells - 2) else origin
    return Viewport(start=start, spc=spc, cells=cells)


def tick_step(spc: float) -> float:
    """The smallest round step (s) that leaves room for a label between ticks."""
    for step in _NICE_STEPS:
        if step / spc >= _MIN_TICK_COLS:
            return step
    return _NICE_STEPS[-1] * math.ceil(spc * _MIN_TICK_COLS / _NICE_STEPS[-1])


def format_seconds(t: float, step: float = 1.0) -> str:
    """``0.25s``, ``12s``, ``2m05s``, with as many decimals as ``step`` needs."""
    if t >= 60:
        minutes, seconds = divmod(int(round(t)), 60)
        return f"{minutes}m{seconds:02d}s"
    decimals = 0 if step >= 1 else (1 if step >= 0.1 and round(step * 10, 6).is_integer() else 2)
    return f"{t:.{decimals}f}s"


class _Row:
    """One line of cells (char, fg, bg) that paint operations overwrite, then become segments."""

    __slots__ = ("chars", "fgs", "bgs", "width")

    def __init__(self, width: int, fg: str | None = None) -> None:
        self.width = width
        self.chars = [" "] * width
        self.fgs: list[str | None] = [fg] * width
        self.bgs: list[str | None] = [None] * width

    def fill(self, a: int, b: int, char: str, fg: str | None, bg: str | None) -> None:
        a, b = max(0, a), min(self.width, b)
        if b > a:
            n = b - a
            self.chars[a:b] = [char] * n
            self.fgs[a:b] = [fg] * n
            self.bgs[a:b] = [bg] * n

    def put(self, a: int, text: str, fg: str | None, bg: str | None = None, keep_bg: bool = True) -> None:
        for i, ch in enumerate(text):
            x = a + i
            if 0 <= x < self.width:
                self.chars[x], self.fgs[x] = ch, fg
                if not keep_bg:
                    self.bgs[x] = bg

    def segments(self, styles: _Styles) -> list[Segment]:
        out: list[Segment] = []
        chars, fgs, bgs = self.chars, self.fgs, self.bgs
        run_start = 0
        for x in range(1, self.width + 1):
            if x == self.width or fgs[x] != fgs[run_start] or bgs[x] != bgs[run_start]:
                out.append(Segment("".join(chars[run_start:x]), styles.get(fgs[run_start], bgs[run_start])))
                run_start = x
        return out


class _Styles:
    def __init__(self) -> None:
        self._cache: dict[tuple[str | None, str | None, bool], Style] = {}

    def get(self, fg: str | None, bg: str | None, bold: bool = False) -> Style:
        key = (fg, bg, bold)
        style = self._cache.get(key)
        if style is None:
            style = self._cache[key] = Style(color=fg, bgcolor=bg, bold=bold or None)
        return style


class TimelineRenderer:
    """Turns a TimelineState into rows of segments; keeps only a style cache between frames."""

    def __init__(self, palette: dict[str, str] | None = None) -> None:
        self.palette = dict(PALETTE, **(palette or {}))
        self.styles = _Styles()

    # -- bars --------------------------------------------------------------------------------------

    def _bar(self, row: _Row, vp: Viewport, t0: float, t1: float, colour: str, min_eighths: int = 1) -> tuple[int, int]:
        """Paint a bar from t0 to t1 (sub-column precise at its right end); returns its columns."""
        x0, x1 = vp.col(t0), vp.col(t1)
        a = int(math.floor(x0))
        x1 = max(x1, a + min_eighths / 8)
        full_end = int(math.floor(x1))
        row.fill(a, full_end, " ", None, colour)
        eighths = int(round((x1 - full_end) * 8))
        if eighths >= 8:
            row.fill(full_end, full_end + 1, " ", None, colour)
            full_end += 1
        elif eighths > 0 and 0 <= full_end < row.width:
            row.chars[full_end], row.fgs[full_end] = _EIGHTHS[eighths], colour
        return a, full_end

    def _label_in(self, row: _Row, a: int, b: int, text: str) -> None:
        a = max(a, 0)
        room = min(b, row.width) - a - 1
        if room >= 3 and text:
            row.put(a + 1, text[:room], self.palette["bar_text"])

    def _grid(self, row: _Row, ticks: list[int]) -> None:
        """The dotted tick lines, drawn first: bars and labels go over them."""
        for x in ticks:
            if 0 <= x < row.width and row.chars[x] == " " and row.bgs[x] is None:
                row.chars[x], row.fgs[x] = "┊", self.palette["grid"]

    def _now_line(self, row: _Row, vp: Viewport, now: float, ticks: list[int]) -> None:
        self._grid(row, ticks)
        x = int(vp.col(now))
        if 0 <= x < row.width and row.chars[x] in (" ", "┊") and row.bgs[x] is None:
            row.chars[x], row.fgs[x] = "│", self.palette["now"]

    # -- rows --------------------------------------------------------------------------------------

    def ticks(self, vp: Viewport) -> tuple[float, list[int]]:
        step = tick_step(vp.spc)
        first = math.ceil(vp.start / step - 1e-9) * step
        count = int((vp.end - first) / step) + 1
        return step, [int(round(vp.col(first + i * step))) for i in range(max(0, count))]

    def axis(self, vp: Viewport, now: float, label_width: int) -> list[Segment]:
        p = self.palette
        step, cols = self.ticks(vp)
        row = _Row(vp.cells, p["axis"])
        now_x = int(vp.col(now))
        for x in cols:
            label = "╷" + format_seconds(vp.start + x * vp.spc, step)
            row.put(x, label if not x <= now_x <= x + len(label) else "╷", p["axis"])
        if 0 <= now_x < vp.cells:
            row.put(now_x, "▼", p["now"])
        head = f" {format_seconds(step, step)}/tick"
        return [Segment(head[:label_width].ljust(label_width), self.styles.get(p["label_dim"], None)),
                *row.segments(self.styles)]

    def model_lane(self, state: TimelineState, vp: Viewport, now: float, label_width: int,
                   ticks: list[int]) -> list[Segment]:
        p = self.palette
        row = _Row(vp.cells)
        for bar in state.requests:
            if bar.end_at(now) < vp.start or bar.start > vp.end:
                continue
            self._request(row, vp, bar, now)
        self._now_line(row, vp, now, ticks)
        icon, colour = ("◆", p["model"]) if state.decoding else ("◇", p["label_dim"])
        label = f" {icon} model"
        if state.decoding and state.open_request is not None and state.open_request.first_token is None:
            label += " (waiting)"
        return [Segment(_fit(label, label_width - 1), self.styles.get(colour, None, bold=True)),
                self._gutter(), *row.segments(self.styles)]

    def _request(self, row: _Row, vp: Viewport, bar: RequestBar, now: float) -> None:
        p = self.palette
        end = bar.end_at(now)
        first = bar.first_token if bar.first_token is not None else end
        self._bar(row, vp, bar.start, first, p["model_wait"], min_eighths=0)
        if bar.first_token is None:
            return
        a, b = self._bar(row, vp, first, end, p["model"])
        tokens = f"{bar.completion_tokens} tok" if bar.completion_tokens else f"{bar.chars} ch"
        label = f"#{bar.turn} {tokens}" + (f" ↻{bar.retries}" if bar.retries else "")
        first_call = min((int(vp.col(t)) for t in bar.calls), default=b)
        if first_call - a - 1 < len(label):  # the call marks matter more than the label
            label = f"#{bar.turn}"
        self._label_in(row, a, min(b, first_call), label)
        x = int(vp.col(first))
        if 0 <= x < row.width:
            row.chars[x], row.fgs[x] = "▎", p["mark"]
        for t in bar.calls:
            x = int(vp.col(t))
            if 0 <= x < row.width:
                row.chars[x], row.fgs[x] = "◆", p["call"]

    def future_lane(self, lane: FutureLane, vp: Viewport, now: float, label_width: int,
                    ticks: list[int], highlight: bool = False) -> list[Segment]:
        row = _Row(vp.cells)
        self._grid(row, ticks)
        self._future_bar(row, vp, lane, now)
        self._now_line(row, vp, now, [])
        return [*self._future_label(lane, label_width, highlight), *row.segments(self.styles)]

    def _future_bar(self, row: _Row, vp: Viewport, lane: FutureLane, now: float) -> None:
        """The waits, then the run. What the lane waited on keeps its colour after the fact:
        dependencies (``⇠f3``) or program order (``after f3``) first, then the approval, from
        when it was asked until it was answered; an ``await_future`` bar stays the await colour."""
        p = self.palette
        wait_end = lane.started if lane.started is not None else (lane.finished if lane.finished is not None else now)
        asked = lane.approval_asked
        order_end = asked if asked is not None else wait_end
        order_colour = p["deps"] if lane.deps else p[State.PENDING]
        a, b = int(vp.col(lane.created)), int(math.ceil(vp.col(order_end)))
        row.fill(a, b, "╌", order_colour, None)
        if a >= 0 and lane.deps and b - a > 2:
            row.put(a, "⇠" + ",".join(lane.deps), order_colour)
        elif a >= 0 and lane.waits_on and b - a > 8:
            row.put(a, "after " + ",".join(lane.waits_on), order_colour)
        if asked is not None:
            answered = lane.approval_answered if lane.approval_answered is not None else wait_end
            a, b = int(vp.col(asked)), int(math.ceil(vp.col(answered)))
            row.fill(a, b, "╌", p["approval"], None)
            label = {"asked": "? approve", Decision.DENY: "denied", Decision.NETWORK: "approved +net",
                     Decision.NETWORK_SESSION: "approved +net", Decision.NETWORK_ALWAYS: "approved +net",
                     }.get(lane.approval, "approved")
            if a >= 0 and b - a > len(label):
                row.put(a, label, p["approval"])
        if lane.started is not None:
            end = lane.finished if lane.finished is not None else now
            awaiting = lane.tool == AWAIT_FUTURE and lane.state in (State.RUNNING, State.DONE)
            colour = p["await"] if awaiting else p[lane.state]
            a, b = self._bar(row, vp, lane.started, end, colour)
            run = format_seconds(lane.run_time(now), 0.1 if lane.run_time(now) < 10 else 1)
            live = f"background · {lane.last_line}" if lane.background else ""
            self._bar_label(row, a, b, run, short_summary(lane.summary) if lane.final else live)
        if lane.state in (State.FAILED, State.CANCELLED):
            x = int(math.ceil(vp.col(lane.finished if lane.finished is not None else now)))
            row.put(x, STATE_ICONS[lane.state], p[lane.state] if lane.state == State.FAILED else p[State.PENDING])

    def _bar_label(self, row: _Row, a: int, b: int, run: str, summary: str) -> None:
        """``2.2s exit code 1`` inside the bar when it fits; else beside it, to the right, in the
        free cells; else the time alone inside. Never a word cut in two."""
        whole = f"{run} {summary}".strip()
        if b < 0 or a >= row.width:
            return  # the bar is off screen: so is its label
        if min(b, row.width) - max(a, 0) - 1 >= len(whole):
            self._label_in(row, a, b, whole)
            return
        start = max(b, 0) + 1
        if start + len(whole) <= row.width and all(
                row.chars[x] in " ┊" and row.bgs[x] is None for x in range(start - 1, start + len(whole))):
            row.put(start, whole, self.palette["label_dim"])
        elif min(b, row.width) - max(a, 0) - 1 >= len(run):
            self._label_in(row, a, b, run)

    def _future_label(self, lane: FutureLane, width: int, highlight: bool) -> list[Segment]:
        p = self.palette
        state_colour = p["await"] if lane.tool == AWAIT_FUTURE and not lane.final else p[lane.state]
        if lane.state == State.CANCELLED:
            state_colour = p[State.PENDING]
        icon = Segment(f" {STATE_ICONS.get(lane.state, '?')} ", self.styles.get(state_colour, None))
        deps = (" ⇠" + ",".join(lane.deps)) if lane.deps else ""
        room = width - 4  # the icon, and the gutter that keeps bars off the name
        main_text = _fit(f"{lane.id} {lane.tool}", room).rstrip()
        deps_text = deps if len(main_text) + len(deps) <= room else ""  # whole, or not at all
        bg = p["highlight"] if highlight else None
        pad = " " * (room - len(main_text) - len(deps_text))
        return [icon, Segment(main_text, self.styles.get(p["label"], bg, bold=highlight)),
                Segment(deps_text + pad, self.styles.get(p["deps"], bg)), self._gutter()]

    def _gutter(self) -> Segment:
        return Segment("▕", self.styles.get(self.palette["grid"], None))

    def rows(self, state: TimelineState, vp: Viewport, now: float, label_width: int,
             lanes: list[FutureLane], highlight: str | None = None) -> list[list[Segment]]:
        """The axis, the model lane, then one row per lane in ``lanes`` (the visible ones)."""
        _, ticks = self.ticks(vp)
        out = [self.axis(vp, now, label_width), self.model_lane(state, vp, now, label_width, ticks)]
        out.extend(self.future_lane(lane, vp, now, label_width, ticks, lane.id == highlight) for lane in lanes)
        return out


def _fit(text: str, width: int) -> str:
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 0 else ""
    return text.ljust(width)
