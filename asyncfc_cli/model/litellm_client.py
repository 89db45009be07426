"""The model client for real providers, through litellm: streaming, retries, and error translation.

Each request runs in a worker thread (``litellm_worker``); this side, on trio, turns its records into
stream items, assembling tool calls (``provider.ToolCallAssembler``) and yielding each one the moment
its arguments are complete, so the engine dispatches it while the model is still decoding. Failures
a retry can fix are retried while nothing has been yielded; everything else becomes a
``ProviderError`` in ``provider_error``, the one place third-party exceptions are translated.
"""

from __future__ import annotations

import os
import random
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import trio

from ..errors import ConfigError, ProviderError
from ..events import redact
from .base import Message, ResponseEnd, Retrying, StreamItem, TextChunk, ToolCallReady
from .litellm_worker import StreamFinished, StreamLink, import_litellm, prewarm_litellm, run_request
from .provider import KEY_VARIABLES, ToolCallAssembler, backoff_delay, key_hint, provider_of, resolve_api_key
from .wire import messages_to_wire

__all__ = ["LiteLLMClient", "import_litellm", "open_litellm", "prewarm_litellm", "provider_error"]

_BUFFER = 64
"""Stream records the worker may run ahead of the consumer."""
_ABORT_GRACE_S = 2.0
"""How long a cancelled stream waits for its worker thread to end: it ends at once when the socket
could be shut down (see ``StreamLink.wait_finished`` for a request still waiting for headers)."""

# --------------------------------------------------------------------------------------------------
# Errors: the one place third-party exceptions become ours


def provider_error(exc: BaseException, *, model: str, secrets: Sequence[str] = ()) -> ProviderError:
    """Translate an exception from litellm, openai, httpx/httpcore or the OS into a ProviderError.

    Retryable: rate limits (429), server errors (5xx, 529), timeouts (408 and client-side) and
    connection failures, including a stream that breaks off. The message is one line, names what
    went wrong in the provider's own words, and has every known secret removed.
    """
    if isinstance(exc, ProviderError):
        return exc
    detail = _detail(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
    status = getattr(exc, "status_code", None)
    what, status, retryable = _classify(exc, status if isinstance(status, int) else None, model, detail)
    message = _redacted(f"{what}: {detail}", secrets)
    return ProviderError(message, status=status, retryable=retryable, retry_after=_retry_after(exc))


def _classify(exc: BaseException, status: int | None, model: str, detail: str) -> tuple[str, int | None, bool]:
    """(what went wrong, HTTP status, retryable). litellm reports some transport failures as HTTP
    500 (``Connection error.``), so the exception's causes are searched for the real one."""
    import httpx
    import openai

    errors = import_litellm().exceptions
    chain = _causes(exc)

    def caused_by(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    if caused_by(errors.AuthenticationError) or "missing credentials" in detail.lower():
        return f"authentication failed ({key_hint(model)})", status, False
    if caused_by(errors.Timeout, openai.APITimeoutError, httpx.TimeoutException, TimeoutError) or status == 408:
        return "timed out", None, True
    if isinstance(exc, errors.MidStreamFallbackError):
        return "the stream broke off", None, True
    if caused_by(errors.APIConnectionError, openai.APIConnectionError, httpx.TransportError, OSError):
        return "connection failed", None, True
    if status == 429:
        return "HTTP 429 rate limited", status, True
    if status is not None and status >= 500:
        return f"HTTP {status} server error", status, True
    if status == 403:
        return f"HTTP 403 permission denied ({key_hint(model)})", status, False
    if caused_by(errors.ContextWindowExceededError):
        return "the conversation no longer fits the model's context window", status, False
    if status is not None:
        return f"HTTP {status} request rejected", status, False
    return f"unexpected {type(exc).__name__}", None, False


def _causes(exc: BaseException, limit: int = 8) -> list[BaseException]:
    """The exception and what it was raised from or during, nearest first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < limit and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


_WRAPPER_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*|\w+Error:\s*|\w+Exception - )+")
_JSON_MESSAGE = re.compile(r'"message":\s*"((?:[^"\\]|\\.)*)"')


def _detail(text: str, limit: int = 300) -> str:
    """The provider's own words from a litellm error message: first line, wrapper names and
    litellm's advice removed, the ``message`` of a JSON error body preferred."""
    line = text.strip().splitlines()[0] if text.strip() else text
    line = _WRAPPER_PREFIX.sub("", line).split(". Handle with `litellm.", 1)[0]
    quoted = _JSON_MESSAGE.search(line)
    if quoted:
        line = quoted.group(1)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _redacted(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return redact(text)


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form) on the error's response, if any."""
    for headers in (
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "litellm_response_headers", None),
        getattr(exc, "headers", None),
    ):
        value = headers.get("retry-after") if isinstance(headers, Mapping) else None
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


# --------------------------------------------------------------------------------------------------
# The client


class LiteLLMClient:
    """A ``ModelClient`` for any model litellm reaches (``openai/gpt-4.1``, ``anthropic/...``,
    ``ollama/...``, any OpenAI-compatible ``api_base``).

    Args:
        model: the litellm model name.
        api_base: the endpoint, for self-hosted or compatible servers.
        api_key: the key to send (see ``provider.resolve_api_key``); never shown anywhere.
        max_attempts: requests made before giving up on retryable failures.
        request_timeout_s: litellm's timeout for connecting and for each read.
        sleep: how to wait between attempts (tests pass a fake).
        rng: the jitter source (tests pass a seeded one).
    """

    scripted = False

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        max_attempts: int = 4,
        request_timeout_s: float = 600,
        sleep: Callable[[float], Awaitable[object]] = trio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.name = model
        self._api_base = api_base
        self._api_key = api_key
        self._max_attempts = max(1, max_attempts)
        self._timeout = request_timeout_s
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"LiteLLMClient({self.name!r}, api_base={self._api_base!r})"

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> AsyncIterator[StreamItem]:
        """Stream one response, retrying failures that a retry can fix while nothing was yielded.

        Raises:
            ProviderError: a failure that is not retryable, the last attempt's failure, or a stream
                that broke off after text or a tool call was already yielded (its unfinished last
                call is never yielded).
        """
        request = self._request(messages, tools)
        attempt = 1
        while True:
            produced = False
            try:
                async for item in self._attempt(request):
                    produced = produced or isinstance(item, (TextChunk, ToolCallReady))
                    yield item
                return
            except ProviderError as error:
                if produced or not error.retryable or attempt >= self._max_attempts:
                    raise self._final(error, attempt, produced) from None
                delay = backoff_delay(attempt, error.retry_after, rng=self._rng)
                yield Retrying(attempt, delay, str(error))
                await self._sleep(delay)
                attempt += 1

    def _request(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.name,
            "messages": messages_to_wire(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": self._timeout,
            "max_retries": 0,  # retries are ours: visible as events, and never after output
            # A provider without usage-in-stream (or another option) gets the request without it,
            # rather than an error.
            "drop_params": True,
        }
        if tools:
            request["tools"] = [dict(t) for t in tools]
        if self._api_base:
            request["api_base"] = self._api_base
        if self._api_key:
            request["api_key"] = self._api_key
        return request

    def _final(self, error: ProviderError, attempt: int, produced: bool) -> ProviderError:
        if produced:
            what = f"{error} (not retried: part of the response had already streamed)"
        elif error.retryable:
            what = f"{error} (gave up after {attempt} attempts)"
        else:
            what = str(error)
        message = _redacted(f"{self.name}: {what}", (self._api_key or "",))
        return ProviderError(message, status=error.status, retryable=error.retryable,
                             retry_after=error.retry_after)

    async def _attempt(self, request: Mapping[str, Any]) -> AsyncIterator[StreamItem]:
        """One request: the worker thread's records turned into stream items."""
        send, receive = trio.open_memory_channel[Any](_BUFFER)
        link = StreamLink(send)
        worker = threading.Thread(target=run_request, args=(request, link), name="asyncfc-litellm",
                                  daemon=True)
        worker.start()
        assembler = ToolCallAssembler()
        try:
            async for item in receive:
                if isinstance(item, StreamFinished):
                    last = assembler.finish()
                    if last is not None:
                        yield ToolCallReady(last)
                    yield ResponseEnd(item.usage, item.finish_reason)
                    return
                if isinstance(item, BaseException):
                    raise provider_error(item, model=self.name, secrets=(self._api_key or "",)) from None
                if item.text:
                    yield TextChunk(item.text)
                for delta in item.calls:
                    ready = assembler.feed(delta)
                    if ready is not None:
                        yield ToolCallReady(ready)
        finally:
            link.abort()
            receive.close()
            await link.wait_finished(_ABORT_GRACE_S)


def open_litellm(model: str, api_base: str | None = None, env: Mapping[str, str] | None = None,
                 *, paired_variable: str | None = None, **options: Any) -> LiteLLMClient:
    """The client for ``model`` with its key resolved from ``env`` (default os.environ; see
    ``provider.resolve_api_key`` for which key may go to ``api_base``, and ``paired_variable``),
    and litellm's import started in the background.

    Raises:
        ConfigError: the provider needs a key and none is set (there is no ``api_base`` either).
    """
    env = os.environ if env is None else env
    api_key = resolve_api_key(model, api_base, env, paired_variable)
    if api_key is None and provider_of(model) in KEY_VARIABLES:
        raise ConfigError(f"no API key for {model}: {key_hint(model)}")
    prewarm_litellm(model)
    return LiteLLMClient(model, api_base=api_base, api_key=api_key, **options)
