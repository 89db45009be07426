"""The model seam: provider-neutral messages, what a streaming response yields, and the protocol.

The session speaks only these types. A client turns them into its wire form (``wire.py`` for the
OpenAI-style dicts litellm takes) and turns the provider's stream back into ``StreamItem`` values.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ..futures import ToolCall  # the calls a response carries are the futures protocol's

__all__ = [
    "AssistantMessage",
    "Message",
    "ModelClient",
    "OUTPUT_LIMIT",
    "ResponseEnd",
    "RequestSent",
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


@dataclass(frozen=True, slots=True)
class SystemMessage:
    text: str
    role: Literal["system"] = "system"


@dataclass(frozen=True, slots=True)
class UserMessage:
    text: str
    """What the user said, or the delivery blocks of finished futures."""
    delivery: bool = False
    """True for the message that delivers future values before a request."""
    role: Literal["user"] = "user"


@dataclass(frozen=True, slots=True)
class AssistantMessage:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True, slots=True)
class ToolMessage:
    call_id: str
    name: str
    content: str
    """The value, or the placeholder ``{"future": "f3", "status": "running"}``."""
    role: Literal["tool"] = "tool"


Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts and cost of one request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    """USD, when the model's price is known; None otherwise."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost is None and other.cost is None else (self.cost or 0) + (other.cost or 0)
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
        )


@dataclass(frozen=True, slots=True)
class TextChunk:
    """Assistant text as it streams."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallReady:
    """A tool call whose arguments are complete: the engine dispatches it at once, mid-stream."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class RequestSent:
    """The client has finished its own start-up and is sending the request now: its import, set-up
    and any retry back-off are over, so the model's time to first token counts from here (the
    early-wait hold must not grow with the client's first-request costs). Optional: a client that
    never yields one has its time to first token counted from the request's start."""


@dataclass(frozen=True, slots=True)
class Retrying:
    """The client is about to retry the request (rate limit, 5xx, connection error)."""

    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class ResponseEnd:
    """The response is complete. Always the last item of a stream."""

    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    """``stop`` or ``tool_calls`` for a complete reply; ``length`` when the output limit cut it."""
    dropped_call: str = ""
    """The tool whose call the output limit cut in the middle of its arguments: it was never
    yielded (a cut call must not run), and the session tells the model so."""


OUTPUT_LIMIT = "length"
"""The finish reason of a reply cut by the output limit (litellm maps every provider's to it)."""


StreamItem = TextChunk | ToolCallReady | RequestSent | Retrying | ResponseEnd


@runtime_checkable
class ModelClient(Protocol):
    """Anything that can stream a response to a conversation.

    ``stream`` is an async generator run on trio: it yields text chunks and each tool call as soon as
    its arguments are complete, then exactly one ``ResponseEnd``. The session closes it (``aclose``)
    as soon as it stops reading, and cancelling the consumer must stop the underlying request
    promptly. Failures raise ``ModelError`` (after any retries).
    """

    name: str
    """How the model is named in events and the status bar."""
    scripted: bool
    """True for the offline scripted client."""

    async def wait_ready(self) -> None:
        """Return once a request can leave without waiting for the client's own start-up (a
        library's import). The session awaits it before it builds a request, so what came up
        meanwhile (an MCP server's tools) is in that request; the wait is counted in it, as the
        client's start-up (``first_token.client_s``)."""

    def stream(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> AsyncGenerator[StreamItem, None]: ...
