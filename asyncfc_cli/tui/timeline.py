"""The timeline widget: model lane + one lane per future on a shared, zoomable time axis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from ..timeline_state import TimelineState
from .timeline_render import MIN_SPC, TimelineRenderer, Viewport, fit_viewport

__all__ = ["Timeline"]

_HEADER_ROWS = 2  # the axis and the model lane never scroll away


class Timeline(Widget, can_focus=True):
    """Draws a TimelineState at ``clock()``; follows the present until panned, fits until zoomed.

    Reads state only and posts ``LaneClicked`` when a future's lane is clicked. Rendering is
    line-based (only visible lanes are drawn), one frame computed per refresh and cached across its
    lines.
    """

    BINDINGS = [
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in"),
        Binding("minus", "zoom(2.0)", "Zoom out"),
        Binding("0", "fit", "Fit"),
        Binding("left,h", "pan(-0.25)", "Earlier", show=False),
        Binding("right,l", "pan(0.25)", "Later", show=False),
        Binding("f,end", "follow", "Follow", show=False),
        Binding("up,k", "scroll_lanes(-1)", show=False),
        Binding("down,j", "scroll_lanes(1)", show=False),
        Binding("pageup", "scroll_lanes(-10)", show=False),
        Binding("pagedown", "scroll_lanes(10)", show=False),
    ]

    DEFAULT_CSS = """
    Timeline {
        height: 1fr;
        min-height: 4;
        background: $surface;
    }
    """

    spc: reactive[float | None] = reactive(None)
    """Seconds per column; None fits the whole session into the width."""
    start: reactive[float | None] = reactive(None)
    """Left edge in session seconds; None follows the present."""
    lane_offset: reactive[int] = reactive(0)
    highlight: reactive[str | None] = reactive(None)
    """A future id to mark (the one selected in the futures table)."""

    @dataclass
    class LaneClicked(Message):
        """The user clicked the lane of ``future_id``."""

        future_id: str

    def __init__(self, state: TimelineState, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state
        self.clock = clock
        self.renderer = TimelineRenderer()
        self.follow_lanes = True
        self._frame_key: tuple | None = None
        self._frame: list[list[Segment]] = []
        self._viewport: Viewport | None = None

    def watch_highlight(self) -> None:
        self.refresh()

    def watch_spc(self) -> None:
        self.refresh()

    def watch_start(self) -> None:
        self.refresh()

    def watch_lane_offset(self) -> None:
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------------

    @property
    def label_width(self) -> int:
        return max(20, min(30, self.size.width // 4))

    @property
    def lane_rows(self) -> int:
        return max(0, self.size.height - _HEADER_ROWS)

    def frame(self) -> list[list[Segment]]:
        """All visible rows at ``clock()``, recomputed only when something they show changed."""
        now = self.clock()
        lanes = list(self.state.futures.values())
        if self.follow_lanes:
            self.set_reactive(Timeline.lane_offset, max(0, len(lanes) - self.lane_rows))
        key = (self.state.version, now, self.size, self.spc, self.start, self.lane_offset, self.highlight)
        if key != self._frame_key:
            cells = max(1, self.size.width - self.label_width)
            self._viewport = vp = fit_viewport(self.state, now, cells, self.spc, self.start)
            visible = lanes[self.lane_offset:self.lane_offset + self.lane_rows]
            self._frame = self.renderer.rows(self.state, vp, now, self.label_width, visible, self.highlight)
            self._frame_key = key
        return self._frame

    def render_lines(self, crop: Region) -> list[Strip]:
        self.frame()  # one frame (one ``now``) for every line of this render
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        rows = self._frame
        if y < len(rows):
            return Strip(rows[y], self.size.width)
        return Strip.blank(self.size.width)

    # -- navigation --------------------------------------------------------------------------------

    def _current(self) -> Viewport:
        if self._viewport is None:
            self.frame()
        assert self._viewport is not None
        return self._viewport

    def on_click(self, event: events.Click) -> None:
        index = self.lane_offset + event.y - _HEADER_ROWS
        lanes = list(self.state.futures)
        if event.y >= _HEADER_ROWS and 0 <= index < len(lanes):
            self.post_message(self.LaneClicked(lanes[index]))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.action_scroll_lanes(-3)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.action_scroll_lanes(3)

    def action_zoom(self, factor: float) -> None:
        vp = self._current()
        self.spc = max(MIN_SPC, vp.spc * factor)
        if self.start is not None:  # keep the centre of the window where it was
            centre = vp.start + vp.spc * vp.cells / 2
            self.start = max(0.0, centre - self.spc * vp.cells / 2)

    def action_fit(self) -> None:
        self.spc = None
        self.start = None

    def action_pan(self, fraction: float) -> None:
        vp = self._current()
        self.start = max(0.0, vp.start + fraction * vp.spc * vp.cells)
        if self.start + vp.spc * vp.cells >= self.clock():
            self.start = None  # panned back to the present: follow it again

    def action_follow(self) -> None:
        self.start = None
        self.follow_lanes = True

    def action_scroll_lanes(self, step: int) -> None:
        most = max(0, len(self.state.futures) - self.lane_rows)
        self.lane_offset = max(0, min(most, self.lane_offset + step))
        self.follow_lanes = self.lane_offset >= most
