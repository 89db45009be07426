"""The worker-thread side of the litellm client: importing litellm, and streaming one request.

litellm's async API is asyncio-only, so ``run_request`` runs ``litellm.completion(stream=True)`` in a
daemon thread and hands plain records (``StreamDelta``, then ``StreamFinished`` or the exception) to
the trio task consuming the stream through a ``StreamLink``. Cancelling shuts the socket down under
the worker so that even a stalled read returns at once: closing the response is not enough, a thread
blocked in ``recv`` does not notice its socket being closed by another thread.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import trio

from ..errors import ProviderError
from ..events import redact
from .base import RequestSent, Usage
from .provider import CallDelta

__all__ = [
    "StreamDelta",
    "StreamFinished",
    "StreamLink",
    "import_litellm",
    "prewarm_litellm",
    "run_request",
    "wait_prewarmed",
]

log = logging.getLogger("asyncfc.litellm")

# --------------------------------------------------------------------------------------------------
# Importing litellm

_import_lock = threading.Lock()
_prewarm_lock = threading.Lock()
_litellm: Any = None
_prewarm_thread: threading.Thread | None = None


def import_litellm() -> Any:
    """The litellm module, imported once and silenced. Thread-safe; blocks while another thread
    (``prewarm_litellm``) is importing it.

    Before the import, ``LITELLM_LOCAL_MODEL_COST_MAP=True`` so litellm reads its bundled price list
    instead of fetching one. After it, litellm prints no banners and its loggers write only to
    Python logging (never straight to stdout/stderr, which would corrupt the TUI and JSON lines).
    """
    global _litellm
    with _import_lock:
        if _litellm is None:
            os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
            with _no_dotenv(), _no_collection_then_frozen(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import litellm

            _silence(litellm)
            _litellm = litellm
    return _litellm


@contextlib.contextmanager
def _no_dotenv() -> Iterator[None]:
    """Import litellm without its ``.env`` loading. In its default ``LITELLM_MODE=DEV`` the import
    loads the first ``.env`` found walking up from litellm's own folder into ``os.environ``: with
    asyncfc installed in a repository's virtualenv, that is the repository's ``.env``, and its
    ``OPENAI_BASE_URL`` received the user's key. ``PRODUCTION`` skips it, for the import only (it
    is read nowhere else); a mode the user set is theirs."""
    if "LITELLM_MODE" in os.environ:
        yield
        return
    os.environ["LITELLM_MODE"] = "PRODUCTION"
    try:
        yield
    finally:
        os.environ.pop("LITELLM_MODE", None)


@contextlib.contextmanager
def _no_collection_then_frozen() -> Iterator[None]:
    """No cyclic garbage collection inside the block, and everything alive at its end frozen.

    Importing litellm makes ~390,000 objects that live as long as the process and only ~2,000 of
    garbage. The collector's full passes over them during the import were a fifth of its CPU time
    (~0.45 s of ~2.1 s, on the way to the first request), and every later full pass walked them
    again (~0.15 s each). Frozen (``gc.freeze``), they are never walked; the import's little
    garbage stays. Collection is switched back on only if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _silence(litellm: Any) -> None:
    litellm.suppress_debug_info = True
    # litellm's pydantic models warn on import and per chunk; warnings would reach stderr.
    warnings.filterwarnings("ignore", module=r"litellm(\.|$)")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydantic\._internal\.")
    if hasattr(litellm, "telemetry"):
        litellm.telemetry = False
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("LiteLLM"):
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            # A NullHandler keeps logging's last-resort stderr handler away; propagation lets an
            # application that configures logging still collect these records.
            logger.addHandler(logging.NullHandler())
            logger.addFilter(_redact_keys)
            logger.propagate = True
    log.addFilter(_redact_keys)


def _redact_keys(record: logging.LogRecord) -> bool:
    """A logging filter: the record's message with every key-like environment value removed."""
    message = record.getMessage()
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    return True


def prewarm_litellm(model: str | None = None) -> None:
    """Start loading litellm in a background daemon thread, so the first request does not wait
    for it: the import (seconds), then a mock completion for ``model`` that loads what a first
    request would load on the way (about 0.4 s more) without any I/O. Idempotent; returns at once.
    A failure surfaces at the first request."""
    global _prewarm_thread
    with _prewarm_lock:
        if _litellm is not None or _prewarm_thread is not None:
            return
        _prewarm_thread = threading.Thread(target=_prewarm, args=(model,), name="asyncfc-litellm-import",
                                           daemon=True)
        _prewarm_thread.start()


_WARM_UP_MODEL = "openai/gpt-4o-mini"
_WARM_UP_WAIT_S = 30.0


def wait_prewarmed() -> None:
    """Block until a started prewarm (import and warm-up completion) is over, at most
    ``_WARM_UP_WAIT_S``: a request sent after it pays no set-up of its own, so its time to first
    token is the model's."""
    thread = _prewarm_thread
    if thread is not None and thread is not threading.current_thread():
        thread.join(_WARM_UP_WAIT_S)


def _prewarm(model: str | None) -> None:
    try:
        litellm = import_litellm()
        # mock_response answers inside litellm: no request, no key used.
        warm_up = litellm.completion(model=model or _WARM_UP_MODEL, mock_response="ok", stream=True,
                                     messages=[{"role": "user", "content": "warm-up"}], api_key="warm-up")
        for _ in warm_up:
            pass
    except Exception as exc:  # noqa: BLE001 - reported by the first request that needs litellm
        log.debug("prewarming litellm failed: %r", exc)


# --------------------------------------------------------------------------------------------------
# What the worker thread sends


@dataclass(frozen=True, slots=True)
class StreamDelta:
    text: str
    calls: tuple[CallDelta, ...]


@dataclass(frozen=True, slots=True)
class StreamFinished:
    usage: Usage
    finish_reason: str


def delta_of(chunk: Any) -> tuple[StreamDelta, str | None, tuple[int, int] | None]:
    """A litellm stream chunk as (our delta, finish reason, (prompt, completion) tokens)."""
    choices = getattr(chunk, "choices", None) or ()
    text, calls, finish = "", [], None
    if choices:
        delta = getattr(choices[0], "delta", None)
        text = getattr(delta, "content", None) or ""
        for call in getattr(delta, "tool_calls", None) or ():
            function = getattr(call, "function", None)
            calls.append(CallDelta(getattr(call, "index", None), getattr(call, "id", None),
                                   getattr(function, "name", None), getattr(function, "arguments", None) or ""))
        finish = getattr(choices[0], "finish_reason", None)
    usage = getattr(chunk, "usage", None)
    tokens = (int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)) if usage else None
    return StreamDelta(text, tuple(calls)), finish, tokens


def cost_of(litellm: Any, model: str, prompt: int, completion: int) -> float | None:
    """USD for the tokens, or None when litellm does not know the model's price."""
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt, completion_tokens=completion
        )
    except Exception:  # noqa: BLE001 - unknown models raise; they report tokens only
        return None
    return float(prompt_cost + completion_cost)


_HOLDERS = ("completion_stream", "response", "_response", "streaming_response", "response_iterator")
"""Where litellm's stream objects keep what they read from: openai's ``Stream.response``, the
Anthropic iterator's ``_response``, the generic providers' iterators' ``streaming_response``."""


def socket_of(response: Any, depth: int = 5) -> socket.socket | None:
    """The socket under a litellm stream, or None if it cannot be found.

    The httpx response sits a few objects below the stream wrapper, depending on the provider: held
    in an attribute (``_HOLDERS``), or as an argument of a not-yet-started generator (the generic
    providers read ``iter_sse_lines(response.iter_text())``). Its ``network_stream`` extension
    (httpcore, HTTP/1.1) gives the socket. Call before iterating: a started generator's locals move.
    """
    import httpx

    frontier, seen = [response], set()
    for _ in range(depth):
        found: list[Any] = []
        for obj in frontier:
            if obj is None or id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, httpx.Response):
                network_stream = obj.extensions.get("network_stream")
                sock = network_stream.get_extra_info("socket") if network_stream is not None else None
                if isinstance(sock, socket.socket):
                    return sock
                continue
            frame = getattr(obj, "gi_frame", None)
            if frame is not None:
                found.extend(frame.f_locals.values())
            found.extend(getattr(obj, name, None) for name in _HOLDERS)
        frontier = found
    return None


class StreamLink:
    """The worker thread's line to the trio task consuming its stream, and the way to stop it.

    The worker owns the litellm response; the trio side only ever flips ``aborted`` and shuts the
    socket down, which is safe from any thread and wakes a worker blocked on a read.
    """

    def __init__(self, send: trio.MemorySendChannel[Any]) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._send = send
        self._lock = threading.Lock()
        self._aborted = False
        self._socket: socket.socket | None = None
        self._attached = False
        self._finished = trio.Event()

    # worker side
    def attach(self, response: Any) -> bool:
        """Record the response's socket; False if the stream was already aborted."""
        sock = socket_of(response)
        with self._lock:
            self._socket = None if self._aborted else sock
            self._attached = True
            return not self._aborted

    def detach(self) -> None:
        """The body has been read: the connection may go back to the pool, never shut it down."""
        with self._lock:
            self._socket = None

    def send(self, item: Any) -> bool:
        """Hand an item to the consumer (waits while it is behind); False once it has gone away."""
        if self._aborted:
            return False
        try:
            trio.from_thread.run(self._send.send, item, trio_token=self._token)
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.RunFinishedError):
            return False
        return True

    def finished(self) -> None:
        try:
            self._token.run_sync_soon(self._finished.set)
        except trio.RunFinishedError:
            pass

    # trio side
    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sock, self._socket = self._socket, None
        if sock is not None:
            try:
                # The plain socket's shutdown, also under TLS: it must not touch the SSL object
                # the worker is reading through.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the worker is past its read

    async def wait_finished(self, grace_s: float) -> None:
        """Wait (shielded, at most ``grace_s``) for the worker to end, once its request has an
        answer: a worker still waiting for response headers cannot be woken, so it is left to
        close the response itself the moment the headers arrive (or the request times out)."""
        if not self._attached:
            return
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + grace_s
            await self._finished.wait()


def within_model_limit(litellm: Any, request: Mapping[str, Any]) -> dict[str, Any]:
    """The request with its ``max_tokens`` lowered to the model's own output maximum, when litellm
    knows it: providers reject a limit above it, and local models litellm does not know keep ours."""
    limited = dict(request)
    try:
        known = litellm.get_model_info(request["model"]).get("max_output_tokens")
    except Exception:  # noqa: BLE001 - unknown models raise; they keep the configured limit
        known = None
    if isinstance(known, int) and known > 0 and isinstance(limited.get("max_tokens"), int):
        limited["max_tokens"] = min(limited["max_tokens"], known)
    return limited


def run_request(request: Mapping[str, Any], link: StreamLink) -> None:
    """Worker thread body: stream one request into ``link``; ends with a _Finished or an exception."""
    response = None
    try:
        litellm = import_litellm()
        wait_prewarmed()
        limited = within_model_limit(litellm, request)  # a model lookup: client time, not the model's
        if not link.send(RequestSent()):
            return
        response = litellm.completion(**limited)
        if not link.attach(response):
            return
        finish: str | None = None
        tokens = (0, 0)
        for chunk in response:
            delta, finish_reason, usage = delta_of(chunk)
            finish, tokens = finish_reason or finish, usage or tokens
            if (delta.text or delta.calls) and not link.send(delta):
                return
        link.detach()
        if finish is None:
            # A body that ends well-formed but early: its last call may be cut, never report it.
            raise ProviderError("the stream ended without a finish reason", retryable=True)
        cost = cost_of(litellm, request["model"], *tokens) if tokens != (0, 0) else None
        link.send(StreamFinished(Usage(tokens[0], tokens[1], cost), finish))
    except Exception as exc:  # noqa: BLE001 - every failure goes to the consumer, which translates it
        link.send(exc)
    finally:
        if response is not None:
            try:
                response.close()
            except Exception as exc:  # noqa: BLE001 - best effort: the socket is gone either way
                log.debug("closing a litellm stream failed: %r", exc)
        link.finished()
