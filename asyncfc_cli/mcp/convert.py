"""MCP tools as asyncfc tools, and MCP results as the text a future holds: pure functions.

- Names: a server's tool ``search`` on server ``docs`` is offered as ``docs__search`` (characters
  a provider refuses in a function name become ``_``; at most 64 characters).
- Effects: what the user's config says for the tool (``effects``), else the server's read-only hint
  (``readOnlyHint``: it touches nothing in the workspace, so it is pure and needs no approval),
  else exclusive: it may change anything, so it waits for and holds back every other non-pure call
  and needs approval under ``ask`` (per server and tool: the name says both).
- Results: text blocks as they are; structured content as JSON when no text says it; images,
  audio and binary resources as notes (the model cannot use the bytes); text resources with their
  URI; an error result fails the future with its text.

The objects read here are the SDK's (``mcp_types``), read by attribute, so tests can build them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncfc_tools import Effect, EffectSpec, ToolError, ToolSpec

from .config import McpServerConfig

__all__ = ["McpToolSpec", "effect_for", "offered_name", "result_text"]

SEPARATOR = "__"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def offered_name(server: str, tool: str) -> str:
    """``SERVER__TOOL`` as the model is offered it (see the module docstring)."""
    return f"{server}{SEPARATOR}{_UNSAFE.sub('_', tool)}"[:64]


def effect_for(config: McpServerConfig, tool: str, read_only_hint: bool | None) -> EffectSpec:
    """The effect of every call of ``tool`` (see the module docstring)."""
    declared = config.effects.get(tool, config.effects.get("*"))
    believed = read_only_hint and not config.from_repository
    kind = declared or ("pure" if believed else "exclusive")
    effect = Effect("pure") if kind == "pure" else Effect("exclusive")
    return lambda args, root: effect


@dataclass(frozen=True, slots=True)
class McpToolSpec(ToolSpec):
    """A server's tool. Its schema is the server's own, which may use JSON schema the engine's
    checker does not know; the server checks the arguments, so only their shape is checked here."""

    server: str = ""
    """The configured server's name."""
    remote_name: str = ""
    """The tool's name on the server."""
    read_only: bool = False
    """Whether the server hinted that the tool only reads."""

    def validate(self, args: Any) -> dict[str, Any]:
        if not isinstance(args, dict):
            raise ToolError(f"{self.name}: arguments must be a JSON object")
        return {k: v for k, v in args.items() if v is not None}


def _note(kind: str, mime: str | None, size: int | None = None, uri: str | None = None) -> str:
    parts = [kind, mime or "unknown type"]
    if size is not None:
        parts.append(f"{size} bytes")
    if uri:
        parts.append(uri)
    return f"[{', '.join(parts)}: not shown]"


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        data = getattr(block, "data", "") or ""
        return _note(kind, getattr(block, "mime_type", None), len(data) * 3 // 4)
    if kind == "resource_link":
        return f"[resource link: {block.uri}" + (f" ({block.name})" if getattr(block, "name", "") else "") + "]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return f"[resource {resource.uri}]\n{text}"
        blob = getattr(resource, "blob", "") or ""
        return _note("resource", getattr(resource, "mime_type", None), len(blob) * 3 // 4, str(resource.uri))
    return f"[{kind or 'unknown'} content: not shown]"


def result_text(tool: str, content: Sequence[Any], structured: Mapping[str, Any] | None, is_error: bool) -> str:
    """The value of a call whose result holds ``content`` blocks and ``structured`` content.

    Raises:
        ToolError: the server reported the call as failed (with its text).
    """
    blocks = [_block_text(block) for block in content]
    has_text = any(getattr(block, "type", "") == "text" for block in content)
    if structured is not None and not has_text:
        blocks.append(json.dumps(structured, ensure_ascii=False, indent=1))
    text = "\n".join(blocks)
    if is_error:
        raise ToolError(f"{tool} failed: {text or 'the server gave no reason'}")
    return text or "(no content)"
