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
  redirection to a file, a background job, a function definition, a program it does not know, a
  word whose value is only known when it runs where that value could make the program write, or a
  flag or script that makes a known program write (``sed -i``, ``sed 'w out'``, ``git grep -O``,
  ``git -c``, ``ruff --fix``, ``find -delete``, ``pytest --snapshot-update``...).

The line is read by a real bash parser (``_shell_syntax``): the commands inside pipelines, lists,
subshells, if/for/while bodies, command substitutions and heredocs are all classified, and each
must qualify. Reading from files and writing to ``/dev/null`` or another descriptor are allowed.
The program sets below are plain data: extend them, not the logic.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._api import WHOLE_TREE, Effect, EffectSpec, declared_footprint, runs
from ._sed import sed_may_write
from ._shell_syntax import CommandLine, SimpleCommand, read_command_line

__all__ = ["RISKY_LONG_OPTIONS", "RISKY_SHORT_OPTIONS", "command_effect", "declared_effect", "is_assignment",
           "risky_options", "shell_effect", "shell_words", "test_run_effect", "words_only_read"]

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")

TESTS = "tests"
"""The cache every test run shares (run_tests and test commands): they run one at a time."""

_EXCLUSIVE = Effect("exclusive")
_READS = Effect("reads", (WHOLE_TREE,), unconfined=True)

_READ_ONLY = frozenset({
    "ls", "cat", "head", "tail", "wc", "grep", "egrep", "fgrep", "pwd", "echo",
    "printf", "which", "file", "stat", "du", "df", "diff", "cmp", "cut", "tr", "nl", "basename",
    "dirname", "realpath", "readlink", "true", "false", "uname", "whoami", "cd", "column",
    "comm", "md5sum", "sha1sum", "sha256sum", "jq",
    # They change nothing either (waiting, printing, counting), so they run beside everything.
    "sleep", "seq", "yes", "printenv", "id", "nproc", "expr", "test", "type",
})
_GIT_READ_ONLY = frozenset({
    "status", "diff", "log", "show", "blame", "rev-parse", "ls-files", "ls-tree", "grep",
    "describe", "shortlog", "cat-file", "merge-base", "whatchanged", "rev-list", "count-objects",
})
_GIT_GLOBAL_READ_ONLY = frozenset({
    "--no-pager", "-P", "--no-replace-objects", "--literal-pathspecs", "--glob-pathspecs",
    "--noglob-pathspecs", "--icase-pathspecs", "--no-optional-locks",
})
"""Options before a git subcommand that change nothing; any other (``-c``, ``-C``, ``--git-dir``,
``--exec-path``, ``--paginate``...) may point git at other files or run configured commands."""
RISKY_LONG_OPTIONS: dict[str, tuple[str, ...]] = {
    # --output=FILE (diff, log, show...), grep's pager, external diff and textconv drivers,
    # cat-file's filters and the signature checker (gpg.program): they write the file named or
    # run a program.
    "git": ("output", "open-files-in-pager", "ext-diff", "textconv", "filters", "show-signature"),
    # --basetemp=DIR is deleted and re-made; reports and logs are written where named; -p, --pdbcls
    # and a config file (-c, --config-file, -o/--override-ini) load and run other code; --pastebin
    # sends the output away; --rootdir moves its caches.
    "pytest": ("basetemp", "junitxml", "junit-xml", "log-file", "report-log", "result-log", "resultlog",
               "debug", "pastebin", "pdbcls", "rootdir", "override-ini", "config-file", "cov-report",
               "html", "json-report-file"),
    # The shell npm runs scripts with, other config files, prefix and cache folders, node's options.
    "npm": ("script-shell", "userconfig", "globalconfig", "prefix", "cache", "node-options", "call",
            "shell"),
}
"""THE list of options that make a program write a file they name or run another program, beyond
what the command is known for (``git diff`` reads; ``pytest`` runs the project's tests and writes
its caches). A command using one is never judged read-only or a check, and a prefix allow rule
(``git diff*``, ``pytest*``) does not let it through (``risky_options``). git and npm accept any
unambiguous prefix of a long option, so a prefix of these counts too; pytest does not."""
RISKY_SHORT_OPTIONS: dict[str, str] = {"git grep": "O", "pytest": "pco", "npm": "c"}
"""Short options with the same effect, per program (``git grep -Ovim``; ``pytest -p PLUGIN``,
``-c FILE``, ``-o ini=...``; ``npm exec -c CMD``); a letter anywhere in a single-dash word counts
(``-nO`` is a cluster), which can only make a command ask or wait."""
_ABBREVIATING = frozenset({"git", "npm"})
_EXACT_OPTIONS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("git diff", "git log", "git show", "git grep"), frozenset({"text"})),
    "git rev-list": frozenset({"filter"}), "npm": frozenset({"global"})}
"""Options of their own that happen to begin a risky one (``git diff --text``, ``git rev-list
--filter``, ``npm ls --global``), per program or git subcommand: it takes the exact name, never it
as an abbreviation. Not for others: ``git cat-file --text`` abbreviates ``--textconv``."""
_SHORT_WITH_VALUE = {"pytest": "kmrW"}
"""Short options whose value may follow in the same word (``-Werror``, ``-rfEc``, ``-ktest_op``):
the letters after one are its value, not more options."""
_TERMINAL_REPORTS = re.compile(r"^term(?:-missing)?(?::skip-covered)?$")
"""pytest-cov's reports printed in the terminal (``--cov-report=term-missing``): they write no file."""
_FIND_WRITES = ("-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls")
_WRITE_FLAGS = re.compile(r"^(?:--fix\b|--unsafe-fixes|--write|-w$|-i|--in-place|--output|-o$|"
                          r".*update|.*snapshot|-u$|--inplace)")


_BENIGN_VARIABLE = re.compile(r"^(?:LC_[A-Z]+|LANG|LANGUAGE|TZ|COLUMNS|LINES|TERM|NO_COLOR|FORCE_COLOR|"
                              r"CLICOLOR(?:_FORCE)?|GREP_COLORS?|LS_COLORS)$")
"""Variables a read-only command may be given (``LC_ALL=C sort``, ``TZ=UTC date``); any other
(``PAGER``, ``GIT_EXTERNAL_DIFF``, ``GIT_DIR``, ``LD_PRELOAD``, ``PATH``...) can make the program
run or read something else, so the command is no longer judged read-only."""


def _flags(words: Sequence[str]) -> list[str]:
    return [w for w in words if w.startswith("-")]


def _writes_by_flag(words: Sequence[str]) -> bool:
    return any(_WRITE_FLAGS.match(w) for w in _flags(words))


def _git_read_only(args: Sequence[str]) -> bool:
    """A git command line that only reads: harmless global options, a read-only subcommand, and
    none of its options that write or run something."""
    index = 0
    while index < len(args) and args[index] in _GIT_GLOBAL_READ_ONLY:
        index += 1
    if index >= len(args) or args[index] not in _GIT_READ_ONLY:
        return False  # other subcommands, aliases, other global options
    return not risky_options(["git", *args])


def _unwrapped(words: Sequence[str]) -> tuple[str, list[str]]:
    """The program a command line really runs and its arguments: ``python -m pytest``, ``npx
    jest`` and ``uv run pytest`` run pytest and jest."""
    program, args = words[0], list(words[1:])
    if _PYTHON.match(program) and args[:1] == ["-m"] and len(args) >= 2:
        program, args = args[1], args[2:]
    elif program == "npx" and args:
        program, args = args[0], args[1:]
    elif program == "uv" and args[:1] == ["run"] and len(args) >= 2:
        program, args = args[1], args[2:]
    return os.path.basename(program), args


def risky_options(words: Sequence[str]) -> list[str]:
    """The words of a command (program first) that are options making it write a file they name or
    run a program (``RISKY_LONG_OPTIONS``), up to a ``--``; empty if none."""
    if not words:
        return []
    program, args = _unwrapped(words)
    program = "pytest" if program == "py.test" else program
    key = program
    if program == "git":
        key = "git " + next((a for a in args if not a.startswith("-")), "")
    long, short = RISKY_LONG_OPTIONS.get(program, ()), RISKY_SHORT_OPTIONS.get(key, "")
    found = []
    for arg, following in zip(args, [*args[1:], ""]):
        if arg == "--":
            break
        if program == "pytest" and (arg.startswith("-pno:") or (arg == "-p" and following.startswith("no:"))):
            continue  # turning a plugin off loads nothing
        name, _, value = arg[2:].partition("=")
        if program == "pytest" and name == "cov-report" and _TERMINAL_REPORTS.match(value if "=" in arg else following):
            continue
        abbreviates = program in _ABBREVIATING and name not in _EXACT_OPTIONS.get(key, ())
        if arg.startswith("--") and name and any(
                option == name or (abbreviates and option.startswith(name)) for option in long):
            found.append(arg)
        elif arg[:1] == "-" and arg[1:2] != "-" and _short_cluster_risky(arg[1:], short, _SHORT_WITH_VALUE.get(program, "")):
            found.append(arg)
    return found


def _short_cluster_risky(cluster: str, risky: str, with_value: str) -> bool:
    """Whether a cluster of short options (``-nO``) holds a risky letter before any letter that
    takes the rest of the word as its value."""
    for letter in cluster:
        if letter in risky:
            return True
        if letter in with_value:
            return False
    return False


def words_only_read(words: Sequence[str]) -> bool:
    """Whether one simple command, given as its words (no operators, no assignments), only reads:
    ``command_effect`` of it is ``reads``, judged without parsing a line."""
    return bool(words) and "/" not in words[0] and not is_assignment(words[0]) and _read_only(words[0], words[1:])


def _read_only(program: str, args: Sequence[str | None]) -> bool:
    if program in _ARGUMENT_RULES:
        known = [a for a in args if a is not None]
        return len(known) == len(args) and _ARGUMENT_RULES[program](known)
    return program in _READ_ONLY


def _sort_read_only(args: Sequence[str]) -> bool:
    return not any(a.startswith(("-o", "--output", "--compress-prog")) for a in args) and \
        len([a for a in args if not a.startswith("-")]) <= 1


_ARGUMENT_RULES = {
    "git": _git_read_only,
    "find": lambda args: not any(a.startswith(_FIND_WRITES) for a in args),
    "sed": lambda args: not sed_may_write(args),
    "sort": _sort_read_only,
    # ``--pre CMD`` runs a program on every file searched
    "rg": lambda args: not any(a.startswith("--pre") for a in args),
    # ``date -s`` and ``hostname NAME`` set the machine's clock and name
    "date": lambda args: not any(a.startswith(("-s", "--set")) for a in args),
    "hostname": lambda args: all(a.startswith("-") and a not in ("-F", "--file", "-b", "--boot") for a in args),
    "uniq": _sort_read_only,
    # printing the environment; ``env NAME=v prog`` or ``env -S ...`` runs one
    "env": lambda args: all(a in ("-0", "--null") or is_assignment(a) for a in args),
    # where /bin/sh is bash, ``test -v 'a[$(cmd)]'`` and ``printf -v 'a[$(cmd)]' x`` evaluate the
    # subscript of a quoted word, running the command inside it
    "test": lambda args: not any(a in ("-v", "-R") for a in args),
    "printf": lambda args: not any(a.startswith("-v") for a in args),
}
"""Programs that only read unless some argument says otherwise: every argument must be known."""


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
    if not _PROGRAM_DIR.match(program) or risky_options([program, *args]):
        return None
    program, args = _unwrapped([program, *args])
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


def command_effect(command: str | CommandLine) -> Effect:
    """The effect of running ``command`` with ``/bin/sh`` in the workspace root (see module doc);
    ``command`` as text, or as read already (``read_command_line``)."""
    line = read_command_line(command) if isinstance(command, str) else command
    commands = line.commands if line.text.strip() else None
    if not commands:
        return _EXCLUSIVE
    effects = [_simple_effect(simple) for simple in commands]
    if any(effect.kind == "exclusive" for effect in effects):
        return _EXCLUSIVE
    caches = tuple(dict.fromkeys(c for effect in effects if effect.kind == "runs" for c in effect.paths))
    is_check = any(effect.kind == "runs" for effect in effects)
    return Effect("runs", caches, unconfined=True) if is_check else _READS


def _simple_effect(simple: SimpleCommand) -> Effect:
    """The effect of one simple command: read-only, a check with its caches, or exclusive."""
    for _, value in simple.assignments:  # PYTEST_ADDOPTS=--snapshot-update
        if value is None or _writes_by_flag(value.split()):
            return _EXCLUSIVE
    if not simple.words or simple.words[0] is None:
        return _EXCLUSIVE
    program, args = simple.words[0], simple.words[1:]
    benign = all(_BENIGN_VARIABLE.match(name) for name, _ in simple.assignments)
    if "/" not in program and benign and _read_only(program, args):
        return _READS
    known = [a for a in args if a is not None]
    found = _check_caches(program, known) if len(known) == len(args) else None
    return _EXCLUSIVE if found is None else Effect("runs", found, unconfined=True)


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
