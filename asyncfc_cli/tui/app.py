"""The asyncfc Textual app: hosts the engine (trio guest mode) and lays out the views.

Events flow one way: the engine publishes on the bus; a subscriber (same thread) posts each one to
the app as an ``EngineEvent``; the app folds it into the ``TimelineState`` and the views redraw from
that state on a ~15 fps tick. The user's commands (prompt, cancel, approve) go back to the engine
through ``GuestHost.call``, never directly.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from dataclasses import dataclass

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer

from .. import events as ev
from ..approval import Decision
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED
from ..timeline_state import TimelineState
from .approval_dialog import ApprovalDialog
from .background_screen import BackgroundScreen
from .engine_host import Engine, GuestHost
from .futures_table import FuturesTable
from .output_screen import OutputScreen
from .palette import SlashCommandsProvider
from .prompt_actions import PromptActions
from .prompt_box import PromptBox
from .prompt_input import PromptInput
from .session_clock import SessionClock
from .status_bar import StatusBar
from .timeline import Timeline
from .transcript_view import TranscriptView

__all__ = ["AsyncfcApp"]

NARROW_BELOW = 120
"""Terminal width under which the panes stack instead of sitting side by side."""
SHORT_BELOW = 32
"""Terminal height under which the futures table folds away (the timeline shows the same futures)."""
TABLE_TICK_S = 0.25
APPROVAL_CYCLE = ("ask", "auto", "read-only")
"""The order Shift-Tab walks the approval policies in (every one of ``config.APPROVALS``)."""
TERMINATE_WAIT_S = 30.0
"""Longest wait, after SIGTERM, for the running task to end cleanly before the app exits anyway."""


class AsyncfcApp(App[int]):
    """See the module docstring. ``engine`` None shows only what is fed through ``feed`` (tests)."""

    BINDINGS = [
        # The footer fits 80 columns: Ctrl-Q is left out of it (Ctrl-C's "quit" says how to quit;
        # /help lists Ctrl-Q with the other keys).
        Binding("ctrl+c", "interrupt", "Cancel/quit", priority=True),
        Binding("escape", "cancel_turn", "Cancel turn"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        Binding("ctrl+t", "show_panel('timeline')", "Timeline"),
        Binding("ctrl+f", "show_panel('futures')", "Futures"),
        Binding("ctrl+o", "focus('transcript')", "Transcript", show=False),
        Binding("ctrl+l", "focus('prompt')", "Prompt", show=False),
        Binding("ctrl+b", "background", "Background", priority=True),
    ]

    CSS_PATH = "app.tcss"
    TITLE = "asyncfc"
    COMMANDS = App.COMMANDS | {SlashCommandsProvider}

    @dataclass
    class EngineEvent(Message):
        """One engine event, handed from the bus to the app's message queue."""

        event: ev.Event

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        task: str | None = None,
        bus: ev.EventBus | None = None,
        rate: float = 1.0,
        wall: Callable[[], float] = time.monotonic,
        earlier: Sequence[ev.Event] = (),
    ) -> None:
        super().__init__()
        self.theme = "atom-one-dark"
        self.state = TimelineState()
        self.clock = SessionClock(rate)
        self.wall = wall
        self.bus = bus or ev.EventBus()
        self.engine = engine
        self.host = GuestHost(engine, self.bus) if engine is not None else None
        self.initial_task = task
        self.earlier = earlier
        """A resumed session's recorded events, shown before its engine starts (``show_earlier``)."""
        self._showing_earlier = False
        self._timeline: Timeline | None = None
        self._dialogs: dict[str, ApprovalDialog] = {}
        self._quit_armed_at = -1e9
        self.quit_window_s = 3.0
        """How soon a second Ctrl-C must follow the first to quit."""
        self._drawn: tuple[int, float] | None = None
        self._table_synced = -1e9
        self.prompt_actions = PromptActions(self)
        self._terminating: asyncio.Event | None = None
        """Set once SIGTERM arrived; it is then set when the running task has ended."""

    def now(self) -> float:
        return self.clock.now(self.wall())

    def compose(self) -> ComposeResult:
        yield StatusBar(self.state, self.now, id="status")
        with Horizontal(id="main"):
            yield TranscriptView(id="transcript")
            with Vertical(id="side"):
                self._timeline = Timeline(self.state, self.now, id="timeline")
                yield self._timeline
                yield FuturesTable(id="futures")
        yield PromptBox(self.prompt_actions.complete, id="prompt-box")
        yield Footer()

    def on_mount(self) -> None:
        titles = {
            "transcript": ("Transcript", "enter: fold/unfold"),
            "timeline": ("Timeline", "+/- zoom · 0 fit · ←/→ pan · ↑/↓ lanes"),
            "futures": ("Futures", "c cancel · o output"),
        }
        for name, (title, subtitle) in titles.items():
            widget = self.query_one(f"#{name}")
            widget.add_class("panel")
            widget.border_title, widget.border_subtitle = title, subtitle
        self.query_one(PromptInput).focus()
        self.bus.subscribe(lambda event: self.post_message(self.EngineEvent(event)), nested=True)
        self.set_interval(1 / 15, self.refresh_views)
        self._handle_sigterm()
        self.show_earlier(self.earlier)
        if self.host is not None:
            self.host.on_stopped = self._engine_stopped
            self.host.start()
            if self.initial_task:
                self.host.submit(self.initial_task)

    async def on_unmount(self) -> None:
        if self.host is not None:
            await self.host.aclose()

    # -- SIGTERM -----------------------------------------------------------------------------------

    def _handle_sigterm(self) -> None:
        """SIGTERM ends the TUI as it ends a headless run (``app._watch_stop_signals``), not by
        killing it mid-write. Only where the app owns the main thread's loop (not under tests
        that run it elsewhere, nor where the loop cannot take signal handlers)."""
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._terminated)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def _terminated(self) -> None:
        """The first SIGTERM cancels the running task (exit 143), then stops the session (its
        background processes too, the transcript closed) and exits 143; a second one exits at once."""
        if self._terminating is not None:
            self.exit(EXIT_TERMINATED)
            return
        self._terminating = asyncio.Event()
        self.run_worker(self._terminate(), exclusive=True)

    async def _terminate(self) -> None:
        assert self._terminating is not None
        if self.state.busy and self.host is not None and self.engine is not None and self.engine.interactive:
            self.host.call(functools.partial(self.engine.cancel_turn, exit_code=EXIT_TERMINATED))
            try:
                await asyncio.wait_for(self._terminating.wait(), TERMINATE_WAIT_S)
            except TimeoutError:
                pass
        if self.host is not None:
            await self.host.aclose()
        self.exit(EXIT_TERMINATED)

    def on_resize(self, event: events.Resize) -> None:
        narrow, short = event.size.width < NARROW_BELOW, event.size.height < SHORT_BELOW
        self.screen.set_class(narrow, "-narrow")
        self.screen.set_class(short, "-short")
        self.query_one(Footer).compact = narrow

    def action_show_panel(self, name: str) -> None:
        """Focus the timeline or the futures table; when short, the one shown is the one asked for."""
        self.screen.set_class(name == "futures", "-show-futures")
        self.query_one(f"#{name}").focus()

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen (the palette's Screenshot). Textual's default folder is
        ~/Downloads, which a server or a container often lacks: then the state folder is used."""
        from platformdirs import user_downloads_path

        folder = Path(path) if path else user_downloads_path()
        if not folder.is_dir():
            from ..transcript import state_dir

            folder = state_dir() / "screenshots"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.notify(f"Cannot save a screenshot in {folder}: {exc}", severity="error")
            return
        self.deliver_screenshot(filename, str(folder))

    # -- events in ---------------------------------------------------------------------------------

    def feed(self, event: ev.Event) -> None:
        """Show one event (what the bus subscriber's messages end up doing; tests call it directly).
        Its text goes to the terminal without control characters (``printable_fields``): Textual
        passes an escape sequence in a widget's text straight through (only BEL is taken out)."""
        event = ev.printable_fields(event)
        self.state.apply(event)
        if self._terminating is not None and isinstance(event, ev.SessionFinished) and event.parent is None:
            self._terminating.set()  # the task the signal cancelled has ended and said so
        self.clock.observe(event.t, self.wall())
        if not self.state.busy and not self.state.background():  # background lanes keep growing
            self.clock.freeze(self.state.last_t)
        if not self._views_alive():
            return
        if event.parent is not None:  # a sub-agent's: lanes under its agent future, not the transcript
            lane = f"{event.parent}/{getattr(event, 'id', '')}"
            if isinstance(event, ev.FutureFinished) and lane in self._dialogs:
                self._dialogs.pop(lane).dismiss()  # its approval asked under that id
            return
        self.query_one(TranscriptView).show(event, self.state)
        if isinstance(event, ev.SessionStarted):  # a resume's too: ↑ gets the earlier prompts
            self.prompt_actions.session_started()
        if isinstance(event, ev.ApprovalRequested) and not self._showing_earlier:
            self._ask(event)
        elif isinstance(event, (ev.ApprovalResolved, ev.FutureFinished)) and event.id in self._dialogs:
            self._dialogs.pop(event.id).dismiss()  # decided elsewhere, or the call was cancelled

    def show_earlier(self, events: Sequence[ev.Event]) -> None:
        """Show a resumed session's recorded events as its earlier conversation, under a heading,
        before the engine starts (its ``session_resumed`` line then follows them). They take the
        path a replay's take (``feed``), but straight from the transcript read at the start, never
        through the bus: published again, they would be written to the transcript again. Nothing
        in them asks anything (an approval the earlier run left open is not asked again), and
        their futures leave the live lanes (``TimelineState.end_earlier``) while the totals stay."""
        if not events:
            return
        self.query_one(TranscriptView).earlier_heading("── earlier in this session ──")
        self._showing_earlier = True
        try:
            for event in events:
                self.feed(event)
        finally:
            self._showing_earlier = False
        self.query_one(TranscriptView).redraw_calls(self.state.end_earlier())
        self.clock.freeze(self.state.last_t)

    @on(EngineEvent)
    def _on_engine_event(self, message: EngineEvent) -> None:
        self.feed(message.event)

    def refresh_views(self) -> None:
        """Redraw what changed: on every tick while anything moves, once after each burst of events.

        The timeline and status bar follow every tick; the table only when futures changed or, for
        its running times, at most every ``TABLE_TICK_S`` (its cells are costly to re-render).
        """
        now = self.now()
        key = (self.state.version, now)
        if key == self._drawn or not self._views_alive():
            return
        if self._drawn is None or self.state.version != self._drawn[0] or now - self._table_synced >= TABLE_TICK_S:
            for table in self.query(FuturesTable):
                table.sync(self.state, now)
            self._table_synced = now
        self._drawn = key
        # query, not query_one: a tick can land while the app is shutting down and its widgets
        # are being removed; there is then nothing left to draw.
        for view in (*self.query(Timeline), *self.query(StatusBar)):
            view.refresh()

    def _views_alive(self) -> bool:
        """False while the app shuts down (its widgets are gone; the engine may still report).
        Asks the timeline itself, not a query: a query walks every widget, on every event, and
        a resumed session's transcript pane may hold thousands (``show_earlier``)."""
        timeline = self._timeline
        return self.is_running and timeline is not None and timeline.is_attached

    def _engine_stopped(self, error: BaseException | None) -> None:
        if error is not None:
            self.notify(f"engine stopped: {error!r}", severity="error", timeout=30)

    # -- approvals ---------------------------------------------------------------------------------

    def _ask(self, event: ev.ApprovalRequested) -> None:
        if self.engine is None or not self.engine.interactive:
            return
        lane = self.state.futures.get(event.id)
        dialog = ApprovalDialog(event.id, event.tool, event.preview, lane.args if lane else None,
                                network=event.network, rule=event.rule)
        self._dialogs[event.id] = dialog

        def answered(decision: Decision | None) -> None:
            if self._dialogs.pop(event.id, None) is not None and decision:
                self._command("resolve", event.id, decision)

        self.push_screen(dialog, answered)

    # -- commands out ------------------------------------------------------------------------------

    @property
    def transcript(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    def can_command(self, otherwise: str) -> bool:
        """Whether there is a live session to command; if not, say so (``otherwise``: what the
        user's action will not do)."""
        if self.host is None or self.engine is None or not self.engine.interactive:
            self.notify(f"This is a replay: {otherwise}.", severity="warning")
            return False
        return True

    def engine_command(self, name: str, *args: str) -> None:
        """Call the engine's command ``name`` on the trio side (a no-op in a replay)."""
        if self.can_command("nothing can be changed"):
            assert self.host is not None
            self.host.call(getattr(self.engine, name), *args)

    _command = engine_command

    def choose_slash_command(self, name: str, *, takes_argument: bool) -> None:
        """A slash command chosen in the palette: run it, or put it in the prompt for its argument."""
        if not takes_argument:
            self.prompt_actions.submit(f"/{name}")
            return
        prompt = self.query_one(PromptInput)
        prompt.load_text(f"/{name} ")
        prompt.move_cursor(prompt.document.end)
        prompt.focus()

    def submit_task(self, text: str) -> None:
        if self.host is not None:
            self.host.submit(text)

    @on(PromptInput.Submitted)
    def _submit(self, message: PromptInput.Submitted) -> None:
        self.prompt_actions.submit(message.text)

    @on(FuturesTable.CancelRequested)
    def _cancel_future(self, message: FuturesTable.CancelRequested) -> None:
        lane = self.state.futures.get(message.future_id)
        if lane is not None and not lane.final:
            self._command("cancel_future", message.future_id)
            self.notify(f"Cancelling {message.future_id}")

    @on(FuturesTable.OutputRequested)
    def _open_output(self, message: FuturesTable.OutputRequested) -> None:
        lane = self.state.futures.get(message.future_id)
        if lane is not None:
            self.push_screen(OutputScreen(lane))

    @on(FuturesTable.FutureHighlighted)
    def _highlight(self, message: FuturesTable.FutureHighlighted) -> None:
        self.query_one(Timeline).highlight = message.future_id

    @on(Timeline.LaneClicked)
    def _lane_clicked(self, message: Timeline.LaneClicked) -> None:
        self.query_one(FuturesTable).select(message.future_id)
        self.query_one(Timeline).highlight = message.future_id

    def action_background(self) -> None:
        """List the background processes still running; the one chosen is stopped."""

        def chosen(future_id: str | None) -> None:
            if future_id:
                self._command("cancel_future", future_id)
                self.notify(f"Stopping background process {future_id}")

        self.push_screen(BackgroundScreen(self.state.background()), chosen)

    def action_cycle_approval(self) -> None:
        """Shift-Tab in the prompt: the next approval policy (ask, auto, read-only, ask...), set as
        ``/approval`` sets it (between tasks only)."""
        current = self.state.session.approval
        order = APPROVAL_CYCLE
        following = order[(order.index(current) + 1) % len(order)] if current in order else order[0]
        if self.state.busy:  # /approval would say to type it again: nobody typed it
            self.notify("The approval policy changes between tasks: Shift-Tab again when this one ends.",
                        severity="warning")
            return
        self.notify(f"Approval policy: {following} (Shift-Tab: the next one)")
        self.prompt_actions.perform(f"/approval {following}")

    def action_cancel_turn(self) -> None:
        if self.state.busy:
            self._command("cancel_turn")
            self.notify("Cancelling the turn…")

    def action_interrupt(self) -> None:
        """Ctrl-C: cancel the running turn; a second Ctrl-C (or one while idle, twice) quits."""
        wall = time.monotonic()
        if wall - self._quit_armed_at < self.quit_window_s:
            self.run_worker(self.action_quit(), exclusive=True)
            return
        self._quit_armed_at = wall
        if self.state.busy and self.engine is not None and self.engine.interactive:
            self._command("cancel_turn")
            self.notify("Turn cancelled. Ctrl-C again quits.")
        else:
            self.notify("Press Ctrl-C again to quit.")

    async def action_quit(self) -> None:
        code = EXIT_INTERRUPTED if self.state.busy else self._exit_code()
        if self.host is not None:
            await self.host.aclose()
        self.exit(code)

    def _exit_code(self) -> int:
        if self.initial_task and self.state.outcome is not None:
            return self.state.outcome.exit_code
        return EXIT_OK
