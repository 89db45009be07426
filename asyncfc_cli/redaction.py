"""Keeping secrets out of everything asyncfc shows, records or sends back to the model.

A secret is the value of a key-like environment variable (``OPENAI_API_KEY``, ``GITHUB_TOKEN``...,
eight characters or more). Two ways text can carry one, and one tool for each:

- complete texts (a tool's result, a message, an event's fields): ``redact`` replaces every
  occurrence with ``[redacted]``;
- streamed texts (the model's text deltas, a command's running output): a secret can be split
  across pieces, so each piece redacted alone lets it through, to be rebuilt by anyone who joins
  the pieces. ``StreamRedactor`` looks at the stream as one text: it passes on what cannot be the
  start of a secret and holds back the shortest tail that still could, until the next piece
  decides it or the stream ends.

``EventRedactor`` applies both to the event stream, before any subscriber sees an event: the TUI,
the headless renderers and the transcript all read the same redacted stream.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from asyncfc_tools._env import is_secret_name

__all__ = ["MARK", "EventRedactor", "StreamRedactor", "redact", "redact_value", "secrets_in"]

MARK = "[redacted]"
_MIN_LENGTH = 8


def secrets_in(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of the key-like variables in ``env`` (default os.environ), longest first, so a
    secret that contains another is replaced whole."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if is_secret_name(k) and len(v) >= _MIN_LENGTH}
    return tuple(sorted(values, key=len, reverse=True))


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every occurrence of every secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MARK)
    return text


def redact_value(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` with secrets redacted in every string inside it: strings, lists, tuples, dicts
    and (frozen) dataclasses, rebuilt only where something changed (the same object otherwise)."""
    kind: type = type(value)
    if kind is str:
        return redact(value, secrets) if secrets else value
    if kind in _ATOMS or not secrets:
        return value
    if kind in (list, tuple):
        items = [redact_value(item, secrets) for item in value]
        changed = any(a is not b for a, b in zip(items, value))
        return kind(items) if changed else value
    if isinstance(value, Mapping):
        pairs = {k: redact_value(v, secrets) for k, v in value.items()}
        return pairs if any(pairs[k] is not value[k] for k in value) else value
    names = _init_fields(kind) if hasattr(kind, "__dataclass_fields__") else ()
    changes = {}
    for name in names:
        old = getattr(value, name)
        new = redact_value(old, secrets)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


_ATOMS = frozenset({int, float, bool, type(None)})


@functools.cache
def _init_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


class StreamRedactor:
    """Redacts one streamed text as a whole (see the module docstring).

    ``feed`` returns the part of the stream so far that is safe to show; ``flush`` returns the
    held tail when the stream ends. The concatenation of everything returned equals ``redact`` of
    the whole text, and no secret ever appears in it, however the text was cut.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = tuple(s for s in secrets if s)
        self._held = ""

    def feed(self, piece: str) -> str:
        text = redact(self._held + piece, self._secrets)
        keep = self._open_tail(text)
        self._held = text[len(text) - keep:] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def _open_tail(self, text: str) -> int:
        """Length of the longest tail of ``text`` that is a proper prefix of some secret."""
        longest = 0
        for secret in self._secrets:
            for size in range(min(len(secret) - 1, len(text)), longest, -1):
                if secret.startswith(text[len(text) - size:]):
                    longest = size
                    break
        return longest


_STREAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "text_delta": ("turn", ("tool_call_parsed", "request_finished")),
    "future_output": ("id", ("future_finished",)),
}
"""Streamed event types: the field naming one stream, and the events that end it (for the same
value of that field, and the same ``parent``: a sub-agent's turns are numbered on their own).
``session_finished`` ends every stream of its session (same ``parent``)."""


def _stream_key(event: Any, field_name: str) -> tuple[Any, Any]:
    return getattr(event, field_name, None), getattr(event, "parent", None)


class EventRedactor:
    """Turns the raw event stream into the redacted one the subscribers see.

    Streamed events (``_STREAMS``) go through a ``StreamRedactor`` per stream: a piece may come out
    shorter, or not at all (held), and what was held comes out as one more event of that stream
    just before the event that ends it. Every other event has its strings redacted whole.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = tuple(secrets)
        self._open: dict[tuple[str, tuple[Any, Any]], tuple[StreamRedactor, Any]] = {}

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> EventRedactor:
        return cls(secrets_in(env))

    def add(self, secret: str) -> None:
        """Redact ``secret`` too from now on (a key read from a variable whose name does not look
        like one, e.g. paired with an endpoint in the user config)."""
        if len(secret) >= 4 and secret not in self.secrets:
            self.secrets = tuple(sorted((*self.secrets, secret), key=len, reverse=True))

    def __call__(self, event: Any) -> Iterator[Any]:
        """The events to publish for ``event``, in order."""
        if not self.secrets:
            yield event
            return
        yield from self._flushed_by(event)
        stream = _STREAMS.get(event.type)
        if stream is None:
            yield redact_value(event, self.secrets)
            return
        key = (event.type, _stream_key(event, stream[0]))
        redactor = self._open.get(key, (StreamRedactor(self.secrets), None))[0]
        self._open[key] = (redactor, event)
        text = redactor.feed(event.text)
        if text:
            yield redact_value(dataclasses.replace(event, text=text), self.secrets)

    def _flushed_by(self, event: Any) -> Iterable[Any]:
        parent = getattr(event, "parent", None)
        ending = [key for key in self._open if (event.type == "session_finished" and key[1][1] == parent)
                  or (event.type in _STREAMS[key[0]][1] and _stream_key(event, _STREAMS[key[0]][0]) == key[1])]
        for key in ending:
            redactor, last = self._open.pop(key)
            held = redactor.flush()
            if held:
                yield redact_value(dataclasses.replace(last, text=held, t=event.t), self.secrets)
