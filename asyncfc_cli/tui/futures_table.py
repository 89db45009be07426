"""The futures table: one row per future (id, tool, arguments, dependencies, state, time)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from ..futures import AWAIT_FUTURE
from .state import FutureLane, TimelineState, args_summary
from .timeline_render import PALETTE, STATE_ICONS, format_seconds

__all__ = ["FuturesTable"]

_COLUMNS = (("id", 4), ("tool", 12), ("args", 24), ("deps", 7), ("state", 11), ("time", 6))
_CELL_PADDING = 2
"""DataTable pads each cell by one column on either side."""
MIN_ARGS = 10


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
        self.args_width = _COLUMNS[2][1]
        """The args column takes whatever width the others leave (so nothing scrolls sideways)."""
        self._synced: tuple[TimelineState, float] | None = None

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for name, width in _COLUMNS:
            self.add_column(name, width=self.args_width if name == "args" else width, key=name)

    def on_resize(self) -> None:
        fixed = sum(width for name, width in _COLUMNS if name != "args") + _CELL_PADDING * len(_COLUMNS)
        room = self.scrollable_content_region.width - fixed - 1  # the vertical scrollbar may come
        width = max(MIN_ARGS, room)
        if width == self.args_width:
            return
        self.args_width = width
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
        for lane in state.futures.values():
            cells = (_state_cell_key(lane), _time_text(lane, now))
            if lane.id not in self._shown:
                self.add_row(*_row(lane, now, self.args_width), key=lane.id)
                if self._follow:
                    self.move_cursor(row=self.row_count - 1, animate=False, scroll=True)
            elif self._shown[lane.id] != cells:
                if self._shown[lane.id][0] != cells[0]:
                    self.update_cell(lane.id, "state", _state_text(lane))
                self.update_cell(lane.id, "time", Text(cells[1], justify="right"))
            self._shown[lane.id] = cells

    def select(self, future_id: str) -> None:
        """Put the cursor on ``future_id``'s row (if it has one yet)."""
        if future_id in self._shown:
            self.move_cursor(row=self.get_row_index(future_id))

    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._follow = event.cursor_row >= self.row_count - 1
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
    if lane.state == "cancelled":
        colour = PALETTE["pending"]
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
        lane.tool,
        Text(args_summary(lane.args, args_width), style=PALETTE["label_dim"] if not lane.args else ""),
        Text(deps, style=PALETTE["deps"]),
        _state_text(lane),
        Text(_time_text(lane, now), justify="right"),
    )
