"""Allow rules: calls the approval gate lets through under ``ask`` without asking.

A rule is ``TOOL`` (every call of the tool) or ``TOOL(COMMAND)`` for a tool whose calls run a
command line (its declared display is ``Display.COMMAND``: ``shell``): the command, matched word by
word, where a trailing ``*`` allows any further words (``shell(npm test*)`` allows ``npm test`` and
``npm test -- -u``, not ``npm testing``; ``shell(git status)`` allows exactly that command). A
command with shell operators (``;``, ``&&``, ``|``, redirections, substitutions...) is matched only
by a rule that spells out the same whole command, so ``npm test*`` never lets ``npm test && rm -rf
~`` through. Rules see a call as its tool's name and its command line (``ToolFacts.command_line``;
None for a tool that runs none), never its other arguments.

Rules are kept for the session (the approval dialog's "allow for session") and, when the user
chooses "always", in the user's own ``allow.toml`` beside config.toml. A *network* rule (the
dialog's "with network" answers; allow.toml's ``network`` list) also gives the commands it matches
the host's network where the sandbox keeps the session's commands off it, under ``auto`` too. Trust boundary: they come only
from the person (the dialog, their own config folder); nothing a repository holds can add one.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from asyncfc_tools import Display

from .config import user_config_path
from .errors import ConfigError
from .trust import write_user_file

__all__ = ["AllowRule", "AllowRules", "allow_file", "load_allow_rules", "remove_saved_allow_rule", "save_allow_rule",
           "suggest_rule"]

_OPERATORS = re.compile(r"[;&|<>`\n]|\$\(")
_RULE = re.compile(r"^([A-Za-z_][\w.-]*)(?:\((.*)\))?$", re.DOTALL)


@functools.cache
def _builtin_runners() -> frozenset[str]:
    """The built-in tools that run commands (``ToolFacts.runs_command``: shell, run_tests)."""
    from asyncfc_tools import builtin_tools

    return frozenset(name for name, spec in builtin_tools().items() if spec.facts.runs_command)


def runs_commands(tool: str) -> bool:
    """Whether a network rule may name ``tool``: a built-in that runs commands, or a tool that is not
    built in (the network goes only to calls that run a command the sandbox keeps off it)."""
    return tool in _builtin_runners() or tool not in _builtin_displays()


@functools.cache
def _builtin_displays() -> dict[str, Display]:
    from asyncfc_tools import builtin_tools

    return {name: spec.facts.display for name, spec in builtin_tools().items()}


def takes_pattern(tool: str) -> bool:
    """Whether a rule may give ``tool`` a command pattern: not a built-in tool whose calls run no
    command line (``edit_file(x)`` is a mistake); a built-in that runs one (declared
    ``Display.COMMAND``: shell), or a tool that is not built in, whose calls the pattern matches
    only if they run one."""
    return _builtin_displays().get(tool, Display.COMMAND) is Display.COMMAND


@dataclass(frozen=True, slots=True)
class AllowRule:
    """``tool`` with no ``command``: every call of it; a tool that runs command lines with a command
    pattern: see the module docstring."""

    tool: str
    command: str = ""
    network: bool = False
    """The commands it allows also get the network (where the sandbox keeps the session off it)."""

    @classmethod
    def parse(cls, text: str) -> AllowRule:
        """``AllowRule.parse("shell(npm test*)")``.

        Raises:
            ConfigError: not ``TOOL`` or ``TOOL(PATTERN)``, or a pattern on a built-in tool
                that runs no command line (``takes_pattern``).
        """
        match = _RULE.match(text.strip())
        if match is None or (match[2] is not None and not takes_pattern(match[1])) or match[2] == "":
            forms = "".join(f" or {name}(COMMAND), e.g. {name}(npm test*)"
                            for name, display in _builtin_displays().items() if display is Display.COMMAND)
            raise ConfigError(f"allow rule {text!r}: write TOOL (e.g. edit_file){forms}")
        return cls(match[1], (match[2] or "").strip())

    def __str__(self) -> str:
        return f"{self.tool}({self.command})" if self.command else self.tool

    def described(self) -> str:
        """The rule for a person: its text, and "with network" for a network rule."""
        return f"{self} with network" if self.network else str(self)

    def allows(self, tool: str, command: str | None) -> bool:
        """Whether this rule lets a call of ``tool`` through; ``command``: the command line the call
        runs (None: its tool runs none, so only a rule without a pattern can allow it)."""
        return self.matches(tool, _CallLine.read(command))

    def matches(self, tool: str, line: _CallLine | None) -> bool:
        """``allows``, for a command line read already (``AllowRules`` reads it once for all its
        rules)."""
        if tool != self.tool:
            return False
        if not self.command:
            return True
        if line is None:
            return False
        if line.has_operators or _OPERATORS.search(self.command.rstrip("*")):
            return line.text == self.command
        wanted, rest = _words(self.command.removesuffix("*")), self.command.endswith("*")
        words = list(line.words) if line.words is not None else None
        if wanted is None or words is None or words[:len(wanted)] != wanted:
            return False
        if len(words) == len(wanted):
            return True
        # A rule for reading allows further words that still only read: `git grep*` is not
        # `git grep -O'sh -c ...'` (runs a program), `git log*` not `git log --output=~/.bashrc`.
        # No prefix lets through an option that writes a file it names or runs a program
        # (`pytest*` is not `pytest --basetemp=~`) unless the rule itself spells it out.
        return rest and not _risky_beyond(wanted, words) and (
            not _prefix_reads_only(wanted) or _reads_only(line.text))


def _reads_only(command: str) -> bool:
    """Whether the shell command line only reads, as the scheduler judges it (``command_effect``)."""
    from asyncfc_tools._commands import command_effect

    return command_effect(command).kind == "reads"


def _reads_or_checks(program: str) -> bool:
    """Whether ``program`` is one the scheduler knows reads or runs the project's checks."""
    from asyncfc_tools._commands import command_effect

    return command_effect(shlex.quote(program)).kind != "exclusive"


def _prefix_reads_only(words: list[str]) -> bool:
    """Whether a rule's own words (no operators: checked before) make a command that only reads;
    judged from the words, so a call's check parses only the call's line."""
    from asyncfc_tools._commands import words_only_read

    return words_only_read(words)


def _risky_beyond(wanted: list[str], words: list[str]) -> bool:
    """Whether ``words`` carry an option that writes or runs something (the one list,
    ``asyncfc_tools._commands.RISKY_LONG_OPTIONS``) beyond those the rule's own words carry."""
    from asyncfc_tools._commands import risky_options

    spelled = risky_options(wanted)
    return any(option not in spelled for option in risky_options(words))


@dataclass(frozen=True, slots=True)
class _CallLine:
    """A call's command line as rules compare it, read once."""

    text: str
    """The line, stripped."""
    has_operators: bool
    """It holds shell operators: only a rule spelling out the whole line matches it."""
    words: tuple[str, ...] | None
    """Its words as the shell splits them; None if its quotes do not balance or it has
    operators (no rule compares its words then)."""

    @classmethod
    def read(cls, command: str | None) -> _CallLine | None:
        if command is None:
            return None
        text = command.strip()
        if _OPERATORS.search(text):
            return cls(text, True, None)
        words = _words(text)
        return cls(text, False, None if words is None else tuple(words))


def _words(command: str) -> list[str] | None:
    try:
        return shlex.split(command)
    except ValueError:
        return None


class AllowRules:
    """The rules in force in one session: the user's saved ones, plus those allowed for it."""

    def __init__(self, rules: Iterable[AllowRule] = ()) -> None:
        self.rules: list[AllowRule] = list(dict.fromkeys(rules))

    def add(self, rule: AllowRule) -> None:
        if rule not in self.rules:
            self.rules.append(rule)

    def remove(self, rule: AllowRule) -> bool:
        """Stop allowing ``rule`` in this session, with or without the network; whether it was in
        force."""
        kept = [r for r in self.rules if str(r) != str(rule)]
        removed, self.rules = len(kept) < len(self.rules), kept
        return removed

    def allows(self, tool: str, command: str | None) -> AllowRule | None:
        """The rule that lets this call through without asking, if any (``command``: the command
        line it runs, None if its tool runs none); a network rule before one without."""
        line = _CallLine.read(command)
        matching = [rule for rule in self.rules if rule.matches(tool, line)]
        return next((rule for rule in matching if rule.network), matching[0] if matching else None)


_INTERPRETER = re.compile(r"(?:python|pypy|node|ruby|perl|php)[\d.]*|bash|sh|zsh|dash|deno|bun")
"""Programs whose first word says nothing about what runs (``python3.12 -c ...``): only their
``-m MODULE`` form gets a prefix rule."""
_LAUNCHERS = frozenset({"env", "sudo", "doas", "xargs", "timeout", "nice", "nohup", "time", "command",
                        "exec", "find", "git", "rm", "sed", "awk", "dd", "mv", "cp", "chmod", "chown",
                        # options that run a program: rg --pre, sort --compress-program, tar
                        # --to-command, rsync -e, less/man (their pagers, LESSOPEN), watch, ssh...
                        "rg", "sort", "tar", "zip", "rsync", "ssh", "scp", "less", "more", "man", "watch",
                        "parallel", "strace", "gdb", "bash", "sh", "zsh", "dash"})
"""Programs that run other commands or change anything their arguments name (``env X=1 CMD``,
``find . -exec ...``, ``git -c alias.x='!...'``, ``rm -rf ...``): a rule for the program alone
would allow all of that, so they get the exact command (a subcommand still stops a git rule:
``git diff*``)."""
_GIT_PREFIXED = frozenset({"add", "commit"})
"""git subcommands that change the tree and take a rule up to their name (``git commit*``): their
options run nothing but what git's config names. A read-only subcommand takes one too, and its
rule allows only commands that still read (``AllowRule.allows``). Any other gets the exact command:
``git rebase -x``, ``git fetch --upload-pack``, ``git submodule foreach``, ``git bisect run`` and
``git config core.fsmonitor`` run whatever they are given."""
_WRAPPERS = frozenset({"run", "exec", "x", "dlx"})
"""Subcommands that run another program (``npm run test``, ``uv run pytest``): the rule keeps it."""


def suggest_rule(tool: str, command: str | None) -> AllowRule:
    """The rule the approval dialog offers for a call: the tool for a tool that runs no command
    line (``command`` None); for a command, its program and subcommand with ``*`` (``npm test*``
    for ``npm test -- -u``, ``npm run lint*``, ``python3 -m pytest*``), or the command itself when
    it is that short, has shell operators, or names no subcommand an allowance could stop at
    (``python3 -c ...``)."""
    if command is None:
        return AllowRule(tool)
    command = " ".join(command.split())
    if not command:
        raise ValueError("an empty command line has no rule (one for the tool would allow every command)")
    words = _words(command)
    if _OPERATORS.search(command) or words is None or len(words) <= 2:
        return AllowRule(tool, command)
    keep = _prefix_words(words)
    if keep is None:
        return AllowRule(tool, command)
    return AllowRule(tool, shlex.join(words[:keep]) + "*")


def _prefix_words(words: list[str]) -> int | None:
    program, second = words[0].rsplit("/", 1)[-1], words[1]
    if _INTERPRETER.fullmatch(program):
        return 3 if second == "-m" else None
    if second.startswith("-") or "/" in second or "." in second or "=" in second:
        # No subcommand to stop at: a rule for the whole program, but only for one that reads or
        # runs checks (``pytest*``, ``ls*``); ``docker --version`` must not give ``docker*``.
        return None if program in _LAUNCHERS or not _reads_or_checks(words[0]) else 1
    if program == "git":  # a rule up to its subcommand: see _GIT_PREFIXED
        return 2 if second in _GIT_PREFIXED or _prefix_reads_only(words[:2]) else None
    if program in _LAUNCHERS:
        return None
    if second in _WRAPPERS and _INTERPRETER.fullmatch(words[2]):  # uv run python -c ...
        return 5 if len(words) > 4 and words[3] == "-m" else None
    return 3 if second in _WRAPPERS else 2


def allow_file() -> Path:
    """Where the user's saved rules live: ``allow.toml`` beside the user's config.toml."""
    return user_config_path().with_name("allow.toml")


def load_allow_rules(path: Path | None = None) -> list[AllowRule]:
    """The user's saved rules (none if the file does not exist).

    Raises:
        ConfigError: the file is not valid TOML or holds a bad rule (naming the file).
    """
    path = path or allow_file()
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return [*_rules(data, "allow"), *(replace(rule, network=True) for rule in _rules(data, "network"))]
    except (tomllib.TOMLDecodeError, ConfigError, OSError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _rules(data: dict[str, object], key: str) -> list[AllowRule]:
    """The rules under ``key`` (``allow``, or ``network``: only for tools that run commands).

    Raises:
        ConfigError: not a list of rules, or a network rule for a tool that runs no command.
    """
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise ConfigError(f"{key} must be a list of rules")
    rules = [AllowRule.parse(str(item)) for item in raw]
    for rule in rules:
        if key == "network" and not runs_commands(rule.tool):
            raise ConfigError(f"network rule {rule}: {rule.tool} runs no command, so the network is not its to give")
    return rules


def _toml_list(key: str, rules: list[AllowRule]) -> str:
    return f"{key} = [\n" + "".join(f"    {json.dumps(str(r), ensure_ascii=False)},\n" for r in rules) + "]\n"


def save_allow_rule(rule: AllowRule, path: Path | None = None) -> Path:
    """Add ``rule`` to the user's allow.toml (replaced atomically, owner-only:
    ``trust.write_user_file``); returns its path.

    Raises:
        ConfigError: the file exists but cannot be read, or cannot be written.
    """
    path = path or allow_file()
    rules = list(dict.fromkeys([*load_allow_rules(path), rule]))
    _write_rules(path, rules, f"cannot save the allow rule {rule}")
    return path


def remove_saved_allow_rule(rule: AllowRule, path: Path | None = None) -> bool:
    """Take ``rule`` out of the user's allow.toml (rewritten as ``save_allow_rule`` writes it),
    from its ``network`` list too; whether it was there.

    Raises:
        ConfigError: the file cannot be read or written.
    """
    path = path or allow_file()
    rules = load_allow_rules(path)
    kept = [r for r in rules if str(r) != str(rule)]
    if len(kept) == len(rules):
        return False
    _write_rules(path, kept, f"cannot remove the allow rule {rule}")
    return True


def _write_rules(path: Path, rules: list[AllowRule], failing: str) -> None:
    body = ("# Calls asyncfc runs without asking under --approval ask (see `asyncfc` /help).\n"
            "# TOOL allows every call of it; shell(COMMAND*) a command and any further words.\n"
            + _toml_list("allow", [r for r in rules if not r.network]))
    if networked := [r for r in rules if r.network]:
        body += ("# Commands these allow also get the network where the sandbox keeps commands off it.\n"
                 + _toml_list("network", networked))
    try:
        data = body.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{failing}: it holds text that is not valid UTF-8") from None
    write_user_file(path, data, "the allow rules")
