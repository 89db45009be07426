"""asyncfc's built-in tools (installed as ``asyncfc_tools``).

Each tool is a plain typed function declared with ``@tool(effect=...)`` (see ``_api``). The engine
asks ``builtin_tools()`` for the set; nothing here knows about sessions or models.
"""

from __future__ import annotations

from ._api import (
    NO_PROGRESS,
    ArgumentError,
    CallProgress,
    Display,
    Effect,
    EffectSpec,
    RECALL,
    PathOutsideWorkspace,
    ToolContext,
    ToolError,
    ToolFacts,
    ToolSettings,
    ToolSpec,
    UNRESOLVED,
    exclusive,
    pure,
    reads,
    resolve_in_root,
    runs,
    tool,
    writes,
)
from ._env import child_environment
from ._words import describe_exception

__all__ = [
    "NO_PROGRESS",
    "ArgumentError",
    "CallProgress",
    "Display",
    "Effect",
    "EffectSpec",
    "RECALL",
    "PathOutsideWorkspace",
    "ToolContext",
    "ToolError",
    "ToolFacts",
    "ToolSettings",
    "ToolSpec",
    "UNRESOLVED",
    "builtin_tools",
    "child_environment",
    "describe_exception",
    "exclusive",
    "pure",
    "reads",
    "resolve_in_root",
    "runs",
    "tool",
    "writes",
]


def builtin_tools() -> dict[str, ToolSpec]:
    """The workspace tools by name, in the order they are offered to the model.

    Imported on demand so that ``asyncfc --help`` stays cheap (outline pulls in tree-sitter lazily
    on its own first use).
    """
    from .files import edit_file, read_file, write_file
    from .outline import outline
    from .run_tests import run_tests
    from .search import grep, list_files
    from .shell import shell
    from .web_fetch import web_fetch

    specs = [read_file, write_file, edit_file, list_files, grep, outline, shell, run_tests, web_fetch]
    return {spec.name: spec for spec in specs}
