"""The OS sandbox around shell and run_tests (bubblewrap): what a command can and cannot reach with
it on, and that the same commands still work with it off. Real processes, real namespaces."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from asyncfc_tools import ToolError, ToolSettings
from asyncfc_tools._process import run_command
from asyncfc_tools._sandbox import Sandbox, open_sandbox, probe
from asyncfc_tools.run_tests import run_tests
from asyncfc_tools.shell import shell
from test_cli import asyncfc
from test_tools_npm_reports import NODE_SUITE
from test_tools_run_tests import fake_venv
from tools_repo import context, make_repo

SUPPORT = probe()
needs_bwrap = pytest.mark.skipif(not SUPPORT.works, reason=f"bubblewrap cannot run here: {SUPPORT.problem}")


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {"a.txt": "alpha\n"})


def _opened(repo: Path, mode: str, network: bool = False):
    if mode == "on" and not SUPPORT.works:
        pytest.skip(f"bubblewrap cannot run here: {SUPPORT.problem}")
    sandbox = open_sandbox(repo, mode=mode, network=network)  # type: ignore[arg-type]
    assert sandbox.state == mode
    return sandbox


@pytest.fixture(params=["on", "off"])
def sandbox(request, repo):
    opened = _opened(repo, request.param)
    yield opened
    opened.close()


@pytest.fixture
def confined(repo):
    opened = _opened(repo, "on")
    yield opened
    opened.close()


async def sh(repo: Path, sandbox: Sandbox, command: str, **kwargs) -> str:
    ctx = context(repo, sandbox=sandbox, shell_timeout_s=30.0, settings=ToolSettings(kill_grace_s=0.3))
    return await shell.fn(ctx, command, **kwargs)


# ----------------------------------------------------------------------------- on and off alike


@pytest.mark.trio
async def test_commands_run_and_write_the_workspace(repo, sandbox):
    out = await sh(repo, sandbox, "cat a.txt; echo made > made.txt; pwd; exit 3")
    assert out.startswith("exit code 3 (")
    assert f"alpha\n{os.path.realpath(repo)}" in out
    assert (repo / "made.txt").read_text() == "made\n"


@pytest.mark.trio
async def test_a_command_a_signal_ended_is_said_to_be_so(repo, sandbox):
    """Unconfined, the process itself dies by the signal; in the sandbox its init exits 128+N,
    which the result explains."""
    out = await sh(repo, sandbox, "kill -SEGV $$")
    assert out.startswith(("exit code 139 (", "killed by signal 11 after")) and "signal 11" in out


@pytest.mark.trio
async def test_a_declared_file_that_does_not_exist_yet_opens_only_itself(repo, confined):
    """Opening its nearest existing folder would have opened the whole workspace."""
    out = await sh(repo, confined, "echo made > out/deep/new.txt; echo x > a.txt; echo y > out/other.txt",
                   writes=["out/deep/new.txt"])
    assert (repo / "out" / "deep" / "new.txt").read_text() == "made\n"
    assert (repo / "a.txt").read_text() == "alpha\n" and not (repo / "out" / "other.txt").exists()
    assert "Read-only file system" in out
    await sh(repo, confined, "true", writes=["never.txt", "gen/never.txt"])  # untouched: taken away
    assert not (repo / "never.txt").exists() and not (repo / "gen" / "never.txt").exists()


@pytest.mark.trio
async def test_folders_made_for_a_declaration_go_again_when_the_command_left_them_empty(repo, confined):
    """Only the folders asyncfc made, and only empty ones: a folder that existed, or one the
    command wrote into, stays."""
    (repo / "kept").mkdir()
    await sh(repo, confined, "echo x > used/a/out.txt",
             writes=["gen/deep/never.txt", "kept/sub/never.txt", "build/", "dist/*.whl", "used/a/out.txt",
                     "used/b/never.txt"])
    assert sorted(p.name for p in repo.iterdir() if p.name != ".git") == ["a.txt", "kept", "used"]
    assert list((repo / "kept").iterdir()) == []
    assert [p.name for p in (repo / "used").iterdir()] == ["a"]
    assert (repo / "used" / "a" / "out.txt").read_text() == "x\n"


class _Started:
    def __init__(self) -> None:
        self.up, self.text = trio.Event(), ""

    def output(self, text: str) -> None:
        pass

    def started(self, text: str) -> None:
        self.text = text
        self.up.set()

    def changed_outside(self, declared, paths) -> None:
        pass

    def changed(self, paths) -> None:
        pass


@pytest.mark.trio
async def test_a_background_server_that_prints_nothing_is_up_when_it_listens(repo, sandbox):
    """The start says where it listens (looked up in the command's own network namespace)."""
    silent = ("import socket, time\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
              "open('port', 'w').write(str(s.getsockname()[1])); time.sleep(60)\n")
    (repo / "silent.py").write_text(silent)
    progress = _Started()
    ctx = context(repo, sandbox=sandbox, shell_timeout_s=30.0, settings=ToolSettings(kill_grace_s=0.3),
                  progress=progress)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: shell.fn(ctx, f"{sys.executable} silent.py", background=True, writes=["port"]))
        with trio.fail_after(120):
            await progress.up.wait()
        nursery.cancel_scope.cancel()
    assert progress.text == f"(listening on 127.0.0.1:{(repo / 'port').read_text()})\n"


SERVER = ("import socket\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
          "open('port.tmp', 'w').write(str(s.getsockname()[1])); __import__('os').rename('port.tmp', 'port')\n"
          "c, _ = s.accept(); c.sendall(b'pong from the first command'); c.close()\n")
CLIENT = ("import socket\ns = socket.create_connection(('127.0.0.1', int(open('port').read())), timeout=5)\n"
          "print(s.recv(100).decode())\n")


@pytest.mark.trio
async def test_a_server_in_one_command_answers_a_client_in_the_next(repo, sandbox):
    (repo / "server.py").write_text(SERVER)
    (repo / "client.py").write_text(CLIENT)
    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sh, repo, sandbox, "python3 server.py")
            while not (repo / "port").exists():  # a real process on the real clock: poll for it
                await trio.sleep(0.02)
            out = await sh(repo, sandbox, "python3 client.py")
    assert "pong from the first command" in out


@pytest.mark.trio
async def test_run_tests_with_pytest(repo, sandbox):
    fake_venv(repo)
    (repo / "test_it.py").write_text("def test_ok():\n    assert True\n\ndef test_bad():\n    assert 1 == 2\n")
    out = await run_tests.fn(context(repo, sandbox=sandbox, shell_timeout_s=60))
    assert out.startswith("pytest: 1 passed, 1 failed, 0 errors, 0 skipped (exit code 1, "), out
    assert "test_it.py::test_bad" in out
    assert (repo / ".pytest_cache").is_dir()  # the runner's cache in the workspace stays writable


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="node/npm not installed")
@pytest.mark.trio
async def test_run_tests_with_node_test(tmp_path, sandbox):
    root = sandbox.root
    for name, text in {"package.json": json.dumps({"name": "n", "scripts": {"test": "node --test test/"}}),
                       "test/math.test.js": NODE_SUITE}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    out = await run_tests.fn(context(root, sandbox=sandbox, env=dict(os.environ), shell_timeout_s=60))
    assert out.startswith("npm (node): 2 passed, 2 failed, 0 errors, 1 skipped (exit code 1, "), out


@pytest.mark.trio
async def test_a_timeout_still_stops_the_command_gracefully(repo, sandbox):
    with pytest.raises(ToolError, match="timed out") as caught:
        await sh(repo, sandbox, "trap 'echo stopping; exit 3' TERM; sleep 30 & wait", timeout_s=1)
    assert "stopping" in str(caught.value)


@pytest.mark.trio
async def test_what_a_command_leaves_running_is_stopped(repo, sandbox):
    out = await sh(repo, sandbox, "sleep 30 & echo started")
    assert "left running" in out and "were stopped" in out
    assert "started" in out


# ----------------------------------------------------------------------------- confinement (on)


@pytest.mark.trio
async def test_cannot_write_outside_the_workspace(repo, confined, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    at_home = Path.home() / f".asyncfc-sandbox-test-{secrets.token_hex(4)}"
    try:
        out = await sh(repo, confined, f"touch {outside}/x; touch {at_home}; touch /etc/asyncfc-x; echo done")
        assert "done" in out and "Read-only file system" in out
        assert not (outside / "x").exists() and not at_home.exists()
        assert not Path("/etc/asyncfc-x").exists()
    finally:
        at_home.unlink(missing_ok=True)


@pytest.mark.trio
async def test_only_the_declared_writable_paths_are_writable(repo, confined):
    (repo / "out").mkdir()
    result = await run_command("echo 1 > out/made; echo 2 > a.txt; echo 3 > elsewhere", cwd=repo,
                               timeout_s=30, max_bytes=10_000, sandbox=confined, writable=[repo / "out"])
    assert (repo / "out" / "made").read_text() == "1\n"
    assert (repo / "a.txt").read_text() == "alpha\n" and not (repo / "elsewhere").exists()
    assert result.stderr.count("Read-only file system") == 2
    # A file that does not exist yet is writable through its nearest existing folder.
    await run_command("mkdir -p out/new && echo 4 > out/new/file.txt; echo 5 > b.txt", cwd=repo, timeout_s=30,
                      max_bytes=10_000, sandbox=confined, writable=[repo / "out" / "new" / "file.txt"])
    assert (repo / "out" / "new" / "file.txt").read_text() == "4\n" and not (repo / "b.txt").exists()


@pytest.mark.trio
async def test_git_metadata_is_read_only_even_when_declared_writable(repo, confined):
    config = (repo / ".git" / "config").read_text()
    for writable in (None, [repo / ".git"]):
        result = await run_command("echo '[core] fsmonitor = evil' >> .git/config; touch .git/hooks/pre-commit",
                                   cwd=repo, timeout_s=30, max_bytes=10_000, sandbox=confined, writable=writable)
        assert "Read-only file system" in result.stderr
    assert (repo / ".git" / "config").read_text() == config
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


@pytest.mark.trio
async def test_a_command_judged_read_only_gets_nothing_to_write(repo, confined, monkeypatch):
    """Defence in depth: were the classifier wrong about a command (or git to start something no
    setting covers), a call that runs beside reads as read-only still could not change the tree."""
    import importlib

    from asyncfc_tools._effects import Effect

    monkeypatch.setattr(importlib.import_module("asyncfc_tools.shell"), "command_effect", lambda command: Effect("reads", ("*",)))
    out = await sh(repo, confined, "echo x > a.txt; echo y > new.txt; cat a.txt")
    assert "Read-only file system" in out and "alpha" in out
    assert (repo / "a.txt").read_text() == "alpha\n" and not (repo / "new.txt").exists()


@pytest.mark.trio
async def test_a_background_command_writes_only_what_it_declares(repo, confined):
    """Its footprint is its ``writes``, default none (DESIGN.md): it is never ordered against later
    calls, so it must not change what they read; a refused write is explained to the model."""
    out = await sh(repo, confined, "echo x > a.txt", background=True)
    assert "Read-only file system" in out and "write nothing (a background command" in out
    assert (repo / "a.txt").read_text() == "alpha\n"
    out = await sh(repo, confined, "echo y > cache/x; echo z > a.txt", background=True, writes=["cache/"])
    assert (repo / "cache" / "x").read_text() == "y\n" and (repo / "a.txt").read_text() == "alpha\n"
    assert "write only cache/ (its `writes`)" in out


@needs_bwrap
@pytest.mark.trio
async def test_asyncfcs_own_folders_stay_read_only_inside_the_workspace(repo):
    """A session in the home folder holds asyncfc's config (trust store), transcripts and caches."""
    guarded = open_sandbox(repo, protected=[repo / "config" / "asyncfc"])  # made if missing
    out = await sh(repo, guarded, "echo x > config/asyncfc/trusted.toml; echo y > config/other; echo done")
    guarded.close()
    assert "Read-only file system" in out and "done" in out
    assert not (repo / "config" / "asyncfc" / "trusted.toml").exists()
    assert (repo / "config" / "other").read_text() == "y\n"


CONNECT = ("import socket, sys\ntry:\n    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3)\n"
           "    print('connected')\nexcept OSError as e:\n    print('no connection:', e)\n")


@pytest.mark.parametrize("network", [False, True], ids=["default", "network-allowed"])
@pytest.mark.trio
async def test_the_host_network_is_out_of_reach_unless_allowed(repo, network):
    sandbox = _opened(repo, "on", network=network)
    (repo / "connect.py").write_text(CONNECT)
    with socket.socket() as server:  # a server on the host's loopback, outside the sandbox
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        out = await sh(repo, sandbox, f"python3 connect.py {server.getsockname()[1]}")
    sandbox.close()
    assert ("connected" in out.split("no connection")[0]) is network, out
    assert sandbox.network is network


@needs_bwrap
@pytest.mark.trio
async def test_without_nsenter_each_command_gets_a_loopback_of_its_own(repo):
    alone = Sandbox("on", repo, bwrap=SUPPORT.bwrap)  # what open_sandbox builds when nsenter is missing
    (repo / "connect.py").write_text(CONNECT)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        out = await sh(repo, alone, f"python3 connect.py {server.getsockname()[1]}")
    assert "no connection" in out
    assert alone.notice() is not None and "loopback of its own" in alone.notice().message


@pytest.mark.trio
async def test_the_agents_processes_are_out_of_sight(repo, confined):
    out = await sh(repo, confined, "ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo; ps -eo args")
    pids = out.split("stdout:\n")[1].splitlines()[0].split()
    assert str(os.getpid()) not in pids and len(pids) < 10, out
    own_args = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    assert own_args not in out


@pytest.mark.trio
async def test_a_required_sandbox_that_cannot_run_refuses_commands(repo):
    required = Sandbox("unavailable", repo, required=True, reason="user namespaces are disabled")
    with pytest.raises(ToolError, match="refused: the OS sandbox is required .*user namespaces are disabled"):
        await sh(repo, required, "echo should not run > ran.txt")
    assert not (repo / "ran.txt").exists()
    fallback = Sandbox("unavailable", repo, reason="user namespaces are disabled")
    assert "exit code 0" in await sh(repo, fallback, "echo ran > ran.txt")
    assert fallback.notice() is not None and fallback.notice().level == "warning"


# ----------------------------------------------------------------------------- the whole agent

LEAK = """
name: leak
profile: instant
steps:
  - call: shell
    as: raw
    args: {command: "tr '\\\\0' '\\\\n' < /proc/$PPID/environ"}
  - call: shell
    as: b64
    args: {command: "base64 -w0 < /proc/$PPID/environ; echo; cat /proc/*/environ | base64 -w0"}
  - call: shell
    as: reversed
    args: {command: "tr '\\\\0' '\\\\n' < /proc/$PPID/environ | rev"}
  - call: shell
    as: ps
    args: {command: "ps -eo args"}
  - need: [raw, b64, reversed, ps]
  - answer: "done"
"""


def _decoded(text: str) -> str:
    """Every base64 run in ``text``, decoded."""
    found = []
    for run in re.findall(r"[A-Za-z0-9+/=]{16,}", text):
        for start in range(4):  # a run may begin mid-group when it sits next to other output
            chunk = run[start:]
            try:
                found.append(base64.b64decode(chunk[: len(chunk) // 4 * 4]).decode("latin-1"))
            except ValueError:
                pass
    return "\n".join(found)


@needs_bwrap
def test_a_command_cannot_read_the_agents_keys_raw_or_encoded(tmp_path):
    """Leak 3 of issue 12: `/proc/$PPID/environ` gave a shell command the agent's provider keys."""
    repo = make_repo(tmp_path / "r", {"scenario.yaml": LEAK})
    key = "sk-test-" + secrets.token_hex(16)
    marker = "task-" + secrets.token_hex(4)
    result = asyncfc("run", marker, "--model", str(repo / "scenario.yaml"), "--output", "jsonl", cwd=repo,
                     env={"OPENAI_API_KEY": key})
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["sandbox"] == "on" and events[0]["network"] is False
    outputs = {e["id"]: e["output"] for e in events if e["type"] == "future_finished"}
    assert "PATH=" in outputs["f1"] and "exit code 0" in outputs["f2"]  # the reads themselves worked
    seen = result.stdout + "\n".join(outputs.values())
    assert key not in seen and key[::-1] not in seen
    assert key not in _decoded(seen) and "PATH=" in _decoded(outputs["f2"])
    assert marker not in outputs["f4"]  # the agent's own command line is not in sight


def test_headless_without_a_working_sandbox_needs_an_explicit_choice(tmp_path):
    repo = make_repo(tmp_path / "r", {"scenario.yaml": LEAK.replace("ps -eo args", "echo hi")})
    broken = {"ASYNCFC_BWRAP": "/bin/false"}
    run = ["run", "look", "--model", str(repo / "scenario.yaml"), "--output", "jsonl"]
    refused = asyncfc(*run, cwd=repo, env=broken)
    assert refused.returncode == 2
    assert "cannot run here" in refused.stderr and "--approval auto" in refused.stderr
    assert "--no-sandbox" in refused.stderr
    for choice, state in ((["--approval", "auto"], "unavailable"), (["--no-sandbox"], "off")):
        chosen = asyncfc(*run, *choice, cwd=repo, env=broken)
        assert chosen.returncode == 0, chosen.stderr
        events = [json.loads(line) for line in chosen.stdout.splitlines()]
        assert events[0]["sandbox"] == state and events[0]["network"] is True
        notices = [e["message"] for e in events if e["type"] == "notice"]
        assert bool(notices) is (state == "unavailable")  # said once, only where it is news


def _as_another_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop to an ordinary user")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


AGENT = """import subprocess, sys
from asyncfc_tools._sandbox import hide_own_environment
if sys.argv[1] == "hide":
    assert hide_own_environment()
print(subprocess.run(["sh", "-c", "cat /proc/$PPID/environ"], capture_output=True, text=True).stdout)
"""


@pytest.mark.parametrize("hidden", [True, False], ids=["non-dumpable", "control"])
def test_without_the_sandbox_a_non_dumpable_agent_hides_its_environment(hidden):
    """The fallback where commands run unconfined: same user, not root (root reads it anyway)."""
    key = "sk-test-" + secrets.token_hex(16)
    result = subprocess.run([*_as_another_user(), sys.executable, "-c", AGENT, "hide" if hidden else "show"],
                            env={**os.environ, "OPENAI_API_KEY": key}, capture_output=True, text=True,
                            cwd="/", timeout=60)
    assert result.returncode == 0, result.stderr
    assert (key in result.stdout) is not hidden


def test_settings_choose_the_sandbox_and_the_network(tmp_path):
    from asyncfc_cli.config import load_settings
    from asyncfc_cli.errors import ConfigError

    none = tmp_path / "no-user-config.toml"
    default = load_settings({}, root=tmp_path, env={}, user_config=none)
    assert (default.sandbox, default.network) == ("auto", False)
    from_env = load_settings({}, root=tmp_path, env={"ASYNCFC_SANDBOX": "on", "ASYNCFC_NETWORK": "yes"},
                             user_config=none)
    assert (from_env.sandbox, from_env.network) == ("on", True)
    flags = load_settings({"sandbox": "off", "network": False}, root=tmp_path,
                          env={"ASYNCFC_NETWORK": "yes"}, user_config=none)
    assert (flags.sandbox, flags.network) == ("off", False)
    with pytest.raises(ConfigError, match="sandbox = 'maybe'; expected one of auto, on, off"):
        load_settings({}, root=tmp_path, env={"ASYNCFC_SANDBOX": "maybe"}, user_config=none)


def test_the_toolchain_caches_that_exist_are_found_where_their_variables_point(tmp_path):
    from asyncfc_tools._sandbox import toolchain_caches

    home = tmp_path / "home"
    for folder in (".cache", ".npm", ".cargo/registry", "elsewhere/gomod"):
        (home / folder).mkdir(parents=True)
    found = toolchain_caches({"HOME": str(home), "GOMODCACHE": str(home / "elsewhere/gomod"),
                              "UV_CACHE_DIR": str(home / "missing")})
    assert found == (home / ".cache", home / ".npm", home / "elsewhere/gomod", home / ".cargo/registry")


def test_asyncfc_bwrap_names_the_only_bwrap_to_try(monkeypatch):
    from asyncfc_tools._sandbox import bwrap_candidates

    monkeypatch.setenv("ASYNCFC_BWRAP", "/opt/bwrap")
    assert bwrap_candidates() == ["/opt/bwrap"]
    monkeypatch.delenv("ASYNCFC_BWRAP")
    assert "/opt/bwrap" not in bwrap_candidates()


def test_the_model_is_told_what_the_sandbox_allows(repo):
    from asyncfc_cli.prompting import sandbox_section

    closed = sandbox_section(Sandbox("on", repo))
    assert closed.startswith("## Sandbox") and "`.git` is read-only" in closed
    assert "reach no network" in closed and "`--network`" in closed
    assert "They can use the network." in sandbox_section(Sandbox("on", repo, network=True))
    assert sandbox_section(Sandbox("unavailable", repo)) == sandbox_section(None) == ""


def test_an_untrusted_repository_cannot_turn_the_sandbox_off_or_the_network_on(tmp_path):
    from asyncfc_cli.config import load_settings

    (tmp_path / ".asyncfc.toml").write_text('sandbox = "off"\nnetwork = true\n')
    none = tmp_path / "no-user-config.toml"
    untrusted = load_settings({}, root=tmp_path, env={}, user_config=none, trusted=False)
    assert (untrusted.sandbox, untrusted.network) == ("auto", False)
    assert set(untrusted.ignored_repo_keys) == {"sandbox", "network"}
    trusted = load_settings({}, root=tmp_path, env={}, user_config=none, trusted=True)
    assert (trusted.sandbox, trusted.network) == ("off", True)


@pytest.mark.trio
async def test_a_declared_folder_that_does_not_exist_yet_is_all_that_becomes_writable(repo, confined):
    out = await sh(repo, confined, "mkdir -p build && touch build/a.o; touch notes.txt; echo done",
                   writes=["build/"])
    assert "done" in out
    assert (repo / "build" / "a.o").exists()
    assert not (repo / "notes.txt").exists()


# ----------------------------------------------------------------------------- network per command


@pytest.mark.trio
async def test_a_command_the_user_allowed_the_network_reaches_the_host(repo, confined):
    (repo / "connect.py").write_text(CONNECT)
    with socket.socket() as server:  # a server on the host's loopback, outside the sandbox
        server.bind(("127.0.0.1", 0))
        server.listen(2)
        port = server.getsockname()[1]
        ctx = context(repo, sandbox=confined, shell_timeout_s=30.0, network=True)
        allowed = await shell.fn(ctx, f"python3 connect.py {port}; echo x > inside.txt; echo y > /outside.txt")
        kept = await sh(repo, confined, f"python3 connect.py {port}")
    assert "connected" in allowed.split("no connection")[0], allowed
    assert "Read-only file system" in allowed and (repo / "inside.txt").exists()  # still confined
    assert "no connection" in kept  # only that one command


LOOKUP = "python3 -c \"import socket; socket.getaddrinfo('pypi.org', 443)\""


@pytest.mark.trio
async def test_a_failed_name_lookup_in_a_confined_session_says_the_network_is_off(repo, sandbox):
    out = await sh(repo, sandbox, LOOKUP)
    hinted = "the sandbox has no network (only loopback); the user can allow it" in out
    assert hinted is sandbox.confines, out


@pytest.mark.trio
async def test_no_network_hint_where_the_command_had_the_network_or_did_not_fail_for_it(repo, confined):
    ctx = context(repo, sandbox=confined, shell_timeout_s=30.0, network=True)
    allowed = await shell.fn(ctx, "echo 'curl: (6) Could not resolve host: example.invalid' >&2; exit 6")
    succeeded = await sh(repo, confined, "echo 'Could not resolve host, retried, fine'")
    other = await sh(repo, confined, "echo 'No such file' >&2; exit 1")
    assert "sandbox has no network" not in allowed + succeeded + other


@pytest.mark.trio
async def test_the_python_asyncfc_runs_from_stays_visible_when_it_lives_under_tmp(repo, confined, monkeypatch):
    """A CI job that cloned into /tmp runs asyncfc from a venv there; the private /tmp must not
    hide it from the project's commands (a project venv that points at it would not start)."""
    import asyncfc_tools._sandbox as sandbox_module

    venv = Path("/tmp") / f"asyncfc-venv-{secrets.token_hex(4)}"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "tool").write_text("#!/bin/sh\necho from the venv\n")
    (venv / "bin" / "tool").chmod(0o755)
    monkeypatch.setattr(sandbox_module.sys, "prefix", str(venv))
    try:
        result = await run_command(f"{venv}/bin/tool; touch {venv}/x", cwd=repo, timeout_s=30,
                                   max_bytes=10_000, sandbox=confined)
    finally:
        shutil.rmtree(venv)
    assert "from the venv" in result.stdout
    assert "Read-only file system" in result.stderr
