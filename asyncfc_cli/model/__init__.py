"""Model clients behind one protocol (``base.ModelClient``): litellm for real providers, the scripted
client for offline, deterministic runs. ``open_model`` picks one from a model name."""

from .base import (
    AssistantMessage,
    Message,
    ModelClient,
    RequestSent,
    ResponseEnd,
    Retrying,
    StreamItem,
    SystemMessage,
    TextChunk,
    ToolCall,
    ToolCallReady,
    ToolMessage,
    Usage,
    UserMessage,
)

__all__ = [
    "AssistantMessage",
    "Message",
    "ModelClient",
    "RequestSent",
    "ResponseEnd",
    "Retrying",
    "StreamItem",
    "SystemMessage",
    "TextChunk",
    "ToolCall",
    "ToolCallReady",
    "ToolMessage",
    "Usage",
    "UserMessage",
]
