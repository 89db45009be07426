"""The local model servers speak the real wire formats, check conversations as the real APIs do, and
inject faults where asked. Driven with plain httpx, no litellm."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from asyncfc_cli.testing.anthropic_server import AnthropicServer
from asyncfc_cli.testing.openai_server import Fault, OpenAIServer, Reply, ReplyCall
from asyncfc_cli.testing.policies import scenario_policy

CALLS = Reply(text="Looking.", tool_calls=(ReplyCall("read_file", '{"path": "calc.py", "limit": 200}'),
                                           ReplyCall("grep", '{"pattern": "def add"}')))
USER = [{"role": "user", "content": "go"}]


def always(reply: Reply):
    return lambda messages, tools: reply


def sse_data(text: str) -> list[str]:
    return [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]


def post(server, path: str, body: dict) -> httpx.Response:
    return httpx.post(server.base_url + path, json=body, timeout=10)


# --------------------------------------------------------------------------------------------------
# OpenAI format


def test_openai_stream_has_role_content_split_arguments_finish_usage_and_done():
    with OpenAIServer(always(CALLS)) as server:
        response = post(server, "/v1/chat/completions", {"messages": USER, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    data = sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0]["role"] == "assistant"
    assert "".join(d.get("content") or "" for d in deltas) == "Looking."
    fragments = [tc for d in deltas for tc in d.get("tool_calls", ())]
    for index, call in enumerate(CALLS.tool_calls):
        mine = [f for f in fragments if f["index"] == index]
        assert mine[0]["function"]["name"] == call.name and mine[0]["id"]
        pieces = [f["function"]["arguments"] for f in mine if f["function"].get("arguments")]
        assert len(pieces) >= 2 and "".join(pieces) == call.arguments
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finish[-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_openai_answers_without_streaming_and_on_both_paths():
    with OpenAIServer(always(CALLS)) as server:
        body = post(server, "/chat/completions", {"messages": USER}).json()
    message = body["choices"][0]["message"]
    assert message["content"] == "Looking."
    assert [c["function"]["arguments"] for c in message["tool_calls"]] == [c.arguments for c in CALLS.tool_calls]
    assert body["usage"]["prompt_tokens"] > 0


def test_openai_rejects_unanswered_calls_like_the_real_api():
    history = USER + [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
        {"role": "user", "content": "and?"}]
    with OpenAIServer(always(CALLS)) as server:
        response = post(server, "/v1/chat/completions", {"messages": history})
    assert response.status_code == 400 and "c1" in response.json()["error"]["message"]


def test_status_fault_sends_retry_after_and_counts_requests():
    with OpenAIServer(always(CALLS), faults={1: Fault.http(429, retry_after=3)}) as server:
        first = post(server, "/v1/chat/completions", {"messages": USER})
        second = post(server, "/v1/chat/completions", {"messages": USER})
        assert len(server.requests) == 2
    assert first.status_code == 429 and first.headers["retry-after"] == "3"
    assert second.status_code == 200


def test_cut_fault_ends_the_stream_inside_the_last_calls_arguments():
    with OpenAIServer(always(CALLS), faults={1: Fault.cut()}) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            with httpx.stream("POST", server.base_url + "/v1/chat/completions",
                              json={"messages": USER, "stream": True}, timeout=10) as response:
                received = []
                for line in response.iter_lines():
                    received.append(line)
    text = "\n".join(received)
    assert '"index": 1' in text and "[DONE]" not in text and "finish_reason\": \"tool_calls" not in text


def test_bad_json_fault_replaces_the_last_calls_arguments():
    with OpenAIServer(always(CALLS), faults={1: Fault.bad_json()}) as server:
        body = post(server, "/v1/chat/completions", {"messages": USER}).json()
    arguments = body["choices"][0]["message"]["tool_calls"][-1]["function"]["arguments"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


def test_a_stall_is_released_when_the_server_stops():
    server = OpenAIServer(always(CALLS), faults={1: Fault.stall()})
    server.start()
    try:
        with httpx.stream("POST", server.base_url + "/v1/chat/completions",
                          json={"messages": USER, "stream": True}, timeout=10) as response:
            lines = response.iter_lines()
            assert next(lines).startswith("data: ")
            server.stop()
            with pytest.raises(httpx.RemoteProtocolError):
                list(lines)
    finally:
        server.stop()


def test_servers_bind_loopback_only():
    with OpenAIServer() as server:
        assert server._httpd.server_address[0] == "127.0.0.1"
        port = server.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_default_policy_plays_the_demo_scenario():
    tools = [{"type": "function", "function": {"name": n, "parameters": {}}}
             for n in ("read_file", "shell", "await_future")]
    with OpenAIServer() as server:
        body = post(server, "/v1/chat/completions", {"messages": USER, "tools": tools}).json()
    names = [c["function"]["name"] for c in body["choices"][0]["message"]["tool_calls"]]
    assert names == ["read_file", "read_file", "shell", "await_future"]  # it needs the reads now


def test_a_scenario_that_cannot_go_on_is_a_400_naming_the_step():
    policy = scenario_policy("demo")
    with OpenAIServer(policy) as server:
        post(server, "/v1/chat/completions", {"messages": USER})
        placeholder = '{"future": "f1", "status": "running"}'
        history = USER + [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": i, "type": "function", "function": {"name": "read_file", "arguments": "{}"}}
                for i in ("call_1_source", "call_2_tests", "call_3_first_run")]},
            *({"role": "tool", "tool_call_id": i, "content": placeholder}
              for i in ("call_1_source", "call_2_tests", "call_3_first_run")),
        ]
        response = post(server, "/v1/chat/completions", {"messages": history})
    assert response.status_code == 400 and "await_future" in response.json()["error"]["message"]


# --------------------------------------------------------------------------------------------------
# Anthropic format


def anthropic_events(text: str) -> list[dict]:
    return [json.loads(d) for d in sse_data(text)]


def test_anthropic_stream_has_the_messages_api_events_in_order():
    with AnthropicServer(always(CALLS)) as server:
        response = post(server, "/v1/messages", {"messages": USER, "stream": True, "max_tokens": 100})
    events = anthropic_events(response.text)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["text", "tool_use", "tool_use"]
    assert kinds.count("content_block_stop") == 3
    json_parts = [e["delta"]["partial_json"] for e in events
                  if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
                  and e["index"] == 1]
    assert len(json_parts) >= 2 and "".join(json_parts) == CALLS.tool_calls[0].arguments
    delta = events[-2]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] > 0


def test_anthropic_answers_without_streaming():
    with AnthropicServer(always(CALLS)) as server:
        body = post(server, "/v1/messages", {"messages": USER, "max_tokens": 100}).json()
    assert [b["type"] for b in body["content"]] == ["text", "tool_use", "tool_use"]
    assert body["content"][1]["input"] == {"path": "calc.py", "limit": 200}
    assert body["stop_reason"] == "tool_use"


@pytest.mark.parametrize("messages, complaint", [
    ([{"role": "assistant", "content": "hi"}], "first turn"),
    (USER + [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": {}}]},
             {"role": "user", "content": "no result"}], "t1"),
    (USER + [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": {}}]},
             {"role": "user", "content": [{"type": "text", "text": "first"},
                                          {"type": "tool_result", "tool_use_id": "t1", "content": "v"}]}],
     "come first"),
    ([{"role": "user", "content": [{"type": "text", "text": ""}]}], "non-empty"),
    ([{"role": "system", "content": "s"}] + USER, "top-level"),
])
def test_anthropic_rejects_conversations_the_real_api_rejects(messages, complaint):
    with AnthropicServer(always(CALLS)) as server:
        response = post(server, "/v1/messages", {"messages": messages, "max_tokens": 100})
    assert response.status_code == 400
    assert complaint in response.json()["error"]["message"]


def test_anthropic_conversation_reaches_the_policy_in_openai_form():
    seen = []
    history = USER + [
        {"role": "assistant", "content": [{"type": "text", "text": "Reading."},
                                          {"type": "tool_use", "id": "t1", "name": "read_file",
                                           "input": {"path": "a.py"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "A"}]},
        {"role": "user", "content": '<future id="f2" status="done">x</future>'},
    ]

    def record(messages, tools):
        seen.extend(messages)
        return Reply("ok")

    with AnthropicServer(record) as server:
        response = post(server, "/v1/messages", {"messages": history, "system": "sys", "max_tokens": 9})
    assert response.status_code == 200
    assert [m["role"] for m in seen] == ["system", "user", "assistant", "tool", "user"]
    assert seen[2]["tool_calls"][0]["function"] == {"name": "read_file", "arguments": '{"path": "a.py"}'}
    assert seen[3] == {"role": "tool", "tool_call_id": "t1", "name": "read_file", "content": "A"}
