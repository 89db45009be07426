"""The litellm client over real HTTP against the local servers: streaming, mid-stream dispatch,
retries, faults, cancellation, usage and cost, keys. Never reaches a real provider."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading

import pytest
import trio

from asyncfc_cli.errors import EXIT_MODEL, ConfigError, ProviderError
from asyncfc_cli.model.base import (
    AssistantMessage,
    RequestSent,
    ResponseEnd,
    Retrying,
    SystemMessage,
    TextChunk,
    ToolCall,
    ToolCallReady,
    ToolMessage,
    UserMessage,
)
from asyncfc_cli.model.litellm_client import LiteLLMClient, open_litellm, provider_error
from asyncfc_cli.model.provider import (
    NO_KEY,
    CallDelta,
    ToolCallAssembler,
    backoff_delay,
    resolve_api_key,
)
from asyncfc_cli.testing.anthropic_server import AnthropicServer
from asyncfc_cli.testing.openai_server import Fault, OpenAIServer, Reply, ReplyCall

from provider_helpers import KEY, Sleeps, always, client_for

TOOLS = [{"type": "function", "function": {"name": n, "description": n, "parameters": {"type": "object"}}}
         for n in ("read_file", "grep")]
TWO_CALLS = Reply(
    text="Reading both.",
    tool_calls=(ReplyCall("read_file", '{"path": "calc.py", "limit": 200}'),
                ReplyCall("grep", '{"pattern": "def add", "path": "."}')),
)

SERVERS = [
    pytest.param(OpenAIServer, "openai/test-model", "/v1", id="openai"),
    pytest.param(AnthropicServer, "anthropic/claude-sonnet-4-5", "", id="anthropic"),
]
GENERIC = pytest.param(OpenAIServer, "hosted_vllm/test-model", "/v1", id="generic-openai-compatible")
"""A provider litellm streams through its generic HTTP handler rather than the openai SDK."""


async def collect(client: LiteLLMClient, messages=None) -> list:
    return [item async for item in client.stream(messages or [UserMessage("go")], TOOLS)]


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "asyncfc-litellm"]


# --------------------------------------------------------------------------------------------------
# Pure pieces


def test_assembler_reports_a_call_when_the_next_one_starts_and_the_last_at_finish():
    assembler = ToolCallAssembler()
    assert assembler.feed(CallDelta(0, "a", "read_file", "")) is None
    assert assembler.feed(CallDelta(0, None, None, '{"pa')) is None
    assert assembler.feed(CallDelta(0, None, None, 'th": "x"}')) is None
    first = assembler.feed(CallDelta(1, "b", "grep", '{"pattern": "y"}'))
    assert first == ToolCall("a", "read_file", '{"path": "x"}', 0)
    assert assembler.finish() == ToolCall("b", "grep", '{"pattern": "y"}', 1)
    assert assembler.finish() is None


def test_assembler_tells_calls_apart_by_id_when_every_index_is_zero():
    assembler = ToolCallAssembler()
    assembler.feed(CallDelta(0, "a", "read_file", "{}"))
    assert assembler.feed(CallDelta(0, "b", "grep", "{}")) == ToolCall("a", "read_file", "{}", 0)


def test_a_stream_that_never_finishes_never_reports_its_last_call():
    assembler = ToolCallAssembler()
    assembler.feed(CallDelta(0, "a", "write_file", '{"path": "x", "content": "half'))
    assert assembler.count == 0  # nothing reported; without finish() the cut call is dropped


def test_backoff_honours_retry_after_and_grows_with_jitter_within_bounds():
    assert backoff_delay(1, 7.0) == 7.0
    assert backoff_delay(1, 10_000.0) == 120.0
    rng = random.Random(1)
    delays = [backoff_delay(n, None, rng=rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(30.0, 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling


def test_keys_come_from_asyncfc_then_the_provider_then_a_placeholder_for_api_base():
    env = {"OPENAI_API_KEY": "o-key", "ANTHROPIC_API_KEY": "a-key"}
    assert resolve_api_key("openai/gpt-4.1", None, env) == "o-key"
    assert resolve_api_key("claude-sonnet-4-5", None, env) == "a-key"
    assert resolve_api_key("openai/gpt-4.1", None, {**env, "ASYNCFC_API_KEY": "mine"}) == "mine"
    assert resolve_api_key("openai/local", "http://127.0.0.1:1/v1", {}) == NO_KEY
    assert resolve_api_key("ollama/qwen2.5-coder", None, {}) is None


def test_an_api_base_gets_only_a_paired_key_or_asyncfcs_never_the_providers():
    env = {"OPENAI_API_KEY": "o-key", "PROXY_KEY": "p-key"}
    base = "http://127.0.0.1:1/v1"
    assert resolve_api_key("openai/gpt-4.1", base, env) == NO_KEY
    assert resolve_api_key("openai/gpt-4.1", base, env, "PROXY_KEY") == "p-key"
    assert resolve_api_key("openai/gpt-4.1", base, {**env, "ASYNCFC_API_KEY": "mine"}) == "mine"
    # The provider's own endpoint, named explicitly, still gets the provider's key.
    assert resolve_api_key("openai/gpt-4.1", "https://api.openai.com/v1/", env) == "o-key"
    assert resolve_api_key("anthropic/claude-sonnet-4-5", "https://api.openai.com/v1", env) == NO_KEY


def test_a_missing_key_is_a_config_error_naming_the_variable():
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        open_litellm("openai/gpt-4.1", None, env={})


def test_transport_errors_translate_to_retryable_provider_errors():
    import httpx

    timeout = provider_error(httpx.ReadTimeout("slow"), model="m")
    refused = provider_error(ConnectionRefusedError("refused"), model="m")
    assert timeout.retryable and "timed out" in str(timeout)
    assert refused.retryable and "connection refused" in str(refused)
    assert timeout.exit_code == EXIT_MODEL


# --------------------------------------------------------------------------------------------------
# Streaming over HTTP


@pytest.mark.trio
@pytest.mark.parametrize("server_cls, model, suffix", [*SERVERS, GENERIC])
async def test_streams_text_then_each_call_then_one_end_with_usage(server_cls, model, suffix):
    with server_cls(always(TWO_CALLS)) as server:
        items = await collect(client_for(server, model, suffix))
    text = "".join(i.text for i in items if isinstance(i, TextChunk))
    calls = [i.call for i in items if isinstance(i, ToolCallReady)]
    assert text == "Reading both."
    assert [(c.name, json.loads(c.arguments), c.index) for c in calls] == [
        ("read_file", {"path": "calc.py", "limit": 200}, 0),
        ("grep", {"pattern": "def add", "path": "."}, 1),
    ]
    assert isinstance(items[-1], ResponseEnd) and sum(isinstance(i, ResponseEnd) for i in items) == 1
    assert items[-1].finish_reason == "tool_calls"
    assert items[-1].usage.prompt_tokens > 0 and items[-1].usage.completion_tokens > 0


class RepeatingFieldsServer(OpenAIServer):
    repeat_call_fields = True


@pytest.mark.trio
@pytest.mark.parametrize("model", ["openai/test-model", "hosted_vllm/test-model"])
async def test_calls_whose_deltas_repeat_id_type_and_name_are_assembled_once(model):
    """vLLM and some llama.cpp builds send a call's id, type and name again in every argument
    delta: that is one call whose arguments go on, not a new call each time."""
    with RepeatingFieldsServer(always(TWO_CALLS)) as server:
        items = await collect(client_for(server, model, "/v1"))
    calls = [i.call for i in items if isinstance(i, ToolCallReady)]
    assert [(c.name, json.loads(c.arguments), c.index) for c in calls] == [
        ("read_file", {"path": "calc.py", "limit": 200}, 0),
        ("grep", {"pattern": "def add", "path": "."}, 1),
    ]


@pytest.mark.trio
async def test_known_models_report_cost_and_unknown_ones_tokens_only():
    with AnthropicServer(always(Reply("hi"))) as server:
        known = (await collect(client_for(server, "anthropic/claude-sonnet-4-5", "")))[-1]
    with OpenAIServer(always(Reply("hi"))) as server:
        unknown = (await collect(client_for(server, "openai/no-such-model-xyz", "/v1")))[-1]
    assert known.usage.cost is not None and known.usage.cost > 0
    assert unknown.usage.cost is None and unknown.usage.completion_tokens > 0


@pytest.mark.trio
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_a_call_is_ready_while_the_server_is_still_streaming_the_next(server_cls, model, suffix):
    """Mid-stream dispatch: the server holds the stream inside the second call's arguments; the
    first call must already have been handed out."""
    release = threading.Event()

    def hold(frame):
        if frame.kind == "args" and frame.call == 1:
            release.wait(30)

    with server_cls(always(TWO_CALLS), on_frame=hold) as server:
        seen = []
        async for item in client_for(server, model, suffix).stream([UserMessage("go")], TOOLS):
            seen.append(item)
            if isinstance(item, ToolCallReady) and item.call.index == 0:
                assert not release.is_set()  # the server is still holding the rest of the stream
                assert not any(isinstance(i, ResponseEnd) for i in seen)
                release.set()
    assert [i.call.name for i in seen if isinstance(i, ToolCallReady)] == ["read_file", "grep"]


# --------------------------------------------------------------------------------------------------
# Faults


@pytest.mark.trio
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_429_is_retried_after_the_retry_after_delay(server_cls, model, suffix):
    sleeps = Sleeps()
    with server_cls(always(TWO_CALLS), faults={1: Fault.http(429, retry_after=7)}) as server:
        items = await collect(client_for(server, model, suffix, sleep=sleeps))
        assert len(server.requests) == 2
    retries = [i for i in items if isinstance(i, Retrying)]
    assert [(r.attempt, r.delay) for r in retries] == [(1, 7.0)] and "429" in retries[0].reason
    assert sleeps.delays == [7.0]
    assert isinstance(items[-1], ResponseEnd)


@pytest.mark.trio
async def test_server_errors_are_retried_with_backoff_then_reported_with_exit_code_3():
    sleeps = Sleeps()
    faults = {n: Fault.http(500) for n in range(1, 10)}
    with OpenAIServer(always(TWO_CALLS), faults=faults) as server:
        client = client_for(server, "openai/test-model", "/v1", sleep=sleeps, max_attempts=3)
        retries = []
        with pytest.raises(ProviderError) as caught:
            async for item in client.stream([UserMessage("go")], TOOLS):
                assert isinstance(item, (RequestSent, Retrying))  # each attempt says it was sent
                if isinstance(item, Retrying):
                    retries.append(item)
        assert len(server.requests) == 3
    assert [r.attempt for r in retries] == [1, 2]
    assert len(sleeps.delays) == 2 and 0.5 <= sleeps.delays[0] <= 1.0 and 1.0 <= sleeps.delays[1] <= 2.0
    error = caught.value
    assert error.exit_code == EXIT_MODEL and error.status == 500 and error.retryable
    assert "gave up after 3 attempts" in str(error) and "openai/test-model" in str(error)


@pytest.mark.trio
async def test_a_rejected_request_is_not_retried():
    with OpenAIServer(always(TWO_CALLS), faults={1: Fault.http(400, message="bad schema")}) as server:
        with pytest.raises(ProviderError, match="bad schema") as caught:
            await collect(client_for(server, "openai/test-model", "/v1"))
        assert len(server.requests) == 1
    assert caught.value.status == 400 and not caught.value.retryable


@pytest.mark.trio
async def test_an_unreachable_server_is_retried_then_reported():
    with OpenAIServer() as server:
        api_base = server.base_url + "/v1"
    client = LiteLLMClient("openai/test-model", api_base=api_base, api_key=KEY, sleep=Sleeps(), max_attempts=2)
    with pytest.raises(ProviderError) as caught:
        await collect(client)
    assert caught.value.retryable
    # Which URL, and what happened to the connection: not litellm's bare "Connection error."
    assert f"cannot connect to {api_base}: connection refused" in str(caught.value)


@pytest.mark.trio
@pytest.mark.parametrize("fault", [Fault.cut(), Fault.truncate()], ids=["cut", "ended-early"])
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_a_stream_cut_inside_arguments_never_yields_the_cut_call(server_cls, model, suffix, fault):
    """Output had streamed (text, the first call): not retried, reported; the cut call never out,
    whether the connection dropped or the body ended well-formed but with no finish reason."""
    with server_cls(always(TWO_CALLS), faults={1: fault}) as server:
        items = []
        with pytest.raises(ProviderError, match="not retried") as caught:
            async for item in client_for(server, model, suffix).stream([UserMessage("go")], TOOLS):
                items.append(item)
        assert len(server.requests) == 1
    calls = [i.call for i in items if isinstance(i, ToolCallReady)]
    assert [c.name for c in calls] == ["read_file"]
    assert json.loads(calls[0].arguments) == {"path": "calc.py", "limit": 200}
    assert caught.value.exit_code == EXIT_MODEL


@pytest.mark.trio
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_a_stream_cut_before_any_output_is_retried(server_cls, model, suffix):
    one_call = Reply(tool_calls=(ReplyCall("read_file", '{"path": "a_rather_long_file_name.py"}'),))
    with server_cls(always(one_call), faults={1: Fault.cut()}) as server:
        items = await collect(client_for(server, model, suffix))
        assert len(server.requests) == 2
    assert [type(i).__name__ for i in items] == ["RequestSent", "Retrying", "RequestSent", "ToolCallReady",
                                                 "ResponseEnd"]
    assert json.loads(items[3].call.arguments) == {"path": "a_rather_long_file_name.py"}


@pytest.mark.trio
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_invalid_json_arguments_pass_through_for_the_engine_to_fail(server_cls, model, suffix):
    with server_cls(always(TWO_CALLS), faults={1: Fault.bad_json()}) as server:
        items = await collect(client_for(server, model, suffix))
    calls = [i.call for i in items if isinstance(i, ToolCallReady)]
    assert calls[-1].arguments == '{"path": "unterminated'
    assert isinstance(items[-1], ResponseEnd)


@pytest.mark.trio
async def test_a_slow_first_token_is_waited_for():
    with OpenAIServer(always(TWO_CALLS), faults={1: Fault.slow_first_token(0.3)}) as server:
        items = await collect(client_for(server, "openai/test-model", "/v1"))
        assert len(server.requests) == 1
    assert isinstance(items[0], RequestSent) and isinstance(items[1], TextChunk)
    assert isinstance(items[-1], ResponseEnd)


@pytest.mark.trio
@pytest.mark.timeout(240)
@pytest.mark.parametrize("server_cls, model, suffix", [*SERVERS, GENERIC])
async def test_cancelling_a_stalled_stream_returns_and_ends_the_worker_thread(server_cls, model, suffix):
    """The server stops sending mid-stream and holds the connection open. Cancelling must return and
    end the worker thread while the server still stalls: closing the response alone would leave the
    thread blocked in recv until the server let go."""
    before = set(worker_threads())
    with server_cls(always(TWO_CALLS), faults={1: Fault.stall()}) as server:
        got_output = trio.Event()
        async with trio.open_nursery() as nursery:

            async def consume() -> None:
                async for item in client_for(server, model, suffix).stream([UserMessage("go")], TOOLS):
                    if isinstance(item, (TextChunk, ToolCallReady)):
                        got_output.set()

            nursery.start_soon(consume)
            await got_output.wait()
            nursery.cancel_scope.cancel()
        for thread in set(worker_threads()) - before:
            thread.join(timeout=20)
            assert not thread.is_alive(), "the worker thread is still blocked on the stalled socket"


# --------------------------------------------------------------------------------------------------
# History through litellm's translations


def conversation_with_delivery() -> list:
    return [
        SystemMessage("You are a coding agent."),
        UserMessage("fix the bug"),
        AssistantMessage("Reading.", (ToolCall("call_a", "read_file", '{"path": "a.py"}', 0),
                                      ToolCall("call_b", "grep", '{"pattern": "x"}', 1))),
        ToolMessage("call_a", "read_file", "print('a')"),
        ToolMessage("call_b", "grep", '{"future": "f2", "status": "running"}'),
        UserMessage('<future id="f2" status="done">a.py:1: x</future>', delivery=True),
        AssistantMessage("", (ToolCall("call_c", "read_file", '{"path": "b.py"}', 0),)),
        ToolMessage("call_c", "read_file", "print('b')"),
        AssistantMessage("Done."),
        UserMessage("now add a test"),
    ]


@pytest.mark.trio
@pytest.mark.parametrize("server_cls, model, suffix", SERVERS)
async def test_history_with_tool_results_then_a_delivery_message_is_accepted(server_cls, model, suffix):
    seen = []

    def record(messages, tools):
        seen.append(messages)
        return Reply("ok")

    with server_cls(record) as server:
        items = await collect(client_for(server, model, suffix), conversation_with_delivery())
    assert isinstance(items[-1], ResponseEnd)  # no HTTP 400 from the server's conversation checks
    roles = [m["role"] for m in seen[0]]
    assert roles == ["system", "user", "assistant", "tool", "tool", "user", "assistant", "tool",
                     "assistant", "user"]
    assert seen[0][5]["content"].startswith('<future id="f2"')


# --------------------------------------------------------------------------------------------------
# Keys and silence


@pytest.mark.trio
async def test_the_key_never_appears_in_errors_even_when_the_provider_echoes_it(capfd):
    fault = Fault.http(401, message=f"Incorrect API key provided: {KEY}")
    with OpenAIServer(always(TWO_CALLS), faults={1: fault}) as server:
        with pytest.raises(ProviderError) as caught:
            await collect(client_for(server, "openai/test-model", "/v1"))
    message = str(caught.value)
    assert KEY not in message and "[redacted]" in message
    assert "OPENAI_API_KEY" in message and not caught.value.retryable
    out, err = capfd.readouterr()
    assert KEY not in out + err
    assert out == "" and err == ""  # litellm printed no banner and logged nothing to the terminal


def test_importing_the_client_module_does_not_import_litellm():
    code = "import sys, asyncfc_cli.model.litellm_client; print('litellm' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_prewarm_loads_litellm_in_the_background_silently_and_once():
    code = (
        "import sys, threading\n"
        "from asyncfc_cli.model import litellm_worker as w\n"
        "w.prewarm_litellm('openai/gpt-4o-mini'); w.prewarm_litellm('openai/gpt-4o-mini')\n"
        "names = [t.name for t in threading.enumerate()].count('asyncfc-litellm-import')\n"
        "w._prewarm_thread.join(150)\n"
        "print(names, 'litellm' in sys.modules, w._litellm is not None)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
    assert result.stdout.strip() == "1 True True"
    assert result.stderr == ""



@pytest.mark.trio
@pytest.mark.timeout(240)
async def test_cancelling_before_the_headers_returns_and_the_worker_ends_when_they_come():
    """A worker waiting for response headers cannot be woken; cancelling must not wait for it, and
    it must close the response and end as soon as the headers arrive."""
    answer = threading.Event()

    def slow(messages, tools):
        answer.wait(30)  # the server holds its headers until the test lets it answer
        return TWO_CALLS

    before = set(worker_threads())
    with OpenAIServer(slow) as server:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect, client_for(server, "openai/test-model", "/v1"))
            while not server.requests:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
        waiting = set(worker_threads()) - before
        answer.set()
        for thread in waiting:
            thread.join(timeout=20)
            assert not thread.is_alive()


def test_the_endpoint_shown_never_carries_a_credential():
    from asyncfc_cli.model.provider import effective_endpoint

    assert effective_endpoint("openai/x", "https://me:sk-secret@proxy.example/v1?api-key=k", {}) == \
        "https://proxy.example/v1"
    assert effective_endpoint("openai/gpt-4.1", None, {}) == "https://api.openai.com/v1"
    assert effective_endpoint("openai/x", None, {"OPENAI_BASE_URL": "http://127.0.0.1:8/v1"}) == "http://127.0.0.1:8/v1"
    assert effective_endpoint("ollama/qwen", None, {}) == "ollama's default endpoint"
