"""Provider-side logic with no I/O: assembling streamed tool calls, backoff, and API keys.

Everything here is a pure function or a small state machine over values, tested without a network
or an event loop; ``litellm_client`` drives it.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import random
import time
from urllib.parse import urlsplit, urlunsplit
from collections.abc import Mapping
from dataclasses import dataclass

from .base import ToolCall

__all__ = [
    "CallDelta",
    "KEY_VARIABLES",
    "ToolCallAssembler",
    "NO_KEY",
    "DEFAULT_ENDPOINTS",
    "backoff_delay",
    "effective_endpoint",
    "key_hint",
    "parse_retry_after",
    "provider_of",
    "resolve_api_key",
]


@dataclass(frozen=True, slots=True)
class CallDelta:
    """One tool-call fragment of a streamed chunk (any field may be missing from a given chunk)."""

    index: int | None
    call_id: str | None
    name: str | None
    arguments: str


@dataclass(slots=True)
class _Partial:
    index: int | None
    call_id: str | None
    name: str
    arguments: list[str]


class ToolCallAssembler:
    """Builds tool calls from streamed fragments and says when each one is complete.

    A call is complete when the next one starts (a fragment with another index, or another id) or
    when the stream finishes cleanly (``finish``). A stream that breaks off never calls ``finish``,
    so its last call, whose arguments may be cut, is never reported.
    """

    def __init__(self) -> None:
        self._current: _Partial | None = None
        self._count = 0

    def feed(self, delta: CallDelta) -> ToolCall | None:
        """Take one fragment; returns the previous call if this fragment starts a new one."""
        current = self._current
        if current is None or self._starts_new(current, delta):
            self._current = _Partial(delta.index, delta.call_id, delta.name or "", [delta.arguments])
            return self._complete(current) if current is not None else None
        current.index = current.index if delta.index is None else delta.index
        current.call_id = current.call_id or delta.call_id
        current.name = current.name or delta.name or ""
        current.arguments.append(delta.arguments)
        return None

    def finish(self) -> ToolCall | None:
        """The stream ended cleanly: the last call, if any, is complete."""
        current, self._current = self._current, None
        return self._complete(current) if current is not None else None

    def finish_cut(self) -> tuple[ToolCall | None, str]:
        """The output limit ended the stream: (the last call, if its arguments are whole JSON;
        the name of its tool if they are not, so it is dropped, never run). A call the model had
        finished writing when the limit struck is kept."""
        current, self._current = self._current, None
        if current is None:
            return None, ""
        try:
            json.loads("".join(current.arguments) or "{}")
        except ValueError:
            return None, current.name or "?"
        return self._complete(current), ""

    @property
    def count(self) -> int:
        """How many calls have been reported complete."""
        return self._count

    @staticmethod
    def _starts_new(current: _Partial, delta: CallDelta) -> bool:
        if delta.index is not None and current.index is not None and delta.index != current.index:
            return True
        # Some servers number every call 0 and tell calls apart by id only.
        return bool(delta.call_id and current.call_id and delta.call_id != current.call_id)

    def _complete(self, partial: _Partial) -> ToolCall:
        position = self._count
        self._count += 1
        call_id = partial.call_id or f"call_{position}"
        return ToolCall(call_id, partial.name, "".join(partial.arguments), position)


MAX_RETRY_AFTER_S = 120.0
"""The longest wait a provider's Retry-After may ask for: a hostile or broken header cannot park
the agent."""


def parse_retry_after(value: object, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header value, or None when it says nothing usable.

    The header is delay-seconds (``"3"``, ``"1.5"``) or an HTTP date (RFC 9110). Anything else,
    including ``nan``, ``inf`` and negative numbers, is ignored rather than trusted: the caller falls
    back to its own backoff. A usable value is bounded to [0, ``MAX_RETRY_AFTER_S``].
    """
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = str(value).strip()
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until(text, time.time() if now is None else now)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def _seconds_until(http_date: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 9110 dates are GMT whatever they say
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - now)


def backoff_delay(
    attempt: int,
    retry_after: float | None,
    *,
    rng: random.Random | None = None,
    base_s: float = 1.0,
    cap_s: float = 30.0,
    max_retry_after_s: float = MAX_RETRY_AFTER_S,
) -> float:
    """Seconds to wait before attempt ``attempt + 1``: always finite, 0 or more.

    The provider's Retry-After wins when it is a usable number (capped, so a hostile header cannot
    park the agent); otherwise exponential backoff from ``base_s`` with jitter in [50 %, 100 %],
    capped at ``cap_s``.
    """
    if retry_after is not None and math.isfinite(retry_after):
        return min(max(retry_after, 0.0), max_retry_after_s)
    ceiling = min(cap_s, base_s * 2 ** (attempt - 1))
    return ceiling * (0.5 + (rng or random).random() / 2)


# --------------------------------------------------------------------------------------------------
# Models and keys

KEY_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "xai": ("XAI_API_KEY",),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"),
    "cohere": ("COHERE_API_KEY",),
}
"""Where each provider's key is usually found (litellm reads the same variables)."""


def provider_of(model: str) -> str:
    """The provider prefix of a litellm model name (``openai/gpt-4.1`` -> ``openai``).

    Bare names are guessed the way users mean them: ``gpt-*``/``o*`` -> openai, ``claude*`` ->
    anthropic; anything else is returned whole.
    """
    if "/" in model:
        return model.split("/", 1)[0]
    if model.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    if model.startswith("claude"):
        return "anthropic"
    return model


DEFAULT_ENDPOINTS: Mapping[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "groq": "https://api.groq.com/openai/v1",
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com",
    "openrouter": "https://openrouter.ai/api/v1",
    "together_ai": "https://api.together.xyz/v1",
    "xai": "https://api.x.ai/v1",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1",
    "cohere": "https://api.cohere.ai",
}
"""Each provider's own endpoint, as litellm uses it when no ``api_base`` is given (shown to the
user, and the one base its ``KEY_VARIABLES`` key may be sent to when named explicitly)."""

NO_KEY = "asyncfc-no-key"
"""Sent to an ``--api-base`` server when no key is paired with it: OpenAI-style clients refuse to
send no key at all, and local servers (vLLM, llama.cpp, Ollama) ignore it."""


def _same_base(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def resolve_api_key(model: str, api_base: str | None, env: Mapping[str, str],
                    paired_variable: str | None = None) -> str | None:
    """The key to send, or None to let litellm look for the provider's own credentials.

    A key goes only where the user meant it to go:

    - no ``api_base`` (the provider's own endpoint): ``ASYNCFC_API_KEY``, else the provider's
      variable (``KEY_VARIABLES``);
    - an ``api_base``: the variable the user paired with that base in their own config
      (``paired_variable``, from ``[endpoints."URL"] api_key_env``), else ``ASYNCFC_API_KEY``,
      else the harmless ``NO_KEY``. The provider's own variable is sent to an ``api_base`` only
      when it is that provider's default endpoint (``DEFAULT_ENDPOINTS``), so an endpoint named by
      a repository, or typed for a local server, never receives the user's OpenAI or Anthropic key.

    The value is never logged or shown: callers pass it straight to the client, and errors that
    might echo it are redacted.
    """
    provider_vars = KEY_VARIABLES.get(provider_of(model), ())
    default = DEFAULT_ENDPOINTS.get(provider_of(model))
    if api_base and not (default and _same_base(api_base, default)):
        if paired_variable and env.get(paired_variable):
            return env[paired_variable]
        return env.get("ASYNCFC_API_KEY") or NO_KEY
    explicit = env.get("ASYNCFC_API_KEY")
    if explicit:
        return explicit
    for variable in provider_vars:
        if env.get(variable):
            return env[variable]
    return None


def effective_endpoint(model: str, api_base: str | None, env: Mapping[str, str]) -> str:
    """Where requests for ``model`` go, for the user to see (never a key): the ``api_base``, else
    the base the provider's SDK takes from the user's environment (``OPENAI_BASE_URL``...), else
    the provider's default endpoint, else a phrase naming the provider."""
    if api_base:
        return _without_credentials(api_base)
    provider = provider_of(model)
    for variable in (f"{provider.upper()}_BASE_URL", f"{provider.upper()}_API_BASE"):
        if env.get(variable):
            return _without_credentials(env[variable])
    return DEFAULT_ENDPOINTS.get(provider, f"{provider}'s default endpoint")


def _without_credentials(url: str) -> str:
    """``url`` without a user and password (``https://user:token@host``) or a query string, where
    some servers take their key."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url.split("?", 1)[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def key_hint(model: str) -> str:
    """Where the key for ``model`` is read from, for error messages."""
    variables = KEY_VARIABLES.get(provider_of(model), ())
    return "set " + " or ".join((*variables, "ASYNCFC_API_KEY"))
