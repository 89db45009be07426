"""The one place typed messages become wire dicts (OpenAI chat format, which litellm translates for
every provider) and back. Transcripts store this form too, so resume replays it exactly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage

__all__ = ["message_from_wire", "message_to_wire", "messages_to_wire"]


def message_to_wire(message: Message) -> dict[str, Any]:
    """The OpenAI-style dict for one message."""
    match message:
        case SystemMessage(text=text):
            return {"role": "system", "content": text}
        case UserMessage(text=text, delivery=delivery):
            wire: dict[str, Any] = {"role": "user", "content": text}
            if delivery:
                # Not a provider field: stripped by messages_to_wire before a request.
                wire["asyncfc_delivery"] = True
            return wire
        case AssistantMessage(text=text, tool_calls=calls):
            wire = {"role": "assistant", "content": text or None}
            if calls:
                wire["tool_calls"] = [
                    {
                        "id": call.call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in calls
                ]
            return wire
        case ToolMessage(call_id=call_id, name=name, content=content):
            return {"role": "tool", "tool_call_id": call_id, "name": name, "content": content}
    raise TypeError(f"not a message: {message!r}")


def messages_to_wire(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Request-ready dicts: our private markers removed."""
    out = []
    for message in messages:
        wire = message_to_wire(message)
        wire.pop("asyncfc_delivery", None)
        out.append(wire)
    return out


def message_from_wire(wire: Mapping[str, Any]) -> Message:
    """Inverse of message_to_wire (for resume and replay).

    Raises:
        ValueError: the dict is not a message we write.
    """
    role = wire.get("role")
    content = wire.get("content") or ""
    if role == "system":
        return SystemMessage(content)
    if role == "user":
        return UserMessage(content, delivery=bool(wire.get("asyncfc_delivery")))
    if role == "assistant":
        calls = tuple(
            ToolCall(c["id"], c["function"]["name"], c["function"].get("arguments") or "", i)
            for i, c in enumerate(wire.get("tool_calls") or ())
        )
        return AssistantMessage(content, calls)
    if role == "tool":
        return ToolMessage(wire["tool_call_id"], wire.get("name", ""), content)
    raise ValueError(f"unknown message role {role!r}")
