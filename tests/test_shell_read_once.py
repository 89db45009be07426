"""One shell call's command line is parsed once, however many judge it: its effect when the call
is admitted and when it starts, the approval gate's allow rules (split once for all of them), and
the shell tool itself (its effect, whether it runs git)."""

from __future__ import annotations

import json

import pytest

import asyncfc_cli.allow_rules as allow_rules
import asyncfc_tools._shell_syntax as shell_syntax
from asyncfc_cli.allow_rules import AllowRule, AllowRules
from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.events import EventBus
from asyncfc_cli.model.base import ToolCall
from asyncfc_cli.scheduler import Scheduler
from asyncfc_tools import builtin_tools
from tools_repo import context, make_repo


class CountingParser:
    """tree-sitter's bash parser, counting the lines it parses."""

    def __init__(self, parser) -> None:
        self.parser, self.lines = parser, []

    def parse(self, source: bytes):
        self.lines.append(source.decode())
        return self.parser.parse(source)


@pytest.mark.trio
async def test_a_gated_shell_call_reads_its_line_once(tmp_path, monkeypatch) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "A = 1\n"})
    counting = CountingParser(shell_syntax._parser())
    monkeypatch.setattr(shell_syntax, "_parser", lambda: counting)
    shell_syntax.read_command_line.cache_clear()
    split: list[str] = []
    words = allow_rules._words
    monkeypatch.setattr(allow_rules, "_words", lambda text: split.append(text) or words(text))
    command = "git  log --oneline -1"  # read-only but unconfined: the gate decides, by its rules
    rules = AllowRules([AllowRule("shell", "npm test*"), AllowRule("shell", "ls"), AllowRule("shell", "git log*")])
    bus = EventBus()
    gate = ApprovalGate("ask", bus, repo, rules=rules)
    scheduler = Scheduler(builtin_tools(), bus, context(repo), gate=gate)  # an untrusted repository
    async with scheduler.serving():
        scheduler.submit(ToolCall("c0", "shell", json.dumps({"command": command}), 0))
        await scheduler.wait_all_finished()
    [record] = scheduler.futures.values()
    assert record.state.value == "done" and "initial" in (record.text or "")
    assert counting.lines == [command]
    assert split.count(command) == 1
