"""A local Anthropic Messages API server, for tests that go over real HTTP.

Run an ``anthropic/`` model through litellm against it (asyncfc: ``--model anthropic/test-model
--api-base URL``)::

    from asyncfc_cli.testing.anthropic_server import AnthropicServer, Reply

    with AnthropicServer(lambda messages, tools: Reply(text="hi")) as server:
        run_something(api_base=server.base_url)

It answers POST ``/v1/messages`` with the real streaming events (message_start, content_block_start,
content_block_delta with text_delta or input_json_delta, content_block_stop, message_delta with the
stop reason and usage, message_stop) or one JSON message. The policy is the same as the OpenAI
server's: it is shown the conversation converted to OpenAI chat form. Before that, the request is
checked against the rules the real API enforces on conversations with tools (HTTP 400 otherwise):
the system prompt is a top-level field, the first turn is the user's, every ``tool_use`` is answered
by a ``tool_result`` in the very next turn, tool results come first in that turn, and text blocks
are not empty. Consecutive turns of one role are combined first, as the API does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._server import Fault, Frame, LocalModelServer, serve_from_command_line, split_text
from .policies import BadRequest, Policy, Reply, ReplyCall, echo_policy, reply_tokens


__all__ = ["AnthropicServer", "BadRequest", "Fault", "Policy", "Reply", "ReplyCall", "echo_policy"]

_TEXT_PIECE = 12
_ARGS_PIECE = 10


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise BadRequest(f"content must be a string or a list of blocks, not {type(content).__name__}")
    return content


def combine_turns(messages: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Messages as (role, blocks) turns, consecutive turns of one role combined (as the API does)."""
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    for position, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise BadRequest(f"messages[{position}].role: {role!r} (system goes in the top-level field)")
        blocks = _blocks(message.get("content"))
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, list(blocks)))
    return turns


def check_turns(turns: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Raise BadRequest where the real Messages API would reject the conversation."""
    if not turns or turns[0][0] != "user":
        raise BadRequest("messages: the first turn must be the user's")
    expected: set[str] = set()
    for position, (role, blocks) in enumerate(turns):
        for block in blocks:
            if block.get("type") == "text" and not block.get("text"):
                raise BadRequest(f"turn {position}: text content blocks must be non-empty")
        results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        leading = 0
        while leading < len(blocks) and blocks[leading].get("type") == "tool_result":
            leading += 1
        if leading != len(results):
            raise BadRequest(f"turn {position}: tool_result blocks must come first in the turn")
        if set(results) != expected:
            raise BadRequest(
                f"turn {position}: tool_use ids {sorted(expected)} must be answered by tool_result "
                f"blocks immediately after (got {sorted(map(str, results))})"
            )
        expected = {b["id"] for b in blocks if b.get("type") == "tool_use"} if role == "assistant" else set()
    if expected:
        raise BadRequest(f"tool_use ids {sorted(expected)} have no tool_result")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or () if b.get("type") == "text")


def to_openai(turns: list[tuple[str, list[dict[str, Any]]]], system: str) -> list[dict[str, Any]]:
    """The conversation in OpenAI chat form, for the policy."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    names: dict[str, str] = {}
    for role, blocks in turns:
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        if role == "assistant":
            calls = [b for b in blocks if b.get("type") == "tool_use"]
            names.update({b["id"]: b["name"] for b in calls})
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                message["tool_calls"] = [
                    {"id": b["id"], "type": "function",
                     "function": {"name": b["name"], "arguments": json.dumps(b.get("input") or {})}}
                    for b in calls
                ]
            out.append(message)
            continue
        for block in blocks:
            if block.get("type") == "tool_result":
                call_id = block["tool_use_id"]
                out.append({"role": "tool", "tool_call_id": call_id, "name": names.get(call_id, ""),
                            "content": _text_of(block.get("content"))})
        if text:
            out.append({"role": "user", "content": text})
    return out


class AnthropicServer(LocalModelServer):
    """The Anthropic Messages format of ``LocalModelServer`` (see the module docstring)."""

    paths = ("/v1/messages", "/messages")

    def conversation(self, body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        turns = combine_turns(list(body.get("messages") or ()))
        check_turns(turns)
        system = _text_of(body.get("system") or "")
        tools = [
            {"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                              "parameters": t.get("input_schema") or {}}}
            for t in body.get("tools") or ()
        ]
        return to_openai(turns, system), tools

    def stream_frames(self, reply: Reply, prompt_tokens: int, number: int) -> list[Frame]:
        message = self._message(reply, prompt_tokens, number, content=[], output_tokens=1)
        message["stop_reason"] = None
        frames = [Frame("head", _event("message_start", message=message))]
        block = 0
        if reply.text:
            frames.append(Frame("head", _event("content_block_start", index=block,
                                               content_block={"type": "text", "text": ""})))
            frames += [
                Frame("text", _event("content_block_delta", index=block,
                                     delta={"type": "text_delta", "text": piece}))
                for piece in split_text(reply.text, _TEXT_PIECE)
            ]
            frames.append(Frame("text", _event("content_block_stop", index=block)))
            block += 1
        for index, call in enumerate(reply.tool_calls):
            start = {"type": "tool_use", "id": _call_id(call, number, index), "name": call.name, "input": {}}
            frames.append(Frame("call_start", _event("content_block_start", index=block, content_block=start),
                                index))
            for piece in split_text(call.arguments, _ARGS_PIECE):
                delta = {"type": "input_json_delta", "partial_json": piece}
                frames.append(Frame("args", _event("content_block_delta", index=block, delta=delta), index))
            frames.append(Frame("end", _event("content_block_stop", index=block), index))
            block += 1
        frames.append(Frame("end", _event("message_delta",
                                          delta={"stop_reason": _stop_reason(reply), "stop_sequence": None},
                                          usage={"output_tokens": reply_tokens(reply)})))
        frames.append(Frame("end", _event("message_stop")))
        return frames

    def complete_body(self, reply: Reply, prompt_tokens: int, number: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        for index, call in enumerate(reply.tool_calls):
            try:
                arguments = json.loads(call.arguments or "{}")
            except json.JSONDecodeError:
                arguments = {}
            content.append({"type": "tool_use", "id": _call_id(call, number, index), "name": call.name,
                            "input": arguments})
        return self._message(reply, prompt_tokens, number, content=content,
                             output_tokens=reply_tokens(reply))

    def _message(self, reply: Reply, prompt_tokens: int, number: int, *, content: list[dict[str, Any]],
                 output_tokens: int) -> dict[str, Any]:
        return {
            "id": f"msg_{number}", "type": "message", "role": "assistant", "model": self.model,
            "content": content, "stop_reason": _stop_reason(reply), "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": output_tokens},
        }

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {400: "invalid_request_error", 404: "not_found_error", 429: "rate_limit_error",
                529: "overloaded_error"}
        return {"type": "error", "error": {"type": kind.get(status, "api_error"), "message": message}}

    def error_frame(self, status: int, message: str) -> bytes:
        """Anthropic's form: an ``error`` event."""
        body = self.error_body(status, message)
        return _event("error", error=body["error"])


def _event(name: str, **fields: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps({'type': name, **fields})}\n\n".encode()


def _call_id(call: ReplyCall, number: int, index: int) -> str:
    return call.id or f"toolu_{number}_{index}"


def _stop_reason(reply: Reply) -> str:
    if reply.cut_by_limit:
        return "max_tokens"
    return "tool_use" if reply.tool_calls else "end_turn"



if __name__ == "__main__":
    raise SystemExit(serve_from_command_line(AnthropicServer, None, api="Anthropic Messages", model_prefix="anthropic",
                                             api_suffix=""))
