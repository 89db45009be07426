"""Tool failures in words: the checks every tool shares on numbers, and the one translation of
unexpected exceptions into text for the model (DESIGN 9: never a raw exception repr)."""

from __future__ import annotations

import math

from ._api import ToolError, shown_path

__all__ = ["describe_exception", "positive_seconds"]


def positive_seconds(value: float | None, default: float, name: str = "timeout_s") -> float:
    """A timeout argument, or ``default`` when it is None; refuses zero, negative and non-finite
    values in words (a NaN would otherwise reach trio as an exception group)."""
    seconds = default if value is None else value
    if not math.isfinite(seconds) or seconds <= 0:
        raise ToolError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def describe_exception(tool_name: str, exc: BaseException) -> str:
    """What a tool's unexpected exception means, in words for the model (the one place where
    exceptions that are not ToolErrors are translated): errno texts, a NUL character, numbers too
    large; the exception's type only for what is not recognised."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, ToolError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({shown_path(exc.filename)})" if isinstance(exc.filename, str) else ""
        return f"{tool_name} failed: {exc.strerror}{where}"
    text = str(exc)
    if isinstance(exc, ValueError) and "null" in text and ("byte" in text or "character" in text):
        return (f"{tool_name} failed: an argument contains a NUL character (\\0), which no path or "
                "command line can hold")
    if isinstance(exc, (OverflowError, MemoryError)):
        return f"{tool_name} failed: a number in its arguments is too large to use ({text})"
    return f"{tool_name} raised {type(exc).__name__}: {text}"
