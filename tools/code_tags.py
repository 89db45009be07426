"""Definitions and references of source files, from tree-sitter (a small, stable, pure API).

    language_for("src/app.py")            -> "python"  (None for languages we do not parse)
    extract_tags("src/app.py", source)    -> [Tag(name="main", kind="function", line=3, ...), ...]

Definitions are classes, interfaces, structs, enums, traits, types, functions and methods, each
with its signature line(s) and line range; references are names used (calls, base classes, type
names). Used by the ``outline`` tool and by the repository map. The tag queries are data files in
``queries/*.scm``. tree-sitter is imported on first use, never at import time.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ._api import ToolError

__all__ = ["SUPPORTED", "Tag", "UnsupportedLanguage", "extract_tags", "language_for",
           "supported_languages"]


class UnsupportedLanguage(ToolError):
    """The file's language has no tree-sitter grammar here; the message lists those that do."""


@dataclass(frozen=True, slots=True)
class Tag:
    """One name in a source file: where something is defined, or where a name is used."""

    name: str
    """The identifier, e.g. ``parse_args``."""
    kind: str
    """Definitions: class, interface, struct, enum, trait, type, module, macro, function or method.
    References: call, class or type."""
    line: int
    """1-based line of the name (of the definition's first line, for definitions)."""
    is_definition: bool
    """True for a definition, False for a reference."""
    signature: str = ""
    """Definitions: the header up to the body, whitespace collapsed (``def f(a, b) -> int``)."""
    end_line: int = 0
    """Definitions: the last line of the whole definition; references: same as ``line``."""
    parent: str = ""
    """Definitions: the enclosing class, impl, trait or function name ("" at top level)."""


_SUFFIXES = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust",
}
SUPPORTED = "Python (.py), JavaScript (.js .jsx .mjs), TypeScript (.ts .tsx), Go (.go), Rust (.rs)"
"""The languages we parse, as a user reads them."""

_CLASS_LIKE = frozenset({"class_definition", "class_declaration", "abstract_class_declaration",
                         "class", "interface_declaration", "impl_item", "trait_item"})
_CONTAINERS = {  # node type -> field holding the name shown as a definition's parent
    "class_definition": "name", "function_definition": "name", "class_declaration": "name",
    "abstract_class_declaration": "name", "class": "name", "interface_declaration": "name",
    "function_declaration": "name", "method_definition": "name", "impl_item": "type",
    "trait_item": "name", "function_item": "name", "mod_item": "name", "internal_module": "name",
}
_GENERIC_ARGS = re.compile(r"<.*>|\[.*\]")
_SIGNATURE_CAP = 240
_GENERIC = Tag("", "type", 0, True)


def language_for(path: str | os.PathLike[str]) -> str | None:
    """The language name we parse ``path`` as (by its suffix), or None if unsupported."""
    return _SUFFIXES.get(os.path.splitext(os.fspath(path))[1].lower())


def supported_languages() -> tuple[str, ...]:
    """Language names ``language_for`` can return."""
    return tuple(sorted(set(_SUFFIXES.values())))


@functools.cache
def _language(name: str) -> Any:
    import tree_sitter

    try:
        if name in ("typescript", "tsx"):
            import tree_sitter_typescript as grammar

            raw = grammar.language_tsx() if name == "tsx" else grammar.language_typescript()
        else:
            grammar = __import__(f"tree_sitter_{name}")
            raw = grammar.language()
    except ImportError as exc:
        raise UnsupportedLanguage(f"the tree-sitter grammar for {name} is not installed ({exc})") from None
    return tree_sitter.Language(raw)


@functools.cache
def _query(name: str) -> Any:
    import tree_sitter

    source = resources.files(__package__).joinpath("queries", f"{'typescript' if name == 'tsx' else name}.scm")
    return tree_sitter.Query(_language(name), source.read_text(encoding="utf-8"))


def _text(node: Any, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _signature(node: Any, source: bytes) -> str:
    body = node.child_by_field_name("body")
    value = node.child_by_field_name("value")
    if body is None and value is not None:
        body = value.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    text = source[node.start_byte : end].decode("utf-8", errors="replace")
    if body is None:
        text = text.splitlines()[0] if text else ""
    text = " ".join(text.split())
    for suffix in ("{", ":", "=>", ";"):
        if text.endswith(suffix):
            text = text[: -len(suffix)].rstrip()
    if node.type == "type_spec":
        text = f"type {text}"
    return text if len(text) <= _SIGNATURE_CAP else text[: _SIGNATURE_CAP - 3] + "..."


def _container(node: Any, source: bytes) -> tuple[str, bool]:
    """The enclosing definition's name, and whether it is class-like (so a function is a method)."""
    parent = node.parent
    while parent is not None:
        field = _CONTAINERS.get(parent.type)
        if field is not None:
            named = parent.child_by_field_name(field)
            name = _GENERIC_ARGS.sub("", _text(named, source)).strip() if named is not None else ""
            return name, parent.type in _CLASS_LIKE
        parent = parent.parent
    return "", False


def _go_receiver(node: Any, source: bytes) -> str:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    match = re.search(r"\(\s*(?:\w+\s+)?\*?\s*(\w+)", _text(receiver, source))
    return match.group(1) if match else ""


def _definition(node: Any, name_node: Any, kind: str, source: bytes) -> Tag:
    parent, in_class = _container(node, source)
    if kind == "function" and in_class:
        kind = "method"
    if node.type == "method_declaration":
        parent = _go_receiver(node, source)
    return Tag(_text(name_node, source), kind, node.start_point[0] + 1, True,
               _signature(node, source), node.end_point[0] + 1, parent)


def extract_tags(path: str | os.PathLike[str], source: str | bytes) -> list[Tag]:
    """Every definition and reference in ``source`` (the text of ``path``), in source order.

    Raises:
        UnsupportedLanguage: ``path``'s language is not one we parse (the message lists those).
    """
    import tree_sitter

    language = language_for(path)
    if language is None:
        raise UnsupportedLanguage(f"{os.fspath(path)}: language not supported by outline; "
                                  f"supported: {SUPPORTED}")
    data = source.encode("utf-8", errors="surrogateescape") if isinstance(source, str) else source
    tree = tree_sitter.Parser(_language(language)).parse(data)
    defined: dict[tuple[int, int], Tag] = {}
    references: dict[tuple[int, int], Tag] = {}
    for _, captures in tree_sitter.QueryCursor(_query(language)).matches(tree.root_node):
        for key, nodes in captures.items():
            if not key.startswith("name.") or not nodes:
                continue
            role, _, kind = key[len("name."):].partition(".")
            name_node = nodes[0]
            where = (name_node.start_byte, name_node.end_byte)
            # Go's type_spec matches a specific pattern (struct, interface) and the generic one.
            if role == "definition" and defined.get(where, _GENERIC).kind == "type":
                node = (captures.get(f"definition.{kind}") or [name_node])[0]
                defined[where] = _definition(node, name_node, kind, data)
            elif role == "reference" and where not in references:
                line = name_node.start_point[0] + 1
                references[where] = Tag(_text(name_node, data), kind, line, False, "", line)
    # A name in its own declaration (Go `type Foo struct`, Rust `struct Foo`) is not a use of it.
    uses = [tag for where, tag in references.items() if where not in defined]
    return sorted([*defined.values(), *uses], key=lambda tag: (tag.line, not tag.is_definition))
