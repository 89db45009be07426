"""The commands a person gives a live session between tasks: the TUI's /model, /mode, /approval,
/clear and /compact; and those that report on it (/status, /mcp) or change its allow rules
(/allow, /disallow).

Each is sync and quick (called on the trio side by the TUI's engine host) and reports on the event
bus, like everything else: a change as ``settings_changed``, a result or a refusal as a ``notice``.
/compact only starts the session's compaction (a model request): ``conversation_compacted`` ends it.
/status reads the project instructions and /allow and /disallow the person's ``allow.toml`` (and
/disallow rewrites it) right there: small files, read between tasks, as /model opens a client.
Nothing here reads the repository's configuration: the person typed the command.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
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
        self.sandbox: Any = None
        """The session's OS sandbox, for /status (set by whoever wires the session)."""
        self.hub: Any = None
        """The session's MCP servers (``McpHub``), for /status and /mcp, or None."""
        self.transcript: Path | None = None
        """Where the session is recorded, for /status."""

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

    # -- reports and allow rules ------------------------------------------------------------------

    def _status(self, _: str) -> None:
        from .model.provider import effective_endpoint
        from .prompting import project_instructions
        from .status_report import StatusFacts, status_text

        session, settings = self.session, self.session.settings
        model = session.model
        sandbox = self.sandbox
        rules = getattr(self.gate, "rules", None)
        self._notice(status_text(StatusFacts(
            session_id=session.session_id, model=model.name, scripted=model.scripted,
            endpoint="" if model.scripted else effective_endpoint(model.name, settings.api_base, os.environ),
            mode=settings.mode, approval=self._policy(), allow_rules=len(rules.rules) if rules else 0,
            sandbox=sandbox.state if sandbox is not None else "off",
            network=sandbox.network if sandbox is not None else True,
            root=str(session.workspace.root), is_git=session.workspace.is_git,
            trusted=settings.repo_trusted, ignored_keys=settings.ignored_repo_keys,
            instructions=tuple(i.path for i in project_instructions(session.workspace.root)),
            transcript=str(self.transcript or ""), mcp=self._mcp_states())))

    def _mcp_states(self) -> tuple[Any, ...]:
        from .status_report import mcp_states

        return () if self.hub is None else mcp_states(self.hub.connections, self.hub.specs())

    def _mcp(self, _: str) -> None:
        from .config import user_config_path
        from .status_report import mcp_text

        self._notice(mcp_text(self._mcp_states(), str(user_config_path())))

    def _allow(self, text: str) -> None:
        """``/allow``: the rules in force; ``/allow RULE``: allow RULE for this session."""
        from .allow_rules import AllowRule, allow_file, load_allow_rules
        from .status_report import allow_rules_text

        rules = self._rules()
        if text:
            rule = AllowRule.parse(text)
            rules.add(rule)
            self._notice(f"allowed for this session: {rule} (/disallow {rule} stops it)")
            return
        saved = [rule.described() for rule in load_allow_rules()]
        self._notice(allow_rules_text([rule.described() for rule in rules.rules], saved, str(allow_file())))

    def _disallow(self, text: str) -> None:
        """``/disallow RULE``: stop allowing RULE, in this session and in the user's allow.toml."""
        from .allow_rules import AllowRule, allow_file, remove_saved_allow_rule

        if not text:
            raise ConfigError("name the rule to stop allowing, e.g. /disallow shell(npm test*) (/allow lists them)")
        rule = AllowRule.parse(text)
        in_session = self._rules().remove(rule)
        saved = remove_saved_allow_rule(rule)
        if not (in_session or saved):
            raise ConfigError(f"{rule} is not allowed (/allow lists the rules in force)")
        where = f" and removed from {allow_file()}" if saved else ""
        self._notice(f"no longer allowed: {rule}{where}; its calls ask first again")

    def _rules(self) -> Any:
        rules = getattr(self.gate, "rules", None)
        if rules is None:
            raise ConfigError("this session has no approval gate, so no allow rules")
        return rules
