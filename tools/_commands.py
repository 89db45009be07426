"""What a shell command line may touch, decided from its words before it runs.

The scheduler keeps program order from effects, and ``shell`` would otherwise have to be exclusive
for every command: a read-only ``git diff`` would wait behind a test run and block every later
read. So a command line is classified, conservatively:

- read-only: every command in it only reads (``git status``, ``ls``, ``grep``, ``sed -n 5,9p``...)
  -> ``reads(".")``: runs beside other reads and checks, after earlier writes;
- a check: it runs the project's tests, linters or type checkers (``pytest``, ``ruff check``,
  ``mypy``, ``cargo test``...), possibly piped into read-only commands -> ``runs(cache...)``: reads
  the tree and writes only its tool's caches, like ``run_tests``;
- anything else -> exclusive. So is any line the classifier cannot read with certainty: output
  redirection to a file, command or variable substitution, subshells, background jobs, a program
  it does not know, or a flag that makes a known program write (``sed -i``, ``ruff --fix``,
  ``find -delete``, ``pytest --snapshot-update``...).

Separators ``|``, ``&&``, ``||`` and ``;`` are allowed between classified commands; ``2>&1`` and
redirection to ``/dev/null`` are allowed anywhere.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._api import WHOLE_TREE, Effect, EffectSpec, declared_footprint, runs

__all__ = ["command_effect", "declared_effect", "is_assignment", "shell_effect", "shell_words", "test_run_effect"]

_SEPARATORS = {"|", "&&", "||", ";"}
_HARMLESS_REDIRECT = re.compile(r"(?<!\S)(?:\d?>&\d|\d?>>?\s*/dev/null)(?!\S)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_UNSAFE_CHARS = ("$", "`", "\n")

TESTS = "tests"
"""The cache every test run shares (run_tests and test commands): they run one at a time."""

_EXCLUSIVE = Effect("exclusive")
_READS = Effect("reads", (WHOLE_TREE,), unconfined=True)

_READ_ONLY = frozenset({
    "ls", "cat", "head", "tail", "wc", "grep", "egrep", "fgrep", "rg", "pwd", "echo",
    "printf", "which", "file", "stat", "du", "df", "diff", "cmp", "cut", "tr", "nl", "basename",
    "dirname", "realpath", "readlink", "date", "true", "false", "uname", "whoami", "cd", "column",
    "comm", "md5sum", "sha1sum", "sha256sum", "jq",
    # They change nothing either (waiting, printing, counting), so they run beside everything.
    "sleep", "seq", "yes", "printenv", "id", "hostname", "nproc", "expr", "test", "type",
})
_GIT_READ_ONLY = frozenset({
    "status", "diff", "log", "show", "blame", "rev-parse", "ls-files", "ls-tree", "grep",
    "describe", "shortlog", "cat-file", "merge-base", "whatchanged", "rev-list", "count-objects",
})
_FIND_WRITES = ("-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls")
_WRITE_FLAGS = re.compile(r"^(?:--fix\b|--unsafe-fixes|--write|-w$|-i|--in-place|--output|-o$|"
                          r".*update|.*snapshot|-u$|--inplace)")


def _flags(words: Sequence[str]) -> list[str]:
    return [w for w in words if w.startswith("-")]


def _writes_by_flag(words: Sequence[str]) -> bool:
    return any(_WRITE_FLAGS.match(w) for w in _flags(words))


def _read_only(program: str, args: Sequence[str]) -> bool:
    if program == "git":
        args = [a for a in args if a != "--no-pager"]
        return bool(args) and args[0] in _GIT_READ_ONLY and not any(a.startswith("--output") for a in args)
    if program == "find":
        return not any(a.startswith(_FIND_WRITES) for a in args)
    if program == "sed":  # only printing ranges: sed -n 10,20p FILE
        return len(args) >= 2 and args[0] == "-n" and re.fullmatch(r"\d+(,(\d+|\$))?p", args[1]) is not None
    if program == "env":  # printing the environment; ``env NAME=v prog`` or ``env -S ...`` runs one
        return all(a in ("-0", "--null") or is_assignment(a) for a in args)
    if program in ("sort", "uniq"):
        return not any(a.startswith(("-o", "--output")) for a in args) and \
            len([a for a in args if not a.startswith("-")]) <= 1
    return program in _READ_ONLY


# Checks: (program, first argument or None for any) -> the caches they write.
_CHECKS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("pytest", None): (TESTS,),
    ("py.test", None): (TESTS,),
    ("unittest", None): (TESTS,),
    ("mypy", None): ("mypy",),
    ("pyflakes", None): (),
    ("compileall", None): ("pycache",),
    ("flake8", None): (),
    ("pylint", None): (),
    ("pyright", None): (),
    ("ruff", "check"): ("ruff",),
    ("black", "--check"): ("black",),
    ("isort", "--check-only"): (),
    ("isort", "--check"): (),
    ("go", "test"): (TESTS,),
    ("go", "vet"): ("go",),
    ("cargo", "test"): (TESTS, "cargo"),
    ("cargo", "check"): ("cargo",),
    ("cargo", "clippy"): ("cargo",),
    ("cargo", "build"): ("cargo",),
    ("npm", "test"): (TESTS,),
    ("tsc", "--noEmit"): (),
    ("eslint", None): ("eslint",),
    ("jest", None): (TESTS,),
    ("vitest", None): (TESTS,),
}
_PYTHON = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")
_PROGRAM_DIR = re.compile(r"^(?:/.*/|(?:\./)?(?:\.?venv|env)/bin/|(?:\./)?node_modules/\.bin/)?[^/]+$")
"""Where a check's program may live: on PATH, an absolute path, or a virtualenv / node_modules bin
(a script elsewhere in the workspace is the project's own code, not the tool it is named after)."""


def _check_caches(program: str, args: Sequence[str]) -> tuple[str, ...] | None:
    """The caches a check command writes, or None when it is not a known check."""
    if not _PROGRAM_DIR.match(program):
        return None
    if _PYTHON.match(program) and args[:1] == ["-m"] and len(args) >= 2:
        program, args = args[1], args[2:]
    elif program == "npx" and args:
        program, args = args[0], args[1:]
    elif program == "uv" and args[:1] == ["run"] and len(args) >= 2:
        program, args = args[1], args[2:]
    program = os.path.basename(program)
    if _writes_by_flag(args):
        return None
    if program == "npm" and args[:2] == ["run", "test"]:
        args = ["test", *args[2:]]
    if program in ("tsc", "black", "isort"):
        found = next((k for k in _CHECKS if k[0] == program and k[1] in args), None)
        return _CHECKS[found] if found else None
    return _CHECKS.get((program, args[0] if args else ""), _CHECKS.get((program, None)))


def shell_words(command: str) -> list[str] | None:
    """The words of a command line as /bin/sh splits them, operators (``&&``, ``|``, ``;``, ``>``...)
    as words of their own; None if its quotes do not balance."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return None


def is_assignment(word: str) -> bool:
    """Whether ``word`` is a ``NAME=value`` environment assignment before a command."""
    return _ASSIGNMENT.match(word) is not None


def _words(command: str) -> list[str] | None:
    if any(c in command for c in _UNSAFE_CHARS):
        return None
    return shell_words(_HARMLESS_REDIRECT.sub(" ", command))


def _simple_commands(words: list[str]) -> list[list[str]] | None:
    commands: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS:
            commands.append([])
        elif word and set(word) <= set("<>&|;()"):
            return None  # redirection, background job, subshell
        else:
            commands[-1].append(word)
    return commands if all(commands) else None


def command_effect(command: str) -> Effect:
    """The effect of running ``command`` with ``/bin/sh`` in the workspace root (see module doc)."""
    words = _words(command)
    commands = _simple_commands(words) if words else None
    if not commands:
        return _EXCLUSIVE
    caches: list[str] = []
    is_check = False
    for simple in commands:
        while simple and is_assignment(simple[0]):
            if _writes_by_flag(simple[0].split("=", 1)[1].split()):  # PYTEST_ADDOPTS=--snapshot-update
                return _EXCLUSIVE
            simple = simple[1:]
        if not simple:
            return _EXCLUSIVE
        program, args = simple[0], simple[1:]
        if "/" not in program and _read_only(program, args):
            continue
        found = _check_caches(program, args)
        if found is None:
            return _EXCLUSIVE
        is_check = True
        caches.extend(c for c in found if c not in caches)
    return Effect("runs", tuple(caches), unconfined=True) if is_check else _READS


def declared_effect(writes: object, root: Path | None, *, background: bool = False) -> Effect:
    """The effect of a command whose footprint the model declared: it reads the whole tree and
    writes only ``writes`` (paths or globs; ``[]``: nothing). Anything but a list of strings is
    taken as "may write anything" (a footprint that only adds waiting)."""
    if isinstance(writes, str):
        writes = [writes]  # validation makes the same forgiving coercion
    if not isinstance(writes, list) or not all(isinstance(w, str) for w in writes):
        writes = [WHOLE_TREE]
    return Effect("declared", declared_footprint(writes, root), unconfined=True, background=background)


def shell_effect() -> EffectSpec:
    """The effect spec of the shell tool: the model's declaration (``writes``, ``background``: a
    background command writes what it declares, by default nothing), else its ``command``
    argument, classified."""
    def spec(args: Mapping[str, Any], root: Path | None) -> Effect:
        background = args.get("background") in (True, "true")
        if background or args.get("writes") is not None:
            return declared_effect(args.get("writes", []), root, background=background)
        command = args.get("command")
        return command_effect(command) if isinstance(command, str) else _EXCLUSIVE

    return spec


def test_run_effect() -> EffectSpec:
    """The effect spec of run_tests: a run (``runs(tests)``), unless its extra ``args`` carry a
    flag that makes the runner write (``--snapshot-update``, ``-u``...): then exclusive."""
    run = runs(TESTS)

    def spec(args: Mapping[str, Any], root: Path | None) -> Effect:
        extra = args.get("args")
        words = [w for w in extra if isinstance(w, str)] if isinstance(extra, list) else []
        if not isinstance(extra, (list, type(None))) or _writes_by_flag(words):
            return _EXCLUSIVE
        return run(args, root)

    return spec
