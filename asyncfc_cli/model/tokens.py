"""How many tokens a conversation takes, and how many a model can take: the model's side of the
context budget (``context.ContextBudget`` compacts; this module counts).

The estimates are provider-neutral and cheap. The exact count and the window come from litellm
(imported lazily, and only for real models: a scripted model is not even known to it), so asking
for them may block while litellm and its tokenizers load; ``counting_blocks`` says when.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from .base import Message
from .litellm_worker import import_litellm
from .scenario import scenario_source

__all__ = ["Count", "DEFAULT_WINDOW", "byte_bound", "context_window", "counting_blocks",
           "estimate_message_tokens", "message_counter"]

DEFAULT_WINDOW = 128_000
"""The window assumed for a model litellm does not know (and for scripted models)."""

Count = Callable[[Sequence[Message]], int]
"""Tokens a list of messages takes in a request."""


def estimate_message_tokens(messages: Sequence[Message]) -> int:
    """About four characters a token, plus a little per message: cheap, provider-neutral."""
    from .wire import messages_to_wire

    return sum(4 + (len(json.dumps(w, ensure_ascii=False)) + 3) // 4
               for w in messages_to_wire(messages))


def byte_bound(messages: Sequence[Message]) -> int:
    """An upper bound on any tokenizer's count: no token is shorter than one byte of UTF-8, plus a
    few tokens of framing per message. Cheap, so the exact count is only paid near the limit."""
    from .wire import messages_to_wire

    return sum(8 + len(json.dumps(w, ensure_ascii=False).encode("utf-8")) for w in messages_to_wire(messages))


def counting_blocks(model: str | None) -> bool:
    """Whether counting for ``model`` may block (it loads and runs litellm's tokenizers): false
    for no model and for the offline scripted client, which litellm knows nothing of."""
    return bool(model) and scenario_source(model) is None


def message_counter(model: str | None) -> Count:
    """litellm's token counter for ``model`` (falling back to the estimate when litellm cannot
    count it); the estimate alone for scripted models or no model."""
    if not counting_blocks(model):
        return estimate_message_tokens

    def count(messages: Sequence[Message]) -> int:
        from .wire import messages_to_wire

        try:
            litellm = import_litellm()
            return int(litellm.token_counter(model=model, messages=messages_to_wire(messages)))
        except Exception:  # noqa: BLE001 - an unknown tokenizer must not stop a session
            return estimate_message_tokens(messages)

    return count


def context_window(model: str | None, override: int | None = None) -> int:
    """The model's input window in tokens: ``override``, else litellm's model info, else 128k."""
    if override:
        return override
    if not counting_blocks(model):
        return DEFAULT_WINDOW
    try:
        info = import_litellm().get_model_info(model)
        window = info.get("max_input_tokens") or info.get("max_tokens")
    except Exception:  # noqa: BLE001 - unknown to litellm: assume the common size
        return DEFAULT_WINDOW
    return int(window) if window else DEFAULT_WINDOW
