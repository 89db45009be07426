"""Compaction as a user meets it: ``asyncfc run`` with litellm against the shipped local
OpenAI-format server, real tools, a small context window (``ASYNCFC_CONTEXT_TOKENS``). The model
summarises over HTTP; a provider error or a cut stream on the summary request falls back to the
deterministic compaction and the task still finishes; a resumed session starts from the summary.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from asyncfc_cli.testing.anthropic_server import AnthropicServer
from asyncfc_cli.testing.openai_server import Fault, OpenAIServer
from asyncfc_prompts import is_summary_request

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SUMMARY = "## Task\\nRead the four data files.\\n\\n## Next steps\\nRead what is left, then answer."

READS = "".join(f"""
  - call: read_file
    as: r{n}
    args: {{path: data{n}.txt}}
  - need: [r{n}]""" for n in range(4))
SCENARIO = f"""
name: big_reads
summary: "{SUMMARY}"
steps:{READS}
  - answer: "Read all four files."
"""

WINDOW = 4096


def make_repo(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for n in range(4):
        lines = [f"record {n}-{i}: value={i * 7919 % 1000} label=item{i}" for i in range(150)]
        (folder / f"data{n}.txt").write_text("\n".join(lines) + "\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "data"]):
        subprocess.run(git + args, cwd=folder, check=True, capture_output=True)
    return folder


def asyncfc(tmp_path: Path, repo: Path, server: OpenAIServer | AnthropicServer,
            *extra: str) -> tuple[int, list[dict]]:
    """``asyncfc run`` in this process (litellm is imported once): exit code and JSON-lines events."""
    from typer.testing import CliRunner

    from asyncfc_cli.cli import app

    anthropic = isinstance(server, AnthropicServer)
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-compaction-test",
           "ANTHROPIC_API_KEY": "sk-compaction-test",
           "ASYNCFC_MODEL": None, "ASYNCFC_API_KEY": None, "ASYNCFC_CONTEXT_TOKENS": str(WINDOW),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    model, base = ("anthropic/claude-sonnet-4-5", server.base_url) if anthropic else (
        "openai/test-model", server.base_url + "/v1")
    args = ["run", *extra, "--model", model, "--api-base", base, "--output", "jsonl", "--cwd", str(repo)]
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


class SummaryFaultServer(OpenAIServer):
    """The local server, disturbing every summary request with ``summary_fault`` (the request's
    number depends on how fast the tools were, so a fault by number would not do)."""

    summary_fault: Fault | None = None

    def _admit(self, body, headers):
        number, fault = super()._admit(body, headers)
        asks = is_summary_request(str(body["messages"][-1].get("content") or ""))
        return number, (self.summary_fault if asks else fault)


def run_case(tmp_path: Path, name: str, fault: Fault | None = None) -> tuple[int, list[dict], OpenAIServer, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "big_reads.yaml").write_text(SCENARIO)
    repo = make_repo(tmp_path / name)
    server = SummaryFaultServer(str(tmp_path / "big_reads.yaml"))
    server.summary_fault = fault
    with server:
        code, events = asyncfc(tmp_path, repo, server, "read the data files")
    return code, events, server, repo


def summary_numbers(server: OpenAIServer) -> list[int]:
    """1-based numbers of the requests that asked for a summary."""
    return [n for n, body in enumerate(server.requests, 1)
            if is_summary_request(str(body["messages"][-1].get("content") or ""))]


def of(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def test_over_http_the_model_summarises_and_a_resume_starts_from_the_summary(tmp_path):
    code, events, server, repo = run_case(tmp_path, "ok")
    assert code == 0, events[-3:]
    compacted = of(events, "conversation_compacted")
    assert compacted and compacted[0]["by"] == "model" and compacted[0]["reason"] == "auto"
    assert compacted[0]["summary"] == SUMMARY.replace("\\n", "\n")
    number = summary_numbers(server)[0]
    summary_body = server.requests[number - 1]
    assert not summary_body.get("tools")  # no tools offered to the summariser
    after = server.requests[number]["messages"]  # the next request starts from the summary
    assert after[0]["role"] == "system" and "This conversation was compacted" in after[1]["content"]
    assert len(after) == compacted[0]["messages_after"] < compacted[0]["messages_before"]
    summary_turn = next(e["turn"] for e in of(events, "request_started") if e.get("purpose") == "summary")
    assert any(e["turn"] == summary_turn and e["usage"]["total_tokens"] > 0 for e in of(events, "request_finished"))

    # Resume: the first request of the resumed run carries the summary, not the summarised turns.
    with OpenAIServer(str(tmp_path / "big_reads.yaml")) as again:
        asyncfc(tmp_path, repo, again, "--resume", "last", "anything left?")
    first = again.requests[0]["messages"]
    assert "This conversation was compacted" in first[1]["content"]
    assert not any("record 0-0" in str(m.get("content")) for m in first)  # data0.txt was summarised


@pytest.mark.parametrize("fault", ["error", "cut"])
def test_a_failed_summary_over_http_falls_back_and_the_task_finishes(tmp_path, fault):
    broken = Fault.http(400, message="summaries are broken today") if fault == "error" else Fault.cut()
    code, events, server, _ = run_case(tmp_path, fault, broken)
    assert code == 0
    compacted = of(events, "conversation_compacted")[0]
    assert compacted["by"] == "fallback" and compacted["why"]
    notice = next(e for e in of(events, "notice") if "did not summarise" in e["message"])
    assert compacted["why"] in notice["message"]
    assert len(summary_numbers(server)) == 1  # not asked again within the task


def test_over_the_anthropic_format_too_the_model_summarises(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "big_reads.yaml").write_text(SCENARIO)
    repo = make_repo(tmp_path / "anthropic")
    with AnthropicServer(str(tmp_path / "big_reads.yaml")) as server:
        code, events = asyncfc(tmp_path, repo, server, "read the data files")
    assert code == 0, events[-3:]
    assert [e["by"] for e in of(events, "conversation_compacted")][:1] == ["model"]
    summaries = [body for body in server.requests if not body.get("tools")]
    assert len(summaries) == len(of(events, "conversation_compacted"))
