"""Headless renderers: they subscribe to the event bus and print; they never touch the session."""

from .jsonl import JsonlRenderer
from .result import ResultRenderer
from .text import TextRenderer

__all__ = ["JsonlRenderer", "ResultRenderer", "TextRenderer"]
