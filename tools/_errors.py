"""The tools' one error hierarchy: what a tool raises is shown to the model as the failure text."""

from __future__ import annotations


class ToolError(Exception):
    """A tool could not do what was asked. The message is shown to the model as the failure text."""


class ArgumentError(ToolError):
    """The arguments do not fit the tool's schema (missing, unknown, or of the wrong type)."""


class PathOutsideWorkspace(ToolError):
    """A path resolves (symlinks followed) to somewhere outside the workspace root, or into git's
    own files (a ``.git`` folder or file), which are out of bounds too."""
