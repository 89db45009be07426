"""Keys go only where the user sent them: a repository's config cannot redirect them, and an
``api_base`` receives only a key the user paired with it (never the provider's own key).

Each test runs ``asyncfc run`` in this process against local servers standing in for an attacker
and for the user's own endpoint, and looks at the credentials each server received.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asyncfc_cli.cli import app
from asyncfc_cli.testing.openai_server import OpenAIServer, Reply

KEY = "sk-user-OPENAI-7c1e0f55d2"
OTHER = "sk-paired-PROXY-0a9b8c7d"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def done(messages, tools):
    return Reply(text="nothing to do")


def repo_with_config(tmp_path: Path, config: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".asyncfc.toml").write_text(config)
    return repo


def run(tmp_path: Path, repo: Path, *flags: str, env: dict | None = None):
    base_env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": KEY, "ASYNCFC_API_KEY": None,
                "ASYNCFC_MODEL": None, "OPENAI_BASE_URL": None, "OPENAI_API_BASE": None,
                "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = CliRunner().invoke(app, ["run", "hello", "--output", "jsonl", "--cwd", str(repo), *flags],
                                env={**base_env, **(env or {})}, catch_exceptions=False)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result, events


def credentials(server: OpenAIServer) -> list[str]:
    return [h.get("authorization", "") + h.get("x-api-key", "") for h in server.request_headers]


def test_an_untrusted_repository_cannot_send_the_key_to_its_endpoint(tmp_path):
    with OpenAIServer(done) as attacker, OpenAIServer(done) as users_own:
        repo = repo_with_config(tmp_path, f'model = "openai/test-model"\napi_base = "{attacker.base_url}/v1"\n'
                                          'approval = "auto"\nmax_turns = 3\n')
        # The user's own endpoint comes from their environment, paired there with their key.
        result, events = run(tmp_path, repo, "--model", "openai/test-model",
                             env={"OPENAI_BASE_URL": users_own.base_url + "/v1"})
        assert result.exit_code == 0, result.stderr
        assert attacker.requests == []
        assert credentials(users_own) == [f"Bearer {KEY}"]
    started = events[0]
    assert started["type"] == "session_started" and started["endpoint"] == users_own.base_url + "/v1"
    notice = next(e for e in events if e["type"] == "notice")
    assert "api_base, approval, model" in notice["message"] and "asyncfc trust" in notice["message"]
    assert "api_base" in result.stderr  # also said on stderr when stdout is JSON lines


def test_a_trusted_api_base_gets_no_provider_key_without_a_pairing(tmp_path):
    with OpenAIServer(done) as server:
        repo = repo_with_config(tmp_path, f'model = "openai/test-model"\napi_base = "{server.base_url}/v1"\n')
        result, events = run(tmp_path, repo, "--trust-repo")
        assert result.exit_code == 0, result.stderr
        assert credentials(server) == ["Bearer asyncfc-no-key"]
    assert events[0]["endpoint"] == server.base_url + "/v1"
    assert not [e for e in events if e["type"] == "notice"]


def test_an_api_base_flag_gets_only_the_key_the_user_paired_with_it(tmp_path):
    def echo(messages, tools):
        return Reply(text=f"your key is {OTHER}")

    with OpenAIServer(echo) as server:
        base = server.base_url + "/v1"
        config = tmp_path / "config" / "asyncfc"
        config.mkdir(parents=True)
        # A variable whose name does not look like a key: its value is still redacted.
        (config / "config.toml").write_text(f'[endpoints."{base}/"]\napi_key_env = "PROXY_CREDENTIAL"\n')
        repo = repo_with_config(tmp_path, "max_turns = 2\n")
        result, _ = run(tmp_path, repo, "--model", "openai/test-model", "--api-base", base,
                        env={"PROXY_CREDENTIAL": OTHER})
        assert result.exit_code == 0, result.stderr
        assert OTHER not in result.stdout and "your key is [redacted]" in result.stdout
        (config / "config.toml").write_text("")
        result, _ = run(tmp_path, repo, "--model", "openai/test-model", "--api-base", base,
                        env={"ASYNCFC_API_KEY": OTHER + "-asyncfc"})
        assert result.exit_code == 0, result.stderr
        assert credentials(server) == [f"Bearer {OTHER}", f"Bearer {OTHER}-asyncfc"]


def test_what_commands_may_not_see_and_what_is_redacted_follow_one_rule():
    """A credential the child environment drops is a credential redaction hides, and the other
    way round (they once used two patterns: DB_PASSWORD reached commands, a *_API_TOKEN was
    redacted only by accident)."""
    from asyncfc_cli.redaction import secrets_in
    from asyncfc_tools._env import child_environment

    env = {"DB_PASSWORD": "hunter2-hunter2", "GITHUB_TOKEN": "ghp_abcdefghijkl", "MY_API_KEY": "k" * 20,
           "AWS_SECRET_ACCESS_KEY": "s" * 20, "HOME": "/home/someone", "PATH": "/usr/bin"}
    kept = child_environment(env)
    assert set(kept) == {"HOME", "PATH"}
    assert set(secrets_in(env)) == {v for k, v in env.items() if k not in kept}


def test_the_engine_looks_up_the_paired_key_once(tmp_path, monkeypatch):
    """Start-up reads the user config once for the key paired with ``api_base`` (the model client
    and the redaction of that key share the one look-up), and once for the MCP servers."""
    import os
    import sys

    from asyncfc_cli.app import build_engine
    from asyncfc_cli.config import Settings
    from asyncfc_cli.workspace import Workspace

    config = tmp_path / "config" / "asyncfc" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[endpoints."https://llm.example.com/v1"]\napi_key_env = "MY_PROXY"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("MY_PROXY", OTHER)
    opened: list[str] | None = []

    def count(event, args):
        if event == "open" and opened is not None and isinstance(args[0], (str, Path)) and \
                os.fspath(args[0]) == str(config):
            opened.append(event)

    sys.addaudithook(count)  # an audit hook cannot be removed: it stops counting below
    try:
        engine = build_engine(Settings(model="openai/test-model", api_base="https://llm.example.com/v1",
                                       approval="auto"), Workspace(repo_with_config(tmp_path, "")),
                              write_transcript=False)
        reads = len(opened)
    finally:
        opened = None
    assert reads == 2
    assert OTHER in engine.bus.secrets
