"""Headless renderers: they subscribe to the event bus and print; they never touch the session."""

from .jsonl import JsonlRenderer
from .text import TextRenderer

__all__ = ["JsonlRenderer", "TextRenderer"]
