"""A command line as bash reads it: the simple commands it runs, through a real bash parser.

``simple_commands`` parses with tree-sitter-bash and walks the whole tree, so commands inside
pipelines, lists, subshells, ``{ }`` groups, if/for/while/case bodies, command and process
substitutions and unquoted heredoc bodies are all found. It gives up (returns None) on anything
whose effect it cannot see from the words alone: output redirection to a file, a background job
(``&``), a function definition, a bare or exported assignment, a ``[[ ]]`` test that evaluates
its operands (``-eq``, ``-v``...), or a line bash would not parse.

This module stands on the model's side of the trust boundary: the command is hostile text; the
result only ever makes the classification more conservative. tree-sitter-bash is imported on first
use (``asyncfc --help`` must not pay for it).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["CommandLine", "SimpleCommand", "read_command_line", "simple_commands"]


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One command as bash runs it, words after quote removal."""

    assignments: tuple[tuple[str, str | None], ...]
    """``NAME=value`` prefixes; the value is None when it holds an expansion."""
    words: tuple[str | None, ...]
    """The program and its arguments; a word is None when it holds an expansion or substitution
    (its value is only known when the line runs)."""


@dataclass(frozen=True, slots=True)
class CommandLine:
    """A command line read once (``read_command_line``): what every judgement of it shares."""

    text: str
    """The line as the model wrote it."""
    commands: tuple[SimpleCommand, ...] | None
    """Its simple commands in source order (``simple_commands``); None if it cannot be read."""

    def runs(self, program: str) -> bool:
        """Whether one of its simple commands runs ``program`` by that bare name (after quote
        removal: ``gi''t log`` runs git). A line that cannot be read counts as running it."""
        return self.commands is None or any(s.words and s.words[0] == program for s in self.commands)


@functools.lru_cache(maxsize=32)
def read_command_line(command: str) -> CommandLine:
    """``command``, parsed. One call's line is judged several times: by its effect when the call
    is admitted and again when it starts (after references are substituted), and by the shell
    tool itself (its effect, whether it runs git); they share this one parse. A parse never
    changes, so the last few are kept, by the exact text."""
    found = simple_commands(command)
    return CommandLine(command, None if found is None else tuple(found))


_CONTAINERS = frozenset({
    "program", "list", "pipeline", "subshell", "compound_statement", "redirected_statement",
    "if_statement", "elif_clause", "else_clause", "while_statement", "for_statement", "do_group",
    "case_statement", "case_item", "negated_command", "test_command", "command_substitution",
    "process_substitution", "heredoc_redirect", "heredoc_body", "herestring_redirect", "string",
    "concatenation", "expansion", "simple_expansion", "arithmetic_expansion", "binary_expression",
    "unary_expression", "parenthesized_expression", "ternary_expression", "postfix_expression",
    "array", "command_name",
})
"""Nodes that run nothing themselves: their children are walked."""
_LEAVES = frozenset({
    "word", "number", "raw_string", "string_content", "variable_name", "special_variable_name",
    "file_descriptor", "heredoc_start", "heredoc_end", "heredoc_content", "regex",
    "extglob_pattern", "ansi_c_string", "translated_string", "test_operator", "comment",
})
"""Nodes that hold text only."""
_EVALUATING_TESTS = frozenset({b"-eq", b"-ne", b"-lt", b"-le", b"-gt", b"-ge", b"-v", b"-R"})
"""``[[ ]]`` operators whose operands bash evaluates as arithmetic or variable names: where
/bin/sh is bash, ``[[ 1 -eq 'a[$(cmd)]' ]]`` and ``[[ -v 'a[$(cmd)]' ]]`` run ``cmd`` from a quoted
word, which reads as inert text."""
_HARMLESS_TARGET = "/dev/null"
_DUPLICATIONS = frozenset({">&", "<&", ">&-", "<&-"})
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_STRING_ESCAPE = re.compile(r"\\([\"\\$`])")


class _Unreadable(Exception):
    """The line does something the words cannot show (internal to the walk)."""


@functools.cache
def _parser() -> Any:
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


def simple_commands(command: str) -> list[SimpleCommand] | None:
    """Every simple command ``command`` would run, in source order; None if the line has an
    effect beyond its commands' words (see module doc) or does not parse."""
    tree = _parser().parse(command.encode("utf-8", "surrogateescape"))
    if tree.root_node.has_error:
        return None
    found: list[SimpleCommand] = []
    try:
        _walk(tree.root_node, found)
    except _Unreadable:
        return None
    return found


def _walk(node: Any, found: list[SimpleCommand]) -> None:
    kind = node.type
    if not node.is_named:
        if kind == "&":
            raise _Unreadable("background job")
        return
    if kind == "command":
        found.append(_simple(node))
    elif kind == "file_redirect":
        _check_redirect(node)
    elif kind == "test_operator" and node.text in _EVALUATING_TESTS:
        raise _Unreadable("a test that evaluates its operands")
    elif kind in _LEAVES:
        return
    elif kind not in _CONTAINERS:
        raise _Unreadable(kind)  # functions, declarations, bare assignments, anything new
    for child in node.children:
        if child.type != "variable_assignment" or kind != "command":
            _walk(child, found)
        else:
            _walk_all(child.children, found)


def _walk_all(nodes: Any, found: list[SimpleCommand]) -> None:
    for node in nodes:
        _walk(node, found)


def _check_redirect(node: Any) -> None:
    """Reading from a file, duplicating a descriptor and writing to /dev/null are harmless; any
    other output redirection writes a file."""
    operator = next((c.type for c in node.children if not c.is_named), "")
    target = node.child_by_field_name("destination")
    value = _literal(target) if target is not None else None
    if operator == "<":
        return
    if operator in _DUPLICATIONS:
        if target is None or value is not None and (value.isdigit() or value == "-"):
            return
        raise _Unreadable("output redirection to a file")  # `>& file`
    if value != _HARMLESS_TARGET:
        raise _Unreadable("output redirection to a file")


def _simple(node: Any) -> SimpleCommand:
    assignments: list[tuple[str, str | None]] = []
    words: list[str | None] = []
    for child in node.named_children:
        if child.type == "variable_assignment":
            name = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
            assignments.append((name.text.decode() if name else "",
                                _literal(value) if value is not None else ""))
        elif child.type == "command_name":
            words.append(_literal(child.named_children[0]) if child.named_children else None)
        elif child.type not in ("file_redirect", "herestring_redirect", "comment"):
            words.append(_literal(child))
    return SimpleCommand(tuple(assignments), tuple(words))


def _literal(node: Any) -> str | None:
    """The value of a word after quote removal, or None if it holds an expansion."""
    kind, text = node.type, node.text.decode("utf-8", "surrogateescape")
    if kind == "word":
        return _ESCAPE.sub(r"\1", text)
    if kind == "number":
        return text
    if kind == "raw_string":
        return text[1:-1]
    if kind == "string":
        parts = node.named_children
        if any(part.type != "string_content" for part in parts):
            return None
        return _STRING_ESCAPE.sub(r"\1", text[1:-1])
    if kind == "concatenation":
        values = [_literal(part) for part in node.named_children]
        return None if any(v is None for v in values) else "".join(values)  # type: ignore[arg-type]
    return None
