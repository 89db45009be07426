"""The futures table: one row per future (id, tool, arguments, dependencies, state, time).

Rows follow the state model's lane order, so a sub-agent's futures (``f3/f1``) sit folded under
their ``agent`` row, their tool indented, however late they arrive; the id and tool columns grow
to show such cells whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from ..futures import AWAIT_FUTURE, State
from ..timeline_state import FutureLane, TimelineState
from .summaries import args_summary
from .timeline_render import PALETTE, STATE_ICONS, format_seconds

__all__ = ["FuturesTable"]

_COLUMNS = (("id", 4), ("tool", 12), ("args", 24), ("deps", 7), ("state", 11), ("time", 6))
_CELL_PADDING = 2
"""DataTable pads each cell by one column on either side."""
MIN_ARGS = 10
_GROWING = {"id": 9, "tool": 16}
"""Columns that widen to their longest cell up to this many characters (from their width in
``_COLUMNS``), so a sub-agent's ``f12/f104`` and its indented ``↳ await_future`` stay whole."""
NESTED = "↳ "
"""Marks (and indents) the tool of a sub-agent's future."""


class FuturesTable(DataTable):
    """Rows follow the state model; keys ask (by message) to cancel a future or open its output."""

    BINDINGS = [
        Binding("c,delete", "cancel_future", "Cancel future"),
        Binding("o", "open_output", "Output"),
    ]

    DEFAULT_CSS = """
    FuturesTable {
        height: 1fr;
        background: $surface;
        overflow-x: hidden;
    }
    FuturesTable > .datatable--header {
        text-style: bold;
        color: $text-muted;
        background: $surface;
    }
    """

    @dataclass
    class CancelRequested(Message):
        future_id: str

    @dataclass
    class OutputRequested(Message):
        future_id: str

    @dataclass
    class FutureHighlighted(Message):
        future_id: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._shown: dict[str, tuple[str, str]] = {}
        self._follow = True
        self.widths = dict(_COLUMNS)
        """Each column's width; args takes whatever the others leave (so nothing scrolls sideways)."""
        self._synced: tuple[TimelineState, float] | None = None

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for name, width in self.widths.items():
            self.add_column(name, width=width, key=name)

    def on_resize(self) -> None:
        self._fit_columns({})

    def _fit_columns(self, grown: dict[str, int]) -> None:
        """Give columns the ``grown`` widths and the args column the rest; redraw if any changed."""
        widths = {**self.widths, **grown}
        fixed = sum(width for name, width in widths.items() if name != "args")
        room = self.scrollable_content_region.width - fixed - _CELL_PADDING * len(widths) - 1  # the scrollbar may come
        widths["args"] = max(MIN_ARGS, room)
        if widths == self.widths:
            return
        self.widths = widths
        selected = self.selected_id()
        self.clear(columns=True)
        self._shown.clear()
        self._add_columns()
        if self._synced is not None:
            self.sync(*self._synced)
        if selected is not None:
            self.select(selected)

    def sync(self, state: TimelineState, now: float) -> None:
        """Add rows for new futures and update the state and time cells of changed ones."""
        self._synced = (state, now)
        grown = self._grown(state)
        if grown:
            self._fit_columns(grown)  # redraws every row through this method
            return
        added = False
        for lane in state.futures.values():
            cells = (_state_cell_key(lane), _time_text(lane, now))
            if lane.id not in self._shown:
                self.add_row(*_row(lane, now, self.widths["args"]), key=lane.id)
                added = True
            elif self._shown[lane.id] != cells:
                if self._shown[lane.id][0] != cells[0]:
                    self.update_cell(lane.id, "state", _state_text(lane))
                self.update_cell(lane.id, "time", Text(cells[1], justify="right"))
            self._shown[lane.id] = cells
        if added:
            self._follow_lanes(list(state.futures))

    def _grown(self, state: TimelineState) -> dict[str, int]:
        """The wider growing columns that the lanes not shown yet need (nothing if none)."""
        grown: dict[str, int] = {}
        for lane in state.futures.values():
            if lane.id in self._shown:
                continue
            for name, cell in (("id", lane.id), ("tool", _tool_cell(lane))):
                need = min(_GROWING[name], len(cell))
                if need > max(self.widths[name], grown.get(name, 0)):
                    grown[name] = need
        return grown

    def _follow_lanes(self, order: list[str]) -> None:
        """Put the rows in the lanes' order (a sub-agent's new future joins its ``agent`` row, not
        the end), keep the cursor on its future, or on the last row while it follows the newest."""
        if list(self._shown) != order:
            selected = self.selected_id()
            position = {future_id: i for i, future_id in enumerate(order)}
            self.sort(key=lambda row: position[str(row[0].plain)])  # the id cell
            self._shown = {future_id: self._shown[future_id] for future_id in order}
            if selected is not None and not self._follow:
                self.select(selected)
        if self._follow:
            self.move_cursor(row=self.row_count - 1, animate=False, scroll=True)

    def select(self, future_id: str) -> None:
        """Put the cursor on ``future_id``'s row (if it has one yet)."""
        if future_id in self._shown:
            self.move_cursor(row=self.get_row_index(future_id))

    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        # Here, not on RowHighlighted: that message may be handled after rows already arrived
        # (engine events come through the app's queue), which would then move the cursor off
        # the row the user just chose, to follow the newest. (The table also sets the cursor to
        # where it is when rows are added: that is no move.)
        if old != new:
            self._follow = new.row >= self.row_count - 1

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.post_message(self.FutureHighlighted(str(event.row_key.value)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.OutputRequested(str(event.row_key.value)))

    def action_cancel_future(self) -> None:
        future_id = self.selected_id()
        if future_id is not None:
            self.post_message(self.CancelRequested(future_id))

    def action_open_output(self) -> None:
        future_id = self.selected_id()
        if future_id is not None:
            self.post_message(self.OutputRequested(future_id))


def _state_cell_key(lane: FutureLane) -> str:
    return f"{lane.state}:{lane.approval}"


def _state_text(lane: FutureLane) -> Text:
    if lane.approval == "asked" and not lane.final:
        return Text("? approve", style=PALETTE["approval"])
    colour = PALETTE["await"] if lane.tool == AWAIT_FUTURE and not lane.final else PALETTE[lane.state]
    if lane.state == State.CANCELLED:
        colour = PALETTE[State.PENDING]
    return Text(f"{STATE_ICONS.get(lane.state, '?')} {lane.state}", style=colour)


def _time_text(lane: FutureLane, now: float) -> str:
    if lane.started is None:
        return "" if not lane.final else "–"
    run = lane.run_time(now)
    return format_seconds(run, 0.1 if run < 10 else 1)


def _row(lane: FutureLane, now: float, args_width: int) -> tuple[object, ...]:
    deps = ",".join(lane.deps)
    return (
        Text(lane.id, style="bold"),
        Text(_tool_cell(lane)),  # a name the model wrote: text, never markup
        Text(args_summary(lane.args, args_width), style=PALETTE["label_dim"] if not lane.args else ""),
        Text(deps, style=PALETTE["deps"]),
        _state_text(lane),
        Text(_time_text(lane, now), justify="right"),
    )


def _tool_cell(lane: FutureLane) -> str:
    return NESTED + lane.tool if "/" in lane.id else lane.tool
