"""The transcript pane: the user's prompts, streamed assistant text, and each tool call (collapsible)."""

from __future__ import annotations

from rich.console import RenderableType
from rich.markdown import Markdown
from rich.text import Text
from textual.content import Content
from textual.widgets import Collapsible, Static

from .. import events as ev
from ..errors import Ending
from ..futures import State
from .follow_scroll import FollowScroll
from .formatting import call_body, call_title, opens_unfolded
from ..timeline_state import FutureLane, TimelineState
from .timeline_render import PALETTE, format_seconds

__all__ = ["TranscriptView"]


class TranscriptView(FollowScroll):
    """Appends one entry per prompt, response text and call; follows the end while it grows, until
    the user scrolls up (scrolling back to the bottom follows again).

    Fed events by the app (``show``) with the state that already folded them; posts nothing.
    """

    DEFAULT_CSS = """
    TranscriptView {
        height: 1fr;
        background: $surface;
        padding: 0 1;
    }
    TranscriptView > .user { color: $text; text-style: bold; margin-top: 1; }
    TranscriptView > .assistant { color: $text; margin: 0 0; }
    TranscriptView > .notice { color: $warning; }
    TranscriptView > .info { color: $text-muted; }
    TranscriptView > .note { color: $text; margin: 1 0 0 0; padding: 0 1; border-left: outer $accent 60%; }
    TranscriptView > .finished { color: $text-muted; margin-bottom: 1; }
    TranscriptView > Collapsible { padding: 0; margin: 0; border-top: none; background: $surface; }
    TranscriptView > Collapsible > Contents { padding: 0 0 0 2; }
    TranscriptView > Collapsible.-failed CollapsibleTitle { color: $error; }
    TranscriptView > Collapsible.-done CollapsibleTitle { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._calls: dict[str, tuple[Collapsible, Static, FutureLane]] = {}
        """Each call's entry, and the lane it was last drawn from (to title it again at a new width)."""
        self._titled_at = 0
        self._texts: dict[int, tuple[Static, list[str]]] = {}
        self._opened_for_approval: set[str] = set()

    def show(self, event: ev.Event, state: TimelineState) -> None:
        """Reflect one event (already applied to ``state``)."""
        if isinstance(event, ev.UserMessage):
            self.mount(Static(Text.assemble(("❯ ", PALETTE["now"]), event.text), classes="user"))
        elif isinstance(event, ev.TextDelta):
            self._stream(event)
        elif isinstance(event, ev.RequestFinished) and event.turn in self._texts:
            widget, parts = self._texts.pop(event.turn)
            widget.update(Markdown("".join(parts).strip()))
        elif isinstance(event, (ev.FutureCreated, ev.FutureStarted, ev.FutureFinished, ev.ApprovalRequested,
                                ev.ApprovalResolved, ev.FutureOutput, ev.BackgroundStarted)):
            self._call(event.id, state)
        elif isinstance(event, ev.SessionResumed):
            self._texts.clear()  # its requests count from 1 again: never extend an earlier text
            self.mount(Static(f"── resumed session {event.session_id} ──", classes="finished", markup=False))
        elif isinstance(event, ev.ConversationCompacted):
            self.mount(Static(f"── {event.headline()} ──", classes="finished" if event.by == "model" else "notice",
                              markup=False))
        elif isinstance(event, ev.Notice):
            text = event.message if event.level == "info" else f"{event.level}: {event.message}"
            self.mount(Static(text, classes="info" if event.level == "info" else "notice", markup=False))
        elif isinstance(event, ev.FootprintViolation):
            self.mount(Static(f"warning: {event.id} changed files outside its declared writes "
                              f"({', '.join(event.declared) or 'nothing'}): {', '.join(event.paths)}",
                              classes="notice", markup=False))
        elif isinstance(event, ev.BackgroundStopped):
            self.mount(Static(f"{event.id} background process stopped ({event.reason})", classes="notice",
                              markup=False))
        elif isinstance(event, ev.SessionFinished):
            self.mount(Static(self._finished_line(event, state), classes="finished", markup=False))

    def note(self, content: RenderableType) -> None:
        """Show something the user asked for at the prompt (/help, /diff, a ``!command``'s
        output): part of the view, not of the conversation."""
        self.mount(Static(content, classes="note"))
        self.follow()

    def clear_entries(self) -> None:
        """Empty the pane (/clear): the conversation starts afresh."""
        self.remove_children()
        self._calls.clear()
        self._texts.clear()
        self._opened_for_approval.clear()

    def _stream(self, event: ev.TextDelta) -> None:
        entry = self._texts.get(event.turn)
        if entry is None:
            entry = self._texts[event.turn] = (Static(classes="assistant", markup=False), [])  # text, not markup
            self.mount(entry[0])
        widget, parts = entry
        parts.append(event.text)
        widget.update("".join(parts))

    def earlier_heading(self, text: str) -> None:
        """Head the earlier conversation a resume shows (``AsyncfcApp.show_earlier``)."""
        self.mount(Static(text, classes="finished", markup=False))

    def redraw_calls(self, lanes: list[FutureLane]) -> None:
        """Redraw the entries of ``lanes`` (earlier calls a resume closed: ``end_earlier``)."""
        for lane in lanes:
            if lane.id in self._calls:
                self._draw_call(lane)

    def _call(self, future_id: str, state: TimelineState) -> None:
        lane = state.futures.get(future_id)
        if lane is not None:
            self._draw_call(lane)

    def _draw_call(self, lane: FutureLane) -> None:
        future_id = lane.id
        if (entry := self._calls.get(future_id)) is not None:
            box, body, _ = entry
        else:
            body = Static(call_body(lane))
            # Content, not str: a str title is read as markup, and a title shows what a command
            # printed ("[100%]", "[/x]"). Textual's annotation says str; the label takes Content.
            box = Collapsible(body, title=Content(call_title(lane, self._title_width)),  # type: ignore[arg-type]
                              collapsed=not opens_unfolded(lane))
            self.mount(box)
        self._calls[future_id] = (box, body, lane)
        box.title = Content(call_title(lane, self._title_width))  # type: ignore[assignment]
        box.set_class(lane.state == State.FAILED, "-failed")
        box.set_class(lane.state == State.DONE, "-done")
        body.update(call_body(lane))
        if lane.approval == "asked" and box.collapsed:
            box.collapsed = False  # show what is being asked about ...
            self._opened_for_approval.add(lane.id)
        elif lane.approval != "asked" and lane.id in self._opened_for_approval:
            self._opened_for_approval.discard(lane.id)
            box.collapsed = not opens_unfolded(lane)  # ... and fold it again once answered

    def on_resize(self) -> None:
        """Title every call again for the new width: a title is cut to the width it was drawn at,
        and entries drawn before the first layout (a resume's earlier calls) had none."""
        if self._title_width == self._titled_at:
            return
        self._titled_at = self._title_width
        for box, _, lane in self._calls.values():
            box.title = Content(call_title(lane, self._titled_at))  # type: ignore[assignment]

    @property
    def _title_width(self) -> int:
        return max(30, self.scrollable_content_region.width - 4)  # room for the fold marker

    @staticmethod
    def _finished_line(event: ev.SessionFinished, state: TimelineState) -> str:
        took = format_seconds(event.t - state.task_start, 0.1)
        cost = f" · ${event.cost:.4f}" if event.cost else ""
        # A finished task's message is its answer, already shown above; other outcomes say why.
        why = "" if event.outcome == Ending.FINISHED else f" {event.message}"
        return f"── {event.outcome} in {took} · {event.turns} turns{cost} · exit {event.exit_code} ──{why}"
