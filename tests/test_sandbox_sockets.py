"""Unix sockets are doors out of the sandbox: the ones outside the workspace and /tmp (an ssh
agent, docker.sock, the session and system buses, /run/user) are hidden from sandboxed commands,
while a workspace's own sockets and those a command makes in its /tmp keep working. Real sockets,
real bubblewrap."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

from asyncfc_tools._hidden_sockets import hidden_folders, hidden_sockets
from test_sandbox import _opened, sh
from tools_repo import make_repo

UNIX_CONNECT = ("import socket, sys\nfor path in sys.argv[1:]:\n    s = socket.socket(socket.AF_UNIX)\n"
                "    try:\n        s.connect(path)\n        print('connected', path)\n"
                "    except OSError as e:\n        print('no connection', path, type(e).__name__)\n")


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {"connect.py": UNIX_CONNECT})


@contextmanager
def listening(path: Path):
    """A Unix socket listening at ``path`` (the kernel queues a connection: nobody need accept)."""
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        server.listen(4)
        yield path
    finally:
        server.close()
        path.unlink(missing_ok=True)


@pytest.fixture
def outside():
    """A folder outside /tmp and the workspace, as ~/.ssh or /var/run are."""
    folder = Path("/var/tmp") / f"asyncfc-sockets-{secrets.token_hex(4)}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder)


def _said(out: str, path: Path) -> str:
    """"connected" or "no connection": what connect.py said of ``path``."""
    line = next(line for line in out.splitlines() if f" {path}" in line)
    return "connected" if line.startswith("connected") else "no connection"


@pytest.mark.parametrize("mode", ["on", "off"])
@pytest.mark.trio
async def test_sockets_outside_the_workspace_are_hidden_and_its_own_stay(repo, outside, mode):
    sandbox = _opened(repo, mode)
    try:
        with listening(outside / "agent.sock") as agent, listening(repo / "app.sock") as own:
            out = await sh(repo, sandbox, f"python3 connect.py {agent} {own}")
    finally:
        sandbox.close()
    assert _said(out, own) == "connected"  # a workspace's socket: a test server's
    assert _said(out, agent) == ("no connection" if mode == "on" else "connected"), out  # off: not confined


@pytest.mark.trio
async def test_the_users_runtime_folders_are_hidden_whole(repo):
    if not os.path.isdir("/run/user") or not os.access("/run/user", os.W_OK):
        pytest.skip("no writable /run/user here")
    folder = Path("/run/user") / f"asyncfc-test-{secrets.token_hex(4)}"
    folder.mkdir()
    sandbox = _opened(repo, "on")
    try:
        with listening(folder / "bus") as bus:
            out = await sh(repo, sandbox, f"python3 connect.py {bus}; ls /run/user")
    finally:
        sandbox.close()
        shutil.rmtree(folder)
    assert _said(out, bus) == "no connection" and folder.name not in out.split(str(bus))[-1], out


@pytest.mark.trio
async def test_a_command_can_still_serve_and_reach_a_socket_in_its_tmp(repo):
    sandbox = _opened(repo, "on")
    serve = ("import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind('/tmp/own.sock')\ns.listen(1)\n"
             "c = socket.socket(socket.AF_UNIX)\nc.connect('/tmp/own.sock')\nprint('served')\n")
    (repo / "serve.py").write_text(serve)
    try:
        out = await sh(repo, sandbox, "python3 serve.py")
    finally:
        sandbox.close()
    assert "served" in out, out


def test_sockets_the_environment_names_are_hidden_though_no_table_lists_them(outside, tmp_path):
    """An ssh agent or docker socket of another network namespace is not in /proc/net/unix: the
    variables naming it still hide it. Not a socket, in /tmp, or in the workspace: left alone."""
    stale = outside / "ssh-agent.sock"
    with socket.socket(socket.AF_UNIX) as bound:
        bound.bind(str(stale))  # closed: the file stays, no table lists it
    docker = outside / "docker.sock"
    with socket.socket(socket.AF_UNIX) as bound:
        bound.bind(str(docker))
    (outside / "plain").write_text("x")
    root = make_repo(tmp_path / "ws", {})
    env = {"SSH_AUTH_SOCK": str(stale), "DOCKER_HOST": f"unix://{docker}",
           "DBUS_SESSION_BUS_ADDRESS": f"unix:path={outside / 'plain'},guid=1"}
    hidden = hidden_sockets(root, env)
    assert stale in hidden and docker in hidden and outside / "plain" not in hidden
    assert Path(os.path.realpath(stale)) not in hidden_sockets(root, {})


def test_a_listening_socket_with_any_bytes_in_its_name_is_hidden(outside, tmp_path):
    """/proc/net/unix prints a path's bytes raw: one that is not UTF-8, or holds a character
    Python's str.splitlines ends a line at, is still found (it stayed reachable in the sandbox)."""
    names = [b"x\xff.sock", b"file\x1csep.sock", "line\u2028sep.sock".encode()]
    paths = [Path(os.fsdecode(os.fsencode(outside) + b"/" + name)) for name in names]
    root = make_repo(tmp_path / "ws", {})
    with listening(paths[0]), listening(paths[1]), listening(paths[2]):
        hidden = hidden_sockets(root, {})
    assert [path for path in paths if path not in hidden] == []


@pytest.mark.parametrize("runtime", ["/", "/usr"])
@pytest.mark.trio
async def test_a_runtime_folder_set_over_the_system_hides_nothing_commands_need(repo, monkeypatch, runtime):
    """XDG_RUNTIME_DIR set to / or /usr (a misconfigured machine) put a tmpfs over the shell: every
    command failed. Holding PATH's folders or the home folder, it is not hidden whole."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    sandbox = _opened(repo, "on")
    try:
        out = await sh(repo, sandbox, "python3 -c 'print(6 * 7)'")
    finally:
        sandbox.close()
    assert "42" in out, out


def test_a_runtime_folder_of_its_own_is_still_hidden_whole(outside):
    env = {"XDG_RUNTIME_DIR": str(outside), "HOME": "/root", "PATH": "/usr/bin:/bin"}
    assert str(outside) in hidden_folders(env)
    assert str(outside) not in hidden_folders({**env, "HOME": str(outside / "home")})
