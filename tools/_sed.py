"""Whether a ``sed`` command line may write a file or run a command, read as GNU sed reads it.

sed writes in more ways than ``-i``: options are permuted (``sed -n 1p -i f`` edits f), short
options cluster (``-ni``), long options abbreviate (``--in`` is ``--in-place``), and a script
writes with its ``w``/``W`` commands and the ``w`` flag of ``s///``, or runs a shell command with
``e`` and the ``e`` flag. A script from a file (``-f``) cannot be seen, so it counts as writing.
Anything this reader does not recognise counts as writing too: it may only make a command wait.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["sed_may_write"]

_FLAGS = frozenset("nsrEuzb")
"""Short options without an argument that neither write nor run anything."""
_LONG_SAFE = frozenset({
    "quiet", "silent", "regexp-extended", "separate", "unbuffered", "null-data",
    "zero-terminated", "posix", "debug", "sandbox", "binary", "follow-symlinks", "help", "version",
    "line-length",
})
_LONG_WRITING = frozenset({"in-place", "file"})
_LONG_SCRIPT = "expression"
_READING_COMMANDS = frozenset("pPdDqQ=lnNhHgGxzF")
_TEXT_COMMANDS = frozenset("aic")
"""Commands whose argument is text up to the end of the line."""
_FILE_READS = frozenset("rR")
_LABELLED = frozenset(":btT")
_ADDRESS_CHARS = frozenset("0123456789$,~+!-")


def sed_may_write(args: Sequence[str | None]) -> bool:
    """Whether ``sed`` with these arguments (None: an unknown word) may change a file or run a
    command. False only when every option and the whole script are known to only read."""
    scripts, operands = _options(args)
    if scripts is None:
        return True
    if not scripts:
        if not operands:
            return True
        scripts = [operands[0]]
    return any(_script_may_write(script) for script in scripts)


def _options(args: Sequence[str | None]) -> tuple[list[str] | None, list[str]]:
    """The scripts given with -e/--expression and the operands; scripts None when an option
    writes, reads a script file, or cannot be known."""
    scripts: list[str] = []
    operands: list[str] = []
    words = list(args)
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word is None:
            return None, operands
        if word == "--":
            if any(w is None for w in words[index:]):
                return None, operands
            operands.extend(w for w in words[index:] if w is not None)
            break
        if word.startswith("--"):
            name, has_value, value = word[2:].partition("=")
            full = _long_name(name)
            if full is None or full in _LONG_WRITING:
                return None, operands
            if full == _LONG_SCRIPT:
                script = value if has_value else (words[index] if index < len(words) else None)
                index += 0 if has_value else 1
                if script is None:
                    return None, operands
                scripts.append(script)
            elif full == "line-length" and not has_value:
                index += 1
        elif word.startswith("-") and len(word) > 1:
            taken = _short_cluster(word[1:], words[index] if index < len(words) else None, scripts)
            if taken is None:
                return None, operands
            index += taken
        else:
            operands.append(word)
    return scripts, operands


def _long_name(name: str) -> str | None:
    """The long option ``name`` abbreviates (getopt accepts any unambiguous prefix); None if it
    names none, or may name one that writes."""
    if not name:
        return None
    options = _LONG_SAFE | _LONG_WRITING | {_LONG_SCRIPT}
    if name in options:
        return name
    matches = [option for option in options if option.startswith(name)]
    if any(option in _LONG_WRITING for option in matches) or len(matches) != 1:
        return None
    return matches[0]


def _short_cluster(cluster: str, following: str | None, scripts: list[str]) -> int | None:
    """Read one ``-xyz`` cluster; returns how many following words it consumed, or None if it
    writes (``i``), reads a script file (``f``) or cannot be known."""
    for position, flag in enumerate(cluster):
        rest = cluster[position + 1 :]
        if flag in _FLAGS:
            continue
        if flag in ("e", "l"):
            value = rest or following
            if value is None:
                return None
            if flag == "e":
                scripts.append(value)
            return 0 if rest else 1
        return None  # -i, -f and anything unknown
    return 0


def _script_may_write(script: str) -> bool:
    """Whether a sed script has a command that writes a file (w, W, s///w) or runs one (e,
    s///e), or anything this reader does not recognise."""
    text, index = script, 0
    while index < len(text):
        char = text[index]
        if char in " \t\n;{}" or char in _ADDRESS_CHARS:
            index += 1
        elif char in "/\\":
            index = _skip_regex_address(text, index)
        elif char == "#":
            index = _line_end(text, index)
        elif char in _READING_COMMANDS:
            index += 1
        elif char in _TEXT_COMMANDS or char in _LABELLED or char in _FILE_READS:
            index = _line_end(text, index) if char not in _LABELLED else _label_end(text, index)
        elif char == "s":
            index = _skip_substitution(text, index)
            if index < 0:
                return True
        elif char == "y":
            index = _skip_delimited(text, index + 1, parts=2)
            if index < 0:
                return True
        else:
            return True  # w, W, e, and anything unknown
        if index < 0:
            return True
    return False


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _label_end(text: str, index: int) -> int:
    ends = [i for i in (text.find("\n", index), text.find(";", index)) if i >= 0]
    return min(ends) if ends else len(text)


def _skip_delimited(text: str, index: int, parts: int) -> int:
    """Index after ``parts`` parts delimited by text[index] (backslash escapes honoured); -1 if
    the script ends first."""
    if index >= len(text):
        return -1
    delimiter = text[index]
    index += 1
    for _ in range(parts):
        while index < len(text) and text[index] != delimiter:
            index += 2 if text[index] == "\\" else 1
        if index >= len(text):
            return -1
        index += 1
    return index


def _skip_regex_address(text: str, index: int) -> int:
    if text[index] == "\\":  # \cREGEXc
        return _skip_delimited(text, index + 1, parts=1)
    end = _skip_delimited(text, index, parts=1)
    while 0 <= end < len(text) and text[end] in "IM":
        end += 1
    return end


def _skip_substitution(text: str, index: int) -> int:
    """Index after ``s/regex/replacement/flags``; -1 if a flag writes or runs (w, e) or the
    command does not end where it should."""
    index = _skip_delimited(text, index + 1, parts=2)
    if index < 0:
        return -1
    while index < len(text) and text[index] not in ";\n}":
        flag = text[index]
        if flag in "we" or not (flag.isdigit() or flag in "gpiImM \t"):
            return -1
        index += 1
    return index
