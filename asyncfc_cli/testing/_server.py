"""What the local model servers share: fault injection, pacing, and the HTTP plumbing.

A server is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 with a random port, run in a daemon
thread for the duration of a ``with`` block. Each request to a model endpoint gets a 1-based number;
its reply comes from a *policy* (a function of the conversation it received) and its delivery can be
disturbed by a *fault* registered for that number. A format module (OpenAI, Anthropic) only turns a
``Reply`` into the frames of its wire format, tagged with what each frame carries, so pacing and
faults are applied once, here, the same way for every format.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .policies import BadRequest, Policy, Reply, ReplyCall, as_policy, estimate_tokens, within_output_limit

if TYPE_CHECKING:
    from ..model.scripted import Scenario

__all__ = ["BAD_JSON", "Fault", "Frame", "LocalModelServer", "serve_from_command_line", "split_text"]


FaultKind = Literal["status", "slow_first_token", "stall", "cut", "truncate", "bad_json", "stream_error"]


@dataclass(frozen=True, slots=True)
class Fault:
    """A disturbance of one request, registered by request number: ``faults={1: Fault.http(429)}``.

    Kinds: ``status`` answers an HTTP error instead of the reply (with Retry-After if given);
    ``slow_first_token`` waits ``delay_s`` after the headers before the first content frame;
    ``stall`` sends the beginning of the reply (up to the first argument fragment, or the first
    text) and then nothing until the server stops; ``cut`` drops the connection in the middle of the
    last tool call's arguments (or of the text); ``truncate`` ends the response there too, but
    cleanly (a well-formed HTTP body with no finish reason, usage or end marker); ``bad_json`` replaces the last call's arguments by
    text that is not JSON and completes normally; ``stream_error`` sends the beginning of the reply
    (as ``stall``) and then an error event in the stream, in the format's own form (``status`` and
    ``message``), and ends the body, as a server that fails mid-response does.

    ``retry_after`` is sent as given: a number of seconds, or any text (an HTTP date, or garbage).
    """

    kind: FaultKind
    status: int = 500
    retry_after: float | str | None = None
    delay_s: float = 0.0
    message: str = "injected fault"
    """The error message of a ``status`` fault."""

    @classmethod
    def http(cls, status: int, retry_after: float | str | None = None, message: str = "injected fault") -> Fault:
        return cls("status", status=status, retry_after=retry_after, message=message)

    @classmethod
    def stream_error(cls, status: int = 500, message: str = "injected fault") -> Fault:
        return cls("stream_error", status=status, message=message)

    @classmethod
    def slow_first_token(cls, delay_s: float) -> Fault:
        return cls("slow_first_token", delay_s=delay_s)

    @classmethod
    def stall(cls) -> Fault:
        return cls("stall")

    @classmethod
    def cut(cls) -> Fault:
        return cls("cut")

    @classmethod
    def truncate(cls) -> Fault:
        return cls("truncate")

    @classmethod
    def bad_json(cls) -> Fault:
        return cls("bad_json")


BAD_JSON = '{"path": "unterminated'
"""What ``Fault.bad_json`` puts in place of the last call's arguments."""

FrameKind = Literal["head", "text", "call_start", "args", "end"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One piece of a streamed reply, already in wire form, with what it carries."""

    kind: FrameKind
    data: bytes
    call: int = -1
    """For call_start/args: which call (0-based)."""


def _header_value(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def split_text(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters (at least one piece)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def with_fault(reply: Reply, fault: Fault | None) -> Reply:
    """The reply as the fault changes its content (only ``bad_json`` does)."""
    if fault is None or fault.kind != "bad_json" or not reply.tool_calls:
        return reply
    calls = (*reply.tool_calls[:-1], ReplyCall(reply.tool_calls[-1].name, BAD_JSON, reply.tool_calls[-1].id))
    return Reply(reply.text, calls, reply.completion_tokens)


@dataclass(frozen=True, slots=True)
class _Pause:
    seconds: float


_STALL = object()
_CUT = object()


@dataclass(frozen=True, slots=True)
class _StreamError:
    status: int
    message: str


def pace(
    frames: Sequence[Frame], fault: Fault | None, *, chunk_delay_s: float, call_gap_s: float
) -> Iterator[Frame | _Pause | object]:
    """Interleave pauses and the fault's stall or cut into a reply's frames."""
    last_call = max((f.call for f in frames if f.kind == "call_start"), default=-1)
    kind = fault.kind if fault else None
    first_content = True
    for frame in frames:
        if frame.kind in ("text", "call_start", "args") and first_content:
            first_content = False
            if kind == "slow_first_token":
                yield _Pause(fault.delay_s)  # type: ignore[union-attr]
        if frame.kind == "call_start" and frame.call > 0 and call_gap_s:
            yield _Pause(call_gap_s)
        if frame.kind != "head" and chunk_delay_s:
            yield _Pause(chunk_delay_s)
        yield frame
        if kind == "stall" and frame.kind in ("text", "args"):
            yield _STALL
            return
        if kind == "stream_error" and frame.kind in ("text", "args"):
            yield _StreamError(fault.status, fault.message)  # type: ignore[union-attr]
            return
        if kind in ("cut", "truncate") and frame.kind == ("args" if last_call >= 0 else "text") \
                and frame.call == last_call:
            if kind == "cut":
                yield _CUT
            return


class LocalModelServer:
    """A model server on 127.0.0.1 (random port) for tests; use it as a context manager.

    Args:
        policy: decides each reply from the conversation: a ``Policy``, or a scripted scenario (a
            ``Scenario``, a built-in name or a file path) played by ``scenario_policy``; default:
            the built-in ``demo`` scenario.
        faults: request number (1-based) -> the fault to inject into that request.
        chunk_delay_s: pause before every streamed frame (simulates decoding speed).
        call_gap_s: pause before each tool call after the first (shows mid-stream dispatch).
        model: the model name the server reports.
        on_frame: called in the server's thread before each streamed frame is sent; a test may
            block in it to hold the stream at a known point.
        port: listen on this port (default: any free one; ``port`` tells which).

    Attributes:
        requests: the JSON body of every model request received, in order.
        request_headers: the HTTP headers of every model request received, in order (names
            lower-cased), so a test can check which credentials were sent where.
    """

    paths: tuple[str, ...] = ()
    """The POST paths this format answers (subclasses set them)."""

    def __init__(
        self,
        policy: Policy | Scenario | str | Path | None = None,
        *,
        faults: Mapping[int, Fault] | None = None,
        chunk_delay_s: float = 0.0,
        call_gap_s: float = 0.0,
        model: str = "test-model",
        on_frame: Callable[[Frame], None] | None = None,
        port: int = 0,
    ) -> None:
        self.policy: Policy = as_policy(policy)
        self.on_frame = on_frame
        self.faults = dict(faults or {})
        self.chunk_delay_s = chunk_delay_s
        self.call_gap_s = call_gap_s
        self.model = model
        self.requested_port = port
        """The port to listen on (0: any free one)."""
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the parts a format supplies ----------------------------------------------------------------

    def conversation(self, body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The request's messages and tools in OpenAI chat form (raises BadRequest if invalid)."""
        raise NotImplementedError

    def stream_frames(self, reply: Reply, prompt_tokens: int, number: int) -> list[Frame]:
        """The streamed reply as frames, ``head`` first and ``end`` last."""
        raise NotImplementedError

    def complete_body(self, reply: Reply, prompt_tokens: int, number: int) -> dict[str, Any]:
        """The non-streaming reply body."""
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """The body of an HTTP error in this format."""
        raise NotImplementedError

    def error_frame(self, status: int, message: str) -> bytes:
        """An error event inside a stream, in this format."""
        raise NotImplementedError

    # -- life cycle ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running (use it in a with block)")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (append ``/v1`` for an OpenAI-style api_base)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"model_server": self})
        self._httpd = _QuietServer(("127.0.0.1", self.requested_port), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},  # quick to stop
            name="asyncfc-test-server", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; replies held by a stall or a pause end at once."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------------

    def _admit(self, body: dict[str, Any], headers: Mapping[str, str]) -> tuple[int, Fault | None]:
        with self._lock:
            self.requests.append(body)
            self.request_headers.append({k.lower(): v for k, v in headers.items()})
            number = len(self.requests)
        return number, self.faults.get(number)

    def _reply_for(self, body: Mapping[str, Any]) -> tuple[Reply, int]:
        messages, tools = self.conversation(body)
        reply = self.policy(messages, tools)
        return reply, estimate_tokens(json.dumps(messages))


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a cancelled stream) is normal here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    model_server: LocalModelServer
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection ends its thread after this long

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silent: test output stays clean."""

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        server = self.model_server
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, server.error_body(400, "request body is not JSON"))
            return
        if path not in server.paths:
            self._send_json(404, server.error_body(404, f"no route for {path}"))
            return
        number, fault = server._admit(body, self.headers)
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": _header_value(fault.retry_after)}
            self._send_json(fault.status, server.error_body(fault.status, fault.message), headers)
            return
        try:
            reply, prompt_tokens = server._reply_for(body)
        except BadRequest as exc:
            self._send_json(400, server.error_body(400, str(exc)))
            return
        reply = within_output_limit(with_fault(reply, fault), body.get("max_tokens"))
        if body.get("stream"):
            frames = server.stream_frames(reply, prompt_tokens, number)
            self._stream(pace(frames, fault, chunk_delay_s=server.chunk_delay_s, call_gap_s=server.call_gap_s))
        else:
            self._send_json(200, server.complete_body(reply, prompt_tokens, number))

    def _send_json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, items: Iterable[Frame | _Pause | object]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        stopping = self.model_server._stopping
        try:
            for item in items:
                if isinstance(item, _Pause):
                    if stopping.wait(item.seconds):
                        return self._drop()
                elif item is _STALL:
                    stopping.wait()
                    return self._drop()
                elif item is _CUT:
                    return self._drop()
                elif isinstance(item, _StreamError):
                    self._write_chunk(self.model_server.error_frame(item.status, item.message))
                    break
                else:
                    if self.model_server.on_frame is not None:
                        self.model_server.on_frame(item)  # type: ignore[arg-type]
                    self._write_chunk(item.data)  # type: ignore[union-attr]
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away: nothing to finish

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _drop(self) -> None:
        """End the connection abruptly: no terminating chunk, so the client sees a cut stream."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass



def serve_from_command_line(server_class: type[LocalModelServer], argv: Sequence[str] | None, *,
                            api: str, model_prefix: str, api_suffix: str = "") -> int:
    """``python -m asyncfc_cli.testing.openai_server --scenario demo --port 8765``: serve a
    scripted scenario until Ctrl-C, for testing an integration against a model that always
    answers the same way. Prints the URL and the asyncfc flags that reach it."""
    import argparse

    parser = argparse.ArgumentParser(
        prog=f"python -m asyncfc_cli.testing.{model_prefix}_server",
        description=f"Serve a scripted model over the {api} API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--scenario", default="demo",
                        help="a built-in scenario name or a .yaml/.json scenario file (default: demo)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free one)")
    parser.add_argument("--chunk-delay", type=float, default=0.0, metavar="SECONDS",
                        help="pause before every streamed frame, to look like decoding")
    parser.add_argument("--model", default="test-model", help="the model name the server reports")
    args = parser.parse_args(argv)
    from ..errors import AsyncfcError

    try:
        server = server_class(args.scenario, port=args.port, chunk_delay_s=args.chunk_delay, model=args.model)
        server.start()
    except (AsyncfcError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Serving scenario {args.scenario!r} ({api}) at {server.base_url}{api_suffix}\n"
          f"  asyncfc run --model {model_prefix}/{args.model} --api-base {server.base_url}{api_suffix} TASK\n"
          "Ctrl-C stops it.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
