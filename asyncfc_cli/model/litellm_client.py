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
import socket
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import trio

from ..config import DEFAULT_MAX_OUTPUT_TOKENS, DEFAULT_STALL_TIMEOUT_S
from ..errors import ConfigError, ProviderError
from ..events import redact
from .base import (
    OUTPUT_LIMIT,
    Message,
    RequestSent,
    ResponseEnd,
    Retrying,
    StreamItem,
    TextChunk,
    ToolCallReady,
)
from .litellm_worker import StreamFinished, StreamLink, import_litellm, prewarm_litellm, run_request, wait_prewarmed
from .provider import (
    KEY_VARIABLES,
    ToolCallAssembler,
    backoff_delay,
    key_hint,
    parse_retry_after,
    provider_of,
    resolve_api_key,
)
from .wire import messages_to_wire

__all__ = ["LiteLLMClient", "import_litellm", "open_litellm", "prewarm_litellm", "provider_error"]

_BUFFER = 64
"""Stream records the worker may run ahead of the consumer."""
_ABORT_GRACE_S = 2.0
"""How long a cancelled stream waits for its worker thread to end: it ends at once when the socket
could be shut down (see ``StreamLink.wait_finished`` for a request still waiting for headers)."""

# --------------------------------------------------------------------------------------------------
# Errors: the one place third-party exceptions become ours


def provider_error(exc: BaseException, *, model: str, secrets: Sequence[str] = (),
                   endpoint: str | None = None) -> ProviderError:
    """Translate an exception from litellm, openai, httpx/httpcore or the OS into a ProviderError.

    Retryable: rate limits (429), server errors (5xx, 529), timeouts (408 and client-side) and
    connection failures, including a stream that breaks off. The message is one line, names what
    went wrong in the provider's own words (for an error the server sent inside the stream, its
    own text; for a connection that failed, the URL and whether it was refused or timed out), and
    has every known secret removed. ``endpoint`` is the URL requests go to, when the caller knows it.
    """
    if isinstance(exc, ProviderError):
        return exc
    detail = _detail(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
    status = getattr(exc, "status_code", None)
    what, status, retryable, own_words = _classify(exc, status if isinstance(status, int) else None,
                                                   model, detail, endpoint)
    message = _redacted(f"{what}: {own_words or detail}", secrets)
    return ProviderError(message, status=status, retryable=retryable, retry_after=_retry_after(exc))


def _classify(exc: BaseException, status: int | None, model: str, detail: str,
              endpoint: str | None) -> tuple[str, int | None, bool, str | None]:
    """(what went wrong, HTTP status, retryable, better words than the exception's own or None).

    litellm reports some transport failures as HTTP 500 (``Connection error.``) and an error the
    server sends inside a stream as a connection error wrapped in ``MidStreamFallbackError``, so the
    exception's causes are searched for the real one."""
    import httpx
    import openai

    errors = import_litellm().exceptions
    chain = _causes(exc)

    def caused_by(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    if caused_by(errors.AuthenticationError) or "missing credentials" in detail.lower():
        return f"authentication failed ({key_hint(model)})", status, False, None
    if isinstance(exc, errors.MidStreamFallbackError) and not _broke_off(chain):
        return _in_stream(chain[-1])
    connect = _connect_failure(chain)
    if connect is not None:
        return f"cannot connect to {endpoint or _url_of(chain) or 'the provider'}", None, True, connect
    if caused_by(errors.Timeout, openai.APITimeoutError, httpx.TimeoutException, TimeoutError) or status == 408:
        return "timed out", None, True, None
    if isinstance(exc, errors.MidStreamFallbackError):
        return "the stream broke off", None, True, None
    if caused_by(errors.APIConnectionError, openai.APIConnectionError, httpx.TransportError, OSError):
        return f"connection to {endpoint or _url_of(chain) or 'the provider'} failed", None, True, None
    if status == 429:
        return "HTTP 429 rate limited", status, True, None
    if status is not None and status >= 500:
        return f"HTTP {status} server error", status, True, None
    if status == 403:
        return f"HTTP 403 permission denied ({key_hint(model)})", status, False, None
    if caused_by(errors.ContextWindowExceededError):
        return "the conversation no longer fits the model's context window", status, False, None
    if status is not None:
        return f"HTTP {status} request rejected", status, False, None
    return f"unexpected {type(exc).__name__}", None, False, None


def _broke_off(chain: Sequence[BaseException]) -> bool:
    """Whether the connection itself failed somewhere down the chain (rather than the server
    saying something went wrong)."""
    import httpcore
    import httpx

    kinds = (httpx.TransportError, httpcore.NetworkError, httpcore.ProtocolError, OSError)
    return any(isinstance(error, kinds) for error in chain)


def _in_stream(error: BaseException) -> tuple[str, int | None, bool, str | None]:
    """An error event the server sent in the middle of a streamed response: its own status (from
    the exception, or the ``code`` of its error body) and words. Retryable as the same status
    would be over HTTP (408, 429, 5xx); without a status, not (retrying blind could loop)."""
    status = getattr(error, "status_code", None)
    body = getattr(error, "body", None)
    if not isinstance(status, int) and isinstance(body, Mapping):
        nested = body.get("error")
        inner = nested if isinstance(nested, Mapping) else body
        code = inner.get("code")
        status = code if isinstance(code, int) else None
    words = _detail(getattr(error, "message", None) or str(error) or type(error).__name__)
    retryable = isinstance(status, int) and (status in (408, 429) or status >= 500)
    what = "the server reported an error in the middle of the response"
    return (f"{what} (HTTP {status})" if isinstance(status, int) else what), status, retryable, words


def _connect_failure(chain: Sequence[BaseException]) -> str | None:
    """Why a connection could not be opened ("connection refused", "timed out", ...), or None when
    the failure was not in connecting."""
    import httpx

    for error in chain:
        if isinstance(error, ConnectionRefusedError):
            return "connection refused (is the server running?)"
        if isinstance(error, socket.gaierror):
            return f"host name not found ({error.strerror or error})"
        if isinstance(error, httpx.ConnectTimeout):
            return "timed out while connecting"
    for error in chain:
        if isinstance(error, httpx.ConnectError):
            return _detail(str(error) or "the connection could not be opened")
    return None


def _url_of(chain: Sequence[BaseException]) -> str | None:
    """The URL a request in the chain went to, when one of its exceptions kept the request."""
    for error in chain:
        try:
            request = getattr(error, "request", None)
        except RuntimeError:  # httpx raises when an exception has no request attached
            continue
        url = getattr(request, "url", None)
        if url is not None:
            return str(url)
    return None


def _causes(exc: BaseException, limit: int = 10) -> list[BaseException]:
    """The exception and what it wraps (litellm's ``original_exception``) or was raised from or
    during, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < limit and current not in chain:
        chain.append(current)
        wrapped = getattr(current, "original_exception", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__ or current.__context__
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
    """Seconds from a Retry-After header on the error's response, if it holds a usable value
    (``provider.parse_retry_after``: seconds or an HTTP date, finite, bounded)."""
    for headers in (
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "litellm_response_headers", None),
        getattr(exc, "headers", None),
    ):
        value = headers.get("retry-after") if isinstance(headers, Mapping) else None
        if value is not None:
            return parse_retry_after(value)
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
        max_output_tokens: the output limit sent with every request (``max_tokens``), lowered to
            the model's own maximum when litellm knows it.
        stall_timeout_s: a stream that sends nothing for this long (from the request, or from its
            last chunk) is abandoned as stalled, and retried like a dropped connection.
        request_options: more litellm arguments for every request, e.g. ``tool_choice``, or
            ``extra_body`` for a server's own fields (llama.cpp's ``ignore_eos``).
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
        max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
        request_options: Mapping[str, Any] | None = None,
        sleep: Callable[[float], Awaitable[object]] = trio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.name = model
        self._api_base = api_base
        self._api_key = api_key
        self._max_attempts = max(1, max_attempts)
        self._timeout = request_timeout_s
        self._max_output_tokens = max_output_tokens
        self._stall_timeout_s = stall_timeout_s
        self._request_options = dict(request_options or {})
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"LiteLLMClient({self.name!r}, api_base={self._api_base!r})"

    async def wait_ready(self) -> None:
        """Wait for litellm's import and warm-up (started when the client was opened)."""
        await trio.to_thread.run_sync(wait_prewarmed, abandon_on_cancel=True)

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> AsyncGenerator[StreamItem, None]:
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
            "max_tokens": self._max_output_tokens,  # lowered to the model's maximum by the worker
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
        return {**request, **self._request_options}

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
            while True:
                item = await self._next_record(receive)
                if item is None:
                    return
                if isinstance(item, StreamFinished):
                    async for end in self._finish(assembler, item):
                        yield end
                    return
                if isinstance(item, RequestSent):
                    yield item
                    continue
                if isinstance(item, BaseException):
                    raise provider_error(item, model=self.name, secrets=(self._api_key or "",),
                                         endpoint=self._api_base) from None
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

    async def _next_record(self, receive: trio.MemoryReceiveChannel[Any]) -> Any:
        """The worker's next record, or None if it has gone; a stall is a retryable ProviderError."""
        with trio.move_on_after(self._stall_timeout_s):
            try:
                return await receive.receive()
            except trio.EndOfChannel:
                return None
        raise ProviderError(
            f"the server sent nothing for {self._stall_timeout_s:g} s (the stream stalled; "
            "stall_timeout_s sets how long to wait)", retryable=True)

    @staticmethod
    async def _finish(assembler: ToolCallAssembler, item: StreamFinished) -> AsyncIterator[StreamItem]:
        """The last call (unless the output limit cut it), then the end of the response."""
        dropped = ""
        if item.finish_reason == OUTPUT_LIMIT:
            last, dropped = assembler.finish_cut()
        else:
            last = assembler.finish()
        if last is not None:
            yield ToolCallReady(last)
        yield ResponseEnd(item.usage, item.finish_reason, dropped)


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
