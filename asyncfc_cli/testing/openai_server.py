"""A local OpenAI-compatible chat-completions server, for tests that go over real HTTP.

Point any OpenAI-style client at it (asyncfc: ``--model openai/test-model --api-base URL/v1``)::

    from asyncfc_cli.testing.openai_server import OpenAIServer, Reply, ReplyCall, Fault

    def policy(messages, tools):
        if messages[-1]["role"] == "tool":
            return Reply(text="done")
        return Reply(tool_calls=(ReplyCall("read_file", '{"path": "README.md"}'),))

    with OpenAIServer(policy, faults={1: Fault.http(429, retry_after=1)}) as server:
        run_something(api_base=server.base_url + "/v1")
        assert len(server.requests) == 3

It answers POST ``/v1/chat/completions`` (and ``/chat/completions``), streaming in the real SSE form
(role chunk, content deltas, tool-call deltas whose arguments are split over several chunks, the
finish reason, a usage chunk, ``data: [DONE]``) or as
one JSON body. It checks that every tool message answers a call of the assistant message before it
and that every call is answered, as OpenAI does (HTTP 400 otherwise).

Given a scenario with sub-agents, it serves their conversations too, told apart by their task
(``policies.scenario_policy``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ._server import Fault, Frame, LocalModelServer, serve_from_command_line, split_text
from .policies import BadRequest, Policy, Reply, ReplyCall, echo_policy, reply_tokens


__all__ = ["BadRequest", "Fault", "OpenAIServer", "Policy", "Reply", "ReplyCall", "echo_policy"]

_TEXT_PIECE = 12
_ARGS_PIECE = 10


def check_tool_sequence(messages: list[dict[str, Any]]) -> None:
    """Raise BadRequest unless tool messages answer exactly the calls of the assistant before them."""
    open_ids: set[str] = set()
    for position, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_ids:
                raise BadRequest(f"messages[{position}]: tool message answers no open call ({call_id!r})")
            open_ids.discard(call_id)
            continue
        if open_ids:
            raise BadRequest(f"messages[{position}]: calls {sorted(open_ids)} have no tool message")
        if role == "assistant":
            open_ids = {call["id"] for call in message.get("tool_calls") or ()}
    if open_ids:
        raise BadRequest(f"calls {sorted(open_ids)} have no tool message")


class OpenAIServer(LocalModelServer):
    """The OpenAI chat-completions format of ``LocalModelServer`` (see the module docstring)."""

    paths = ("/v1/chat/completions", "/chat/completions")
    repeat_call_fields = False
    """Repeat each call's id, type and name in every one of its argument deltas, as some servers
    (vLLM, some llama.cpp builds) do; a client must still assemble one call, not several."""

    def conversation(self, body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        messages = list(body.get("messages") or ())
        if not messages:
            raise BadRequest("messages must not be empty")
        check_tool_sequence(messages)
        return messages, list(body.get("tools") or ())

    def _chunk(self, number: int, delta: dict[str, Any] | None, **extra: Any) -> bytes:
        chunk: dict[str, Any] = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        chunk.update(extra)
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def stream_frames(self, reply: Reply, prompt_tokens: int, number: int) -> list[Frame]:
        frames = [Frame("head", self._chunk(number, {"role": "assistant", "content": ""}))]
        if reply.text:
            frames += self.text_frames(reply.text, number)
        for index, call in enumerate(reply.tool_calls):
            frames += self.call_frames(call, index, number)
        finish = self._chunk(number, {})
        finish_body = json.loads(finish[len(b"data: "):])
        finish_body["choices"][0]["finish_reason"] = _finish_reason(reply)
        frames.append(Frame("end", b"data: " + json.dumps(finish_body).encode() + b"\n\n"))
        frames.append(Frame("end", self._chunk(number, None, usage=_usage(reply, prompt_tokens))))
        frames.append(Frame("end", b"data: [DONE]\n\n"))
        return frames

    def text_frames(self, text: str, number: int) -> list[Frame]:
        """``text`` as the content deltas of response ``number`` (at least one)."""
        return [Frame("text", self._chunk(number, {"content": piece})) for piece in split_text(text, _TEXT_PIECE)]

    def call_frames(self, call: ReplyCall, index: int, number: int) -> list[Frame]:
        """Call ``index`` of response ``number``: its start (id, type, name), then its arguments in
        pieces (each repeating the id, type and name under ``repeat_call_fields``)."""
        start = {"index": index, "id": _call_id(call, number, index), "type": "function",
                 "function": {"name": call.name, "arguments": ""}}
        frames = [Frame("call_start", self._chunk(number, {"tool_calls": [start]}), index)]
        for piece in split_text(call.arguments, _ARGS_PIECE):
            part: dict[str, Any] = {"index": index, "function": {"arguments": piece}}
            if self.repeat_call_fields:
                part.update(id=start["id"], type="function")
                part["function"]["name"] = call.name
            frames.append(Frame("args", self._chunk(number, {"tool_calls": [part]}), index))
        return frames

    def complete_body(self, reply: Reply, prompt_tokens: int, number: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": _call_id(call, number, index), "type": "function",
                 "function": {"name": call.name, "arguments": call.arguments}}
                for index, call in enumerate(reply.tool_calls)
            ]
        return {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(reply)}],
            "usage": _usage(reply, prompt_tokens),
        }

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {400: "invalid_request_error", 404: "not_found_error", 429: "rate_limit_exceeded"}
        return {"error": {"message": message, "type": kind.get(status, "server_error"), "code": status}}

    def error_frame(self, status: int, message: str) -> bytes:
        """OpenAI's (and llama.cpp's, vLLM's) form: a data event holding an error body."""
        return b"data: " + json.dumps(self.error_body(status, message)).encode() + b"\n\n"


def _call_id(call: ReplyCall, number: int, index: int) -> str:
    return call.id or f"call_{number}_{index}"


def _finish_reason(reply: Reply) -> str:
    if reply.cut_by_limit:
        return "length"
    return "tool_calls" if reply.tool_calls else "stop"


def _usage(reply: Reply, prompt_tokens: int) -> dict[str, int]:
    completion = reply_tokens(reply)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion}


if __name__ == "__main__":
    raise SystemExit(serve_from_command_line(OpenAIServer, None, api="OpenAI chat completions", model_prefix="openai",
                                             api_suffix="/v1"))
