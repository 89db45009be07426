"""Secrets never appear in what asyncfc shows or records, however the stream cut them."""

from __future__ import annotations

import itertools
import json
import random
import stat
import subprocess

import pytest
from typer.testing import CliRunner

from asyncfc_cli.cli import app
from asyncfc_cli.events import EventBus, RequestFinished, TextDelta, ToolCallParsed
from asyncfc_cli.redaction import MARK, EventRedactor, StreamRedactor, redact
from asyncfc_cli.testing.openai_server import OpenAIServer, Reply, ReplyCall
from asyncfc_cli.timeline_state import TimelineState

KEY = "sk-proj-SPLITME-0123456789abcdef"
SECRETS = (KEY, "ghp_shortertoken99")


def stream(pieces: list[str]) -> str:
    redactor = StreamRedactor(SECRETS)
    out = [redactor.feed(piece) for piece in pieces]
    out.append(redactor.flush())
    return "".join(out)


def test_a_secret_cut_anywhere_is_redacted_as_if_whole():
    text = f"use {KEY} and sk-proj-SPLIT (not a key) then ghp_shortertoken99{KEY}."
    for i, j in itertools.combinations(range(len(text) + 1), 2):
        joined = stream([text[:i], text[i:j], text[j:]])
        assert joined == redact(text, SECRETS)
    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 12)))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        assert stream(pieces) == redact(text, SECRETS)
    assert KEY not in redact(text, SECRETS) and redact(text, SECRETS).count(MARK) == 3


def test_text_that_cannot_start_a_secret_is_passed_on_at_once():
    redactor = StreamRedactor(SECRETS)
    assert redactor.feed("hello world") == "hello world"
    assert redactor.feed(" sk-pr") == " " and redactor.holding
    assert redactor.feed("ivate") == "sk-private"


def test_the_bus_shows_subscribers_no_split_secret_and_flushes_before_the_end_of_the_stream():
    bus = EventBus(clock=lambda: 0.0, redactor=EventRedactor(SECRETS))
    seen, state = [], TimelineState()
    bus.subscribe(seen.append)
    bus.subscribe(state.apply)
    for piece in ("The key is sk-proj-SP", "LITME-0123", "456789abcdef", " and sk-"):
        bus.emit(TextDelta, turn=1, text=piece)
    bus.emit(ToolCallParsed, turn=1, call_id="c", tool="read_file", index=0,
             arguments=json.dumps({"path": KEY}))
    bus.emit(RequestFinished, turn=1)
    texts = [e.text for e in seen if isinstance(e, TextDelta)]
    assert "".join(texts) == f"The key is {MARK} and sk-"
    assert [type(e).__name__ for e in seen][-3:] == ["TextDelta", "ToolCallParsed", "RequestFinished"]
    assert KEY not in repr(seen) and KEY not in repr(vars(state))


def leaky(messages, tools):
    if messages[-1]["role"] == "tool":
        return Reply(text=f"Done; by the way the key was {KEY}, in full.")
    return Reply(text=f"I found {KEY} in the environment.",
                 tool_calls=(ReplyCall("read_file", json.dumps({"path": f"{KEY}.txt"})),))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("output", ["jsonl", "text"])
def test_a_key_the_model_streams_in_pieces_reaches_no_output_and_no_transcript(tmp_path, output):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    transcript = tmp_path / "t.jsonl"
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": KEY, "ASYNCFC_API_KEY": None,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    with OpenAIServer(leaky) as server:
        result = CliRunner().invoke(app, [
            "run", "look around", "--model", "openai/test-model", "--api-base", server.base_url + "/v1",
            "--output", output, "--cwd", str(repo), "--transcript", str(transcript), "--headless",
        ], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    recorded = transcript.read_text()
    for text in (result.stdout, recorded, result.stderr):
        assert KEY not in text and KEY[:16] not in text
    events = [json.loads(line) for line in recorded.splitlines()]
    streamed = "".join(e["text"] for e in events if e["type"] == "text_delta")
    assert KEY not in streamed and streamed.count(MARK) == 2
    assert stat.S_IMODE(transcript.stat().st_mode) == 0o600


def test_transcripts_and_their_folders_are_private(tmp_path, monkeypatch):
    from asyncfc_cli.transcript import TranscriptWriter, default_transcript_path

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = default_transcript_path(tmp_path, "s1")
    TranscriptWriter(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    old = tmp_path / "old.jsonl"
    old.write_text("")
    old.chmod(0o644)
    TranscriptWriter(old).close()  # a resumed session's transcript is narrowed too
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_streams_of_different_sessions_on_one_bus_are_redacted_apart():
    """A sub-agent's events carry ``parent`` and number their turns from 1 too: its pieces must
    not be joined to the parent's, nor its end release what the parent still holds."""
    from dataclasses import dataclass

    @dataclass(frozen=True, slots=True, kw_only=True)
    class ChildDelta(TextDelta):
        parent: str = ""

    redactor = EventRedactor(SECRETS)
    out = []
    for event in (TextDelta(t=0, turn=1, text="key: sk-proj-"), ChildDelta(t=0, turn=1, text="SPLITME", parent="f1"),
                  TextDelta(t=0, turn=1, text="SPLITME-0123456789abcdef!")):
        out.extend(redactor(event))
    parent_text = "".join(e.text for e in out if not isinstance(e, ChildDelta))
    assert parent_text == f"key: {MARK}!"
    assert [e.text for e in out if isinstance(e, ChildDelta)] == ["SPLITME"]


def test_credential_names_litellm_and_users_choose_are_secrets():
    from asyncfc_tools._env import child_environment, is_secret_name

    for name in ("WATSONX_APIKEY", "CLARIFAI_PAT", "MY_LLM_APIKEY", "DB_PASSWD", "OPENAI_API_KEY", "GH_TOKEN"):
        assert is_secret_name(name), name
    for name in ("PATH", "HOME", "PYTHONPATH", "LS_COLORS", "KEYPATH", "COMPAT"):
        assert not is_secret_name(name), name
    assert child_environment({"WATSONX_APIKEY": "k", "PATH": "/bin"}) == {"PATH": "/bin"}
