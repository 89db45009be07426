"""The approval gate: the policy (read-only | ask | auto) enforced before a mutating call starts,
and the session's checkpoint recorded before the first mutation it lets through.

The scheduler asks ``admit`` for every call whose effect needs approval: it mutates (writes, runs
the project's checks, or is exclusive) or is unconfined (any shell command, even a read-only one).
Under ``ask`` the gate emits ``approval_requested`` with a preview (the unified diff of a
write or edit, the command of a shell or test run) and waits until a view answers through
``resolve(future_id, decision)`` with a ``Decision`` (once, network, session, network_session,
always, network_always or deny).
The preview is the tool's to say (``ToolSpec.preview``): the gate knows no tool by name.
"network" lets this one
command (of a tool declaring ``runs_command``: shell, run_tests) reach the network where the
sandbox keeps the session off it; it is offered (``approval_requested.network``) only there.
"network_session" and "network_always" keep it as a *network* rule: the call's suggested rule,
whose commands also get the network, for the session or saved. "session" adds the call's suggested
allow rule (``allow_rules.suggest_rule``: the tool, or for a command its prefix such as
``npm test*``; ``approval_requested.rule`` names it) for the rest of the session; "always" also
saves it in the user's allow.toml. A call
an allow rule matches is let through without asking; one a network rule matches also gets the
network, under ``auto`` too (the user saved the rule: headless runs honour it). With nobody to
answer (headless), ``ask`` refuses what no rule allows, with a message saying how to allow it.

After each task of a session that made a checkpoint the gate records where the task left the tree
(``record_end``), in a worker thread, from ``recording_ends()``: the session's services
(``app.Engine.serving``) keep it open, so a task's end never waits for git on the event loop.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import trio

from asyncfc_tools import ToolContext, ToolError, ToolSpec

from .allow_rules import AllowRule, AllowRules, save_allow_rule, suggest_rule
from .checkpoint import Checkpoint, create_checkpoint, record_end
from .config import APPROVALS, Approval
from .errors import AsyncfcError, CheckpointError, WorkspaceError
from .events import (
    ApprovalRequested,
    ApprovalResolved,
    CheckpointCreated,
    EventBus,
    Notice,
    SessionFinished,
    SessionStarted,
)
from .scheduler import GateRequest, Grant

__all__ = ["ApprovalGate", "Decision", "describe_call"]

class Decision(StrEnum):
    """How a person answered an approval request (``resolve``, ``approval_resolved.decision``)."""

    ONCE = "once"
    """Run this call."""
    NETWORK = "network"
    """Run this call, its command with network access (where offered; else as ``ONCE``)."""
    SESSION = "session"
    """Run it, and allow its suggested rule for the rest of the session."""
    ALWAYS = "always"
    """As ``SESSION``, and save the rule in the user's allow.toml."""
    NETWORK_SESSION = "network_session"
    """As ``SESSION``, the rule's commands with network access (where offered; else as ``SESSION``)."""
    NETWORK_ALWAYS = "network_always"
    """As ``ALWAYS``, the rule's commands with network access (where offered; else as ``ALWAYS``)."""
    DENY = "deny"
    """Refuse it: the model is told the user denied it."""

_NETWORKED = frozenset({Decision.NETWORK, Decision.NETWORK_SESSION, Decision.NETWORK_ALWAYS})
_KEPT = frozenset({Decision.SESSION, Decision.ALWAYS, Decision.NETWORK_SESSION, Decision.NETWORK_ALWAYS})
_LAST_ENDS_S = 10.0
"""How long the way out of a session waits for the task ends still being recorded."""
_ALLOW_HINT = "use --approval auto to allow changes without asking, or --approval ask to confirm each one"


def describe_call(spec: ToolSpec, args: Mapping[str, Any], ctx: ToolContext) -> str:
    """What a call will do, for a person deciding: what its tool declares (``ToolSpec.describe``:
    a diff, a command line), or the arguments.

    May read files (edit previews), so call it from a worker thread.
    """
    return spec.describe(ctx, args)


def _command_line(request: GateRequest) -> str | None:
    """The command line the call runs, as allow rules see it (None: its tool runs none)."""
    return request.spec.facts.command_line(request.args)


def _kept_offline(request: GateRequest) -> bool:
    """Whether the call runs a command the session's sandbox keeps off the network."""
    sandbox = request.ctx.sandbox
    return request.spec.facts.runs_command and sandbox is not None and not sandbox.network


class ApprovalGate:
    """Enforces the approval policy and records the session's checkpoint (a ``scheduler.Gate``).

    Args:
        policy: read-only (refuse every mutating call), ask (a person decides), auto (allow).
        bus: where approval and checkpoint events go.
        root: the workspace root, whose git repository gets the checkpoint.
        interactive: whether a view will answer ``approval_requested`` (the TUI); without one,
            ``ask`` refuses.
        session_id: names the checkpoint ref; by default taken from the session_started event.
        checkpoint: makes a checkpoint (a test seam; default ``checkpoint.create_checkpoint``).
        rules: the allow rules in force (the user's saved ones); "session" and "always" add to them.
        save_rule: keeps an "always" rule (default: the user's allow.toml; a test seam).
        end: records the end of the session beside its checkpoint when a task finishes, so undo
            takes back the session's changes only; blocking, so run in a worker thread (a test
            seam; default ``checkpoint.record_end``).
    """

    def __init__(
        self,
        policy: Approval | str,
        bus: EventBus,
        root: Path,
        *,
        interactive: bool = False,
        session_id: str | None = None,
        checkpoint: Callable[[Path, str], Checkpoint] = create_checkpoint,
        rules: AllowRules | None = None,
        save_rule: Callable[[AllowRule], object] = save_allow_rule,
        end: Callable[[Path, Checkpoint], None] = record_end,
    ) -> None:
        if policy not in APPROVALS:
            raise ValueError(f"unknown approval policy {policy!r}")
        self.policy = Approval(policy)
        self.interactive = interactive
        self._bus = bus
        self._root = root
        self._session_id = session_id
        self._checkpoint = checkpoint
        self._checkpoint_lock = trio.Lock()
        self._checkpoint_tried = False
        self.checkpoint: Checkpoint | None = None
        """The checkpoint this session recorded, once it has."""
        self.rules = rules or AllowRules()
        self._save_rule = save_rule
        self._waiting: dict[str, tuple[trio.Event, list[Decision]]] = {}
        self._record_end = end
        self._ends: trio.MemorySendChannel[None] | None = None
        """Where task ends are queued while ``recording_ends()`` is open."""
        self._unrecorded = 0
        self._all_recorded = threading.Event()
        """Set while no queued task end waits to be recorded (``wait_ends_recorded``)."""
        self._all_recorded.set()
        if session_id is None:
            bus.subscribe(self._learn_session_id)
        bus.subscribe(self._on_task_finished)

    def _learn_session_id(self, event: object) -> None:
        if isinstance(event, SessionStarted) and self._session_id is None:
            self._session_id = event.session_id

    def _on_task_finished(self, event: object) -> None:
        if isinstance(event, SessionFinished) and self.checkpoint is not None and self._ends is not None:
            self._unrecorded += 1
            self._all_recorded.clear()
            self._ends.send_nowait(None)

    @asynccontextmanager
    async def recording_ends(self) -> AsyncIterator[None]:
        """While open, record the end of each task (``record_end``) in the background. On the way
        out the ends still queued are recorded first, also when the way out is a cancellation (the
        TUI quitting), for at most ``_LAST_ENDS_S``: an end left out would make undo take back
        the user's own edits made during the session."""
        send, receive = trio.open_memory_channel[None](math.inf)
        # Shielded, so a cancellation of the session does not abandon an end being recorded; the
        # way out bounds it instead.
        recorder = trio.CancelScope(shield=True)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._record_ends, receive, recorder)
                self._ends = send
                try:
                    yield
                finally:
                    self._ends = None
                    send.close()
                    recorder.deadline = trio.current_time() + _LAST_ENDS_S
        finally:
            self._unrecorded = 0
            self._all_recorded.set()  # what is left is abandoned: nobody waits for it

    async def _record_ends(self, ends: trio.MemoryReceiveChannel[None], scope: trio.CancelScope) -> None:
        with scope:
            async for _ in ends:
                await self._record_one()

    async def _record_one(self) -> None:
        await self.record_end()
        self._unrecorded -= 1
        if self._unrecorded <= 0:
            self._all_recorded.set()

    def wait_ends_recorded(self, timeout: float) -> bool:
        """Block (in a worker thread, never trio's) until every task end queued so far has been
        recorded, at most ``timeout`` seconds; whether they were. ``undo`` waits for it, or it
        would take back edits the user made while the last task ran."""
        return self._all_recorded.wait(timeout)

    async def record_end(self) -> None:
        """Snapshot where the last task left the tree beside the session's checkpoint (nothing
        without one), git running in a worker thread. Best effort: without it, undo takes back
        everything since the checkpoint. Cancelling abandons the thread, which is safe: git
        writes only objects (through a private index) and then one private ref."""
        checkpoint = self.checkpoint
        if checkpoint is None:
            return
        try:
            await trio.to_thread.run_sync(self._record_end, self._root, checkpoint, abandon_on_cancel=True)
        except (WorkspaceError, CheckpointError, OSError):
            pass  # e.g. a full disk: it must not end the session, which goes on serving

    @property
    def pending(self) -> tuple[str, ...]:
        """Ids of the futures waiting for an answer."""
        return tuple(self._waiting)

    async def admit(self, request: GateRequest) -> Grant | None:
        """Let the call run (with the network, when the person allowed it that), wait for a
        person's answer, or raise ToolError to refuse it."""
        if not request.effect.needs_approval:
            return None
        if self.policy == Approval.READ_ONLY:
            raise ToolError(f"{request.tool} refused: the approval policy is read-only, which allows "
                            f"reading only; to let asyncfc change files or run commands, {_ALLOW_HINT}")
        command = _command_line(request)
        if command is not None and not command.strip():
            # Nothing to run, and nothing a rule could name: its rule would allow every command.
            raise ToolError(f"{request.tool} refused: the command line is empty")
        rule = self.rules.allows(request.tool, command)
        grant = Grant(network=True) if rule is not None and rule.network and _kept_offline(request) else None
        if self.policy == Approval.ASK and rule is None:
            grant = await self._ask(request, command)
        await self._ensure_checkpoint()
        return grant

    async def _ask(self, request: GateRequest, command: str | None) -> Grant | None:
        rule = suggest_rule(request.tool, command)
        if not self.interactive:
            raise ToolError(f"{request.tool} refused: the approval policy is ask, but this run has "
                            "nobody to answer (headless); use --approval auto to allow changes "
                            f"without asking, allow it in your allow.toml (e.g. allow = [\"{rule}\"]), "
                            "or run in the TUI to approve each one")
        preview = await trio.to_thread.run_sync(describe_call, request.spec, request.args, request.ctx)
        offline = _kept_offline(request)
        answered, answer = trio.Event(), list[Decision]()
        self._waiting[request.future_id] = (answered, answer)
        try:
            self._bus.emit(ApprovalRequested, id=request.future_id, tool=request.tool, preview=preview,
                           network=offline, rule=str(rule))
            await answered.wait()
        finally:
            self._waiting.pop(request.future_id, None)
        decision = answer[0]
        self._bus.emit(ApprovalResolved, id=request.future_id, decision=decision)
        if decision is Decision.DENY:
            raise ToolError(f"the user denied this {request.tool} call; do not retry it unchanged "
                            "(ask the user, or take another approach)")
        networked = offline and decision in _NETWORKED
        if decision in _KEPT:
            rule = replace(rule, network=networked)
            self.rules.add(rule)
            if decision in (Decision.ALWAYS, Decision.NETWORK_ALWAYS):
                await self._keep(rule)
        return Grant(network=True) if networked else None

    async def _keep(self, rule: AllowRule) -> None:
        try:
            where = await trio.to_thread.run_sync(self._save_rule, rule)
        except AsyncfcError as exc:
            self._bus.emit(Notice, level="warning", message=f"allowed {rule.described()} for this session only: {exc}")
            return
        self._bus.emit(Notice, level="info", message=f"allowed {rule.described()} from now on (saved in {where})")

    def resolve(self, future_id: str, decision: Decision | str) -> bool:
        """Answer a pending request: "once", "network" (once, with network access, where it was
        offered; else as "once"), "session" (its suggested rule, for this session),
        "always" (the rule, saved for later sessions too), "network_session" and "network_always"
        (the rule with network access, where offered) or "deny".

        Returns False if nothing is waiting under that id (already answered or cancelled).

        Raises:
            ValueError: an unknown decision.
        """
        try:
            decision = Decision(decision)
        except ValueError:
            raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(Decision)}") from None
        waiting = self._waiting.get(future_id)
        if waiting is None or waiting[0].is_set():
            return False
        waiting[1].append(decision)
        waiting[0].set()
        return True

    async def _ensure_checkpoint(self) -> None:
        async with self._checkpoint_lock:
            if self._checkpoint_tried:
                return
            self._checkpoint_tried = True
            session_id = self._session_id or uuid.uuid4().hex[:12]
            try:
                made = await trio.to_thread.run_sync(self._checkpoint, self._root, session_id)
            except WorkspaceError as exc:
                self._bus.emit(Notice, level="warning",
                               message=f"no checkpoint, so `asyncfc undo` cannot restore this session: {exc}")
                return
            except CheckpointError as exc:
                self._bus.emit(Notice, level="warning",
                               message=f"the checkpoint failed ({exc}); changes go ahead without undo")
                return
            self.checkpoint = made
            self._bus.emit(CheckpointCreated, ref=made.ref, commit=made.commit)
