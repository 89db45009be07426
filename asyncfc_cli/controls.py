"""The commands a person gives a live session between tasks: the TUI's /model, /mode, /approval,
/clear and /compact.

Each is sync and quick (called on the trio side by the TUI's engine host) and reports on the event
bus, like everything else: a change as ``settings_changed``, a result or a refusal as a ``notice``.
/compact only starts the session's compaction (a model request): ``conversation_compacted`` ends it.
Nothing here reads the repository's configuration: the person typed the command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .config import APPROVALS, MODES, Approval, Settings
from .context import ContextBudget
from .errors import AsyncfcError, ConfigError
from .events import Notice, SettingsChanged
from .model.base import ModelClient

__all__ = ["SessionControls"]


class SessionControls:
    """Carries out the between-task commands on one session.

    Args:
        session: the live ``Session``.
        gate: its approval gate (has ``policy``), or None.
        open_model: a model client for settings (``app.open_model``); raises ConfigError.
        system_prompt: the system prompt for settings (it depends on the mode).
    """

    def __init__(self, session: Any, gate: Any, *, open_model: Callable[[Settings], ModelClient],
                 system_prompt: Callable[[Settings], str]) -> None:
        self.session = session
        self.gate = gate
        self._open_model = open_model
        self._system_prompt = system_prompt

    def run(self, name: str, argument: str) -> None:
        """Carry out ``/name argument``; any refusal becomes an error notice, never an exception."""
        handler = getattr(self, f"_{name}", None)
        try:
            if handler is None:
                raise ConfigError(f"/{name} is not a session command")
            handler(argument)
        except AsyncfcError as exc:
            self._notice(f"/{name}: {exc}", "error")

    def _notice(self, message: str, level: str = "info") -> None:
        self.session.bus.emit(Notice, level=level, message=message)

    def _changed(self) -> None:
        settings = self.session.settings
        self.session.bus.emit(SettingsChanged, model=self.session.model.name, mode=settings.mode,
                              approval=self._policy(), scripted=self.session.model.scripted,
                              api_base=settings.api_base or "")

    def _policy(self) -> str:
        return getattr(self.gate, "policy", None) or self.session.settings.approval or Approval.AUTO

    def _model(self, name: str) -> None:
        if not name:
            self._notice(f"model: {self.session.model.name} (switch with /model NAME, e.g. /model openai/gpt-4.1)")
            return
        settings = self.session.settings.replace(model=name)
        model = self._open_model(settings)
        self.session.reconfigure(settings, model=model,
                                 context=ContextBudget.for_model(name, settings.context_tokens))
        self._changed()

    def _chosen(self, what: str, value: str, current: str, choices: tuple[str, ...]) -> bool:
        """Whether ``value`` is a choice to apply: '' shows the current one (False); anything not
        in ``choices`` is refused."""
        if not value:
            self._notice(f"{what}: {current} (one of {', '.join(choices)})")
            return False
        if value not in choices:
            raise ConfigError(f"unknown {what} {value!r}: one of {', '.join(choices)}")
        return True

    def _mode(self, mode: str) -> None:
        if not self._chosen("mode", mode, self.session.settings.mode, MODES):
            return
        settings = self.session.settings.replace(mode=mode)
        self.session.reconfigure(settings, system_prompt=self._system_prompt(settings))
        self._changed()

    def _approval(self, policy: str) -> None:
        if not self._chosen("approval policy", policy, self._policy(), APPROVALS):
            return
        if self.gate is None:
            raise ConfigError("this session has no approval gate")
        self.gate.policy = Approval(policy)
        self.session.reconfigure(self.session.settings.replace(approval=Approval(policy)))
        self._changed()

    def _clear(self, _: str) -> None:
        self.session.clear()
        self._notice("conversation cleared: the model starts afresh (future ids go on)")

    def _compact(self, focus: str) -> None:
        """/compact [FOCUS]: the model summarises the conversation (dwelling on FOCUS), in the
        background of the session; its events, and ``conversation_compacted``, report it."""
        self.session.start_compaction(focus)
