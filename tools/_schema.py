"""A tool's JSON schema, derived from its signature and Google-style docstring, and the checking
(with harmless coercions) of the arguments a model passes against it."""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from ._errors import ArgumentError


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_SECTION_HEADER = re.compile(r"^\s*(Returns|Raises|Yields|Examples?|Notes?):\s*$")
_ARG_LINE = re.compile(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    section = "summary"
    current: str | None = None
    for line in lines:
        if _ARGS_HEADER.match(line):
            section, current = "args", None
        elif _SECTION_HEADER.match(line):
            section, current = "other", None
        elif section == "summary":
            summary.append(line)
        elif section == "args":
            match = _ARG_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if match and indent <= 4:
                current = match.group(1)
                params[current] = match.group(2).strip()
            elif current and line.strip():
                params[current] += " " + line.strip()
    # Docstrings wrap at the code's line length; models read paragraphs, so unwrap them.
    paragraphs = "\n".join(summary).strip().split("\n\n")
    text = "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
    return text, params


def _json_type(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _json_type(rest[0])
        return {"anyOf": [_json_type(a) for a in rest]}
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin in (list, Sequence, tuple) or annotation in (list, tuple):
        item = _json_type(args[0]) if args else {}
        return {"type": "array", "items": item}
    if origin in (dict, Mapping) or annotation is dict:
        return {"type": "object"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in simple:
        return {"type": simple[annotation]}
    raise TypeError(f"tool parameter type {annotation!r} has no JSON schema mapping")


def derive_schema(fn: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    """The model-facing description and JSON schema of a tool function.

    The first parameter (the context) is skipped; parameters without defaults are required.
    """
    summary, docs = _parse_docstring(fn.__doc__ or "")
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())[1:]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in params:
        prop = _json_type(hints.get(param.name, str))
        if param.name in docs:
            prop["description"] = docs[param.name]
        properties[param.name] = prop
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    schema["additionalProperties"] = False
    return summary, schema


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """Forgive the common slips of models (``"5"`` for 5, ``"true"`` for True, a lone item for a
    list); anything else is left for the type check to report."""
    kind = schema.get("type")
    if isinstance(value, str):
        text = value.strip()
        if kind == "integer" and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if kind == "number" and re.fullmatch(r"[+-]?\d+(\.\d*)?", text):
            return float(text)
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    if kind == "array" and not isinstance(value, list) and value is not None:
        return [value]
    return value


def _describe(value: Any) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


def _check(tool_name: str, name: str, value: Any, schema: Mapping[str, Any]) -> Any:
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                return _check(tool_name, name, value, option)
            except ArgumentError:
                continue
        raise ArgumentError(f"{tool_name}: argument {name!r} has the wrong type ({_describe(value)})")
    value = _coerce(value, schema)
    kind = schema.get("type")
    if kind and not _TYPE_CHECKS[kind](value):
        raise ArgumentError(
            f"{tool_name}: argument {name!r} must be of type {kind}, got {_describe(value)}"
        )
    if kind == "number" and not math.isfinite(value):
        raise ArgumentError(f"{tool_name}: argument {name!r} must be a finite number, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ArgumentError(f"{tool_name}: argument {name!r} must be one of {schema['enum']}")
    if kind == "array" and "items" in schema:
        return [_check(tool_name, f"{name}[{i}]", v, schema["items"]) for i, v in enumerate(value)]
    return value


def validate_arguments(tool_name: str, schema: Mapping[str, Any], args: Any) -> dict[str, Any]:
    """See ToolSpec.validate."""
    if not isinstance(args, dict):
        raise ArgumentError(f"{tool_name}: arguments must be a JSON object, got {_describe(args)}")
    properties: Mapping[str, Any] = schema.get("properties", {})
    unknown = sorted(set(args) - set(properties))
    if unknown and schema.get("additionalProperties") is False:
        raise ArgumentError(
            f"{tool_name}: unknown argument(s) {', '.join(unknown)}; "
            f"it takes {', '.join(properties) or 'no arguments'}"
        )
    missing = [p for p in schema.get("required", []) if args.get(p) is None]
    if missing:
        raise ArgumentError(f"{tool_name}: missing required argument(s) {', '.join(missing)}")
    # An explicit null for an optional argument means "use the default".
    return {
        name: _check(tool_name, name, value, properties.get(name, {}))
        for name, value in args.items()
        if value is not None
    }
