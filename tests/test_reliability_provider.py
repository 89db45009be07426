"""Hostile and broken providers, through litellm over real HTTP against the local servers: a stalled
stream, a Retry-After that is not a number, an error sent inside the stream, the output limit, an
unreachable server, a model file that does not exist. Each must end in a retry or a clear error in
words, never a hang, a traceback or invalid JSON."""

from __future__ import annotations

import json
import math
import time
from email.utils import formatdate

import pytest
import trio
from typer.testing import CliRunner

from asyncfc_cli.app import open_model
from asyncfc_cli.config import Settings
from asyncfc_cli.errors import ConfigError, ProviderError
from asyncfc_cli.events import EventBus, RequestRetry, event_to_json
from asyncfc_cli.model.base import RequestSent, ResponseEnd, Retrying, ToolCallReady, UserMessage
from asyncfc_cli.model.litellm_client import LiteLLMClient, provider_error
from asyncfc_cli.model.provider import MAX_RETRY_AFTER_S, parse_retry_after
from asyncfc_cli.testing.anthropic_server import AnthropicServer
from asyncfc_cli.testing.openai_server import Fault, OpenAIServer, Reply, ReplyCall
from provider_helpers import KEY, Sleeps, always, client_for

SERVERS = [
    pytest.param(OpenAIServer, "openai/test-model", "/v1", id="openai"),
    pytest.param(OpenAIServer, "hosted_vllm/test-model", "/v1", id="generic-openai-compatible"),
    pytest.param(AnthropicServer, "anthropic/claude-sonnet-4-5", "", id="anthropic"),
]
ONE_CALL = Reply(tool_calls=(ReplyCall("read_file", '{"path": "a_rather_long_file_name.py"}'),))
TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "read",
                                           "parameters": {"type": "object"}}}]


async def collect(client: LiteLLMClient) -> list:
    """What streamed, the client's send markers (one per attempt) left out: these tests are about
    retries and what reached the session."""
    return [item async for item in client.stream([UserMessage("go")], TOOLS) if not isinstance(item, RequestSent)]


# --------------------------------------------------------------------------------------------------
# Retry-After and numbers in events


def test_retry_after_is_seconds_or_an_http_date_finite_and_bounded():
    now = 1_000_000_000.0
    assert parse_retry_after("2", now=now) == 2.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("86400") == MAX_RETRY_AFTER_S
    for bad in ("nan", "NaN", "inf", "-inf", "-3", "soon", "", None, "1e999"):
        assert parse_retry_after(bad) is None, bad


@pytest.mark.trio
@pytest.mark.parametrize("header", [math.nan, math.inf, -1.0])
async def test_a_broken_retry_after_falls_back_to_backoff(header):
    with OpenAIServer(always(Reply(text="ok")), faults={1: Fault.http(429, retry_after=header)}) as server:
        client = client_for(server)
        items = await collect(client)
    retry = items[0]
    assert isinstance(retry, Retrying) and math.isfinite(retry.delay) and 0 < retry.delay <= 1.0
    assert client._sleep.delays == [retry.delay]
    assert isinstance(items[-1], ResponseEnd)


@pytest.mark.trio
async def test_a_retry_after_http_date_is_honoured():
    when = formatdate(time.time() + 30, usegmt=True)
    with OpenAIServer(always(Reply(text="ok")), faults={1: Fault.http(503, retry_after=when)}) as server:
        items = await collect(client_for(server))
    assert isinstance(items[0], Retrying) and 25 < items[0].delay <= 30


def test_events_are_always_valid_json_even_with_a_number_that_is_not():
    bus = EventBus()
    lines: list[str] = []
    bus.subscribe(lambda event: lines.append(event_to_json(event)))
    bus.emit(RequestRetry, turn=1, attempt=1, delay=math.nan, reason="x")
    bus.emit(RequestRetry, turn=1, attempt=2, delay=math.inf, reason="x")

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    parsed = [json.loads(line, parse_constant=refuse) for line in lines]
    assert [event["delay"] for event in parsed] == [None, None]


# --------------------------------------------------------------------------------------------------
# A stalled stream


@pytest.mark.trio
@pytest.mark.timeout(240)
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_a_stalled_stream_is_abandoned_and_retried(server_cls, model, suffix):
    """The server sends the start of a call, then nothing while it holds the connection open: after
    stall_timeout_s the client gives up on it and asks again (nothing had been yielded yet). The
    timeout also runs while the worker imports litellm and prepares the request: litellm is
    imported first (tens of seconds on a loaded machine), and the timeout is well above a
    request's preparation, so that no attempt but the first is taken for a stall."""
    from asyncfc_cli.model.litellm_worker import import_litellm

    await trio.to_thread.run_sync(import_litellm)
    with server_cls(always(ONE_CALL), faults={1: Fault.stall()}) as server:
        items = await collect(client_for(server, model, suffix, stall_timeout_s=2.0))
        assert len(server.requests) == 2
    assert [type(i).__name__ for i in items] == ["Retrying", "ToolCallReady", "ResponseEnd"]
    assert "sent nothing for 2 s" in items[0].reason and "stalled" in items[0].reason


# --------------------------------------------------------------------------------------------------
# The output limit


@pytest.mark.trio
async def test_every_request_carries_a_bounded_output_limit():
    with OpenAIServer(always(Reply(text="ok"))) as server:
        await collect(client_for(server, max_output_tokens=700))
        # A model litellm knows gets at most its own maximum (gpt-4o-mini: 16384).
        await collect(client_for(server, "openai/gpt-4o-mini", max_output_tokens=1_000_000))
    assert [r["max_tokens"] for r in server.requests] == [700, 16384]


@pytest.mark.trio
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_a_reply_cut_by_the_limit_ends_with_length_and_never_yields_the_cut_call(
        server_cls, model, suffix):
    long_write = Reply(text="Writing it.", tool_calls=(
        ReplyCall("read_file", '{"path": "a.py"}'),
        ReplyCall("write_file", json.dumps({"path": "b.py", "content": "x = 1\n" * 200}))))
    with server_cls(always(long_write)) as server:
        items = await collect(client_for(server, model, suffix, max_output_tokens=40))
        assert server.requests[0]["max_tokens"] == 40
    calls = [i.call.name for i in items if isinstance(i, ToolCallReady)]
    end = items[-1]
    assert calls == ["read_file"]
    assert (end.finish_reason, end.dropped_call) == ("length", "write_file")


# --------------------------------------------------------------------------------------------------
# Errors the server sends inside the stream


@pytest.mark.trio
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_an_error_sent_inside_the_stream_is_reported_in_the_servers_words(server_cls, model, suffix):
    fault = Fault.stream_error(500, "Context size has been exceeded.")
    with server_cls(always(Reply(text="Let me think about this for a while.")), faults={1: fault}) as server:
        with pytest.raises(ProviderError) as caught:
            await collect(client_for(server, model, suffix))
    message = str(caught.value)
    assert "the server reported an error in the middle of the response" in message
    assert "Context size has been exceeded." in message
    assert "broke off" not in message and "Original exception" not in message
    assert caught.value.retryable  # a 500, like over HTTP; here not retried: text had streamed


@pytest.mark.trio
async def test_an_in_stream_rejection_is_not_retryable():
    fault = Fault.stream_error(400, "invalid grammar")
    with OpenAIServer(always(ONE_CALL), faults={1: fault}) as server:
        with pytest.raises(ProviderError, match="invalid grammar") as caught:
            await collect(client_for(server, "hosted_vllm/test-model"))
        assert len(server.requests) == 1
    assert not caught.value.retryable


# --------------------------------------------------------------------------------------------------
# Errors in words


def test_a_model_file_that_does_not_exist_is_named_as_such(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"the scenario file .*nope\.yaml does not exist"):
        open_model(Settings(model=str(missing)))


def test_asyncfc_run_with_a_missing_model_file_exits_2_naming_the_file(tmp_path, monkeypatch):
    from asyncfc_cli.cli import app

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    result = CliRunner().invoke(app, ["run", "hi", "--model", "x.yaml", "--cwd", str(tmp_path),
                                      "--headless"])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "LLM Provider NOT provided" not in result.output


@pytest.mark.trio
async def test_the_unreachable_url_and_refusal_are_named():
    with OpenAIServer() as server:
        api_base = server.base_url + "/v1"
    client = LiteLLMClient("openai/test-model", api_base=api_base, api_key=KEY, sleep=Sleeps(),
                           max_attempts=1)
    with pytest.raises(ProviderError) as caught:
        await collect(client)
    assert f"cannot connect to {api_base}: connection refused" in str(caught.value)


def test_connection_failures_say_what_happened_to_the_connection():
    import socket

    import httpx

    timeout = provider_error(httpx.ConnectTimeout("timed out"), model="m", endpoint="http://10.9.9.9/v1")
    unknown = provider_error(socket.gaierror(-2, "Name or service not known"), model="m",
                             endpoint="http://nosuchhost.invalid/v1")
    assert str(timeout) == "cannot connect to http://10.9.9.9/v1: timed out while connecting"
    assert str(unknown).startswith("cannot connect to http://nosuchhost.invalid/v1: host name not found")
    assert timeout.retryable and unknown.retryable


def test_asyncfc_run_stops_with_exit_1_when_every_reply_is_cut_by_the_output_limit(tmp_path, monkeypatch):
    """A real run against a server that honours max_tokens: the model cannot finish within 16
    tokens; asyncfc continues the reply twice, then stops with exit 1 and says why (main reported
    the first cut reply as finished, exit 0)."""
    from asyncfc_cli.cli import app

    chatty = Reply(text="A very long explanation that goes on and on. " * 20)
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "ASYNCFC_MAX_OUTPUT_TOKENS": "16",
           "OPENAI_API_KEY": KEY}
    with OpenAIServer(always(chatty)) as server:
        result = CliRunner().invoke(app, [
            "run", "explain", "--model", "openai/test-model", "--api-base", server.base_url + "/v1",
            "--output", "jsonl", "--cwd", str(repo)], env=env, catch_exceptions=False)
        assert [r["max_tokens"] for r in server.requests] == [16, 16, 16]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    finished = events[-1]
    assert result.exit_code == 1
    assert finished["outcome"] == "output_limit" and "max_output_tokens = 16" in finished["message"]
    assert [e["finish_reason"] for e in events if e["type"] == "request_finished"] == ["length"] * 3
