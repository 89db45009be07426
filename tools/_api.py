"""How a tool is declared: a plain typed function, an effect, and a schema derived from both.

A tool is an ordinary function whose first parameter is the ``ctx`` it runs in (a ToolContext) and
whose remaining parameters are what the model passes. Its JSON schema comes from the signature and
the Google-style docstring (summary, then ``Args:``), so nothing is written twice::

    @tool(effect=reads("path"))
    def read_file(ctx: ToolContext, path: str, offset: int = 1) -> str:
        \"\"\"Read a text file.

        Args:
            path: file to read, relative to the workspace root.
            offset: first line to show (1-based).
        \"\"\"

Sync tools run in a worker thread (abandoned on cancel); ``async def`` tools run on trio directly.
Either returns the text the model is shown, or raises ToolError with a message the model can act on.

This package knows nothing of sessions, models or schedulers: it is imported by them, never the
other way round.

This module is the declaration API in one place; its parts live along their seams: ``_errors``
(ToolError and its kinds), ``_effects`` (effects and effect specs), ``_context`` (ToolContext,
ToolSettings, path confinement), ``_schema`` (schema from signature and docstring, argument
checking) and ``_spec`` (ToolSpec, ToolFacts, Display and ``@tool``).
"""

from __future__ import annotations

from ._context import (
    AGENT_SETTINGS,
    NAME_MAX,
    NO_PROGRESS,
    PATH_MAX,
    CallProgress,
    ToolContext,
    ToolSettings,
    check_path_text,
    resolve_in_root,
    shown_path,
)
from ._effects import (
    UNRESOLVED,
    WHOLE_TREE,
    Effect,
    EffectKind,
    EffectSpec,
    declared_footprint,
    exclusive,
    glob_base,
    normalise_effect_path,
    path_matcher,
    pure,
    reads,
    runs,
    writes,
)
from ._errors import ArgumentError, PathOutsideWorkspace, ToolError
from ._schema import derive_schema, validate_arguments
from ._spec import READ_AGAIN, RECALL, Display, DurationKey, Preview, ToolFacts, ToolSpec, tool

__all__ = [
    "AGENT_SETTINGS",
    "NAME_MAX",
    "NO_PROGRESS",
    "PATH_MAX",
    "READ_AGAIN",
    "RECALL",
    "UNRESOLVED",
    "WHOLE_TREE",
    "ArgumentError",
    "CallProgress",
    "Display",
    "DurationKey",
    "Effect",
    "EffectKind",
    "EffectSpec",
    "PathOutsideWorkspace",
    "Preview",
    "ToolContext",
    "ToolError",
    "ToolFacts",
    "ToolSettings",
    "ToolSpec",
    "check_path_text",
    "declared_footprint",
    "derive_schema",
    "exclusive",
    "glob_base",
    "normalise_effect_path",
    "path_matcher",
    "pure",
    "reads",
    "resolve_in_root",
    "runs",
    "shown_path",
    "tool",
    "validate_arguments",
    "writes",
]
