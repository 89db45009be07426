"""The Unix sockets a sandboxed command must not reach.

A Unix socket is a door out of the sandbox that neither the read-only filesystem nor the network
namespace closes: connecting needs only to see its path. Behind them are the user's ssh agent
(every key it holds), the session bus (the desktop, keyrings, systemd --user), a container engine
(docker.sock: root on the machine) and the system bus. So the sandbox hides them: the runtime
folders whole (``hidden_folders``: a tmpfs over each), and every other socket on its own
(``hidden_sockets``: /dev/null bound over it, so connecting fails). What builds and tests use stays:
sockets in the workspace and the sandbox's own /tmp, which commands make and share.

Trust boundary: agent side; it reads only the machine's socket table and the user's environment.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

__all__ = ["hidden_folders", "hidden_sockets"]

_KNOWN_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock", "/run/dbus/system_bus_socket",
                  "/run/snapd.socket")
"""Sockets that grant much (a container engine is root; the system bus reaches systemd and polkit)
and may belong to another network namespace, so that ``/proc/net/unix`` does not list them (a
container given the host's docker.sock)."""
_HIDDEN_FOLDERS = ("/run/user", "/run/containerd", "/run/docker", "/run/podman")
"""Every user's runtime folder (session bus, ssh and gpg agents, keyrings, the desktop's sockets)
and the container engines' (their API sockets, and a socket per running container that comes and
goes: a socket hidden one by one must still exist when the sandbox starts)."""
_LISTENING = 0x10000
"""``__SO_ACCEPTCON`` in /proc/net/unix's Flags: a socket that accepts connections (a server)."""


def hidden_folders(env: Mapping[str, str] | None = None) -> list[str]:
    """The folders of sockets hidden whole that exist: ``_HIDDEN_FOLDERS`` and XDG_RUNTIME_DIR
    (unless it lies in one of them, or holds what commands need: ``_holds_needed``)."""
    env = os.environ if env is None else env
    runtime = env.get("XDG_RUNTIME_DIR")
    runtime = None if runtime and _holds_needed(os.path.realpath(runtime), env) else runtime
    folders = [os.path.realpath(f) for f in (*_HIDDEN_FOLDERS, runtime) if f]
    return [folder for index, folder in enumerate(folders) if os.path.isdir(folder) and not any(
        folder == other or folder.startswith(other + "/") for other in folders[:index])]


def _holds_needed(folder: str, env: Mapping[str, str]) -> bool:
    """Whether ``folder`` is or holds the home folder or a folder of PATH: an XDG_RUNTIME_DIR set
    to ``/``, /usr or the home folder would hide the shell and the toolchains under a tmpfs (every
    command failed: "bwrap: execvp /bin/sh: No such file or directory"). Its sockets are then
    hidden one by one, as any other (``hidden_sockets``)."""
    needed = [env.get("HOME", ""), *env.get("PATH", "").split(os.pathsep)]
    return any(os.path.realpath(path) == folder or os.path.realpath(path).startswith(folder.rstrip("/") + "/")
               for path in needed if path.startswith("/"))


def _socket_variables(env: Mapping[str, str]) -> list[str]:
    """The socket paths the user's environment names: the ssh agent, the session bus, DOCKER_HOST,
    a gpg agent (``GPG_AGENT_INFO``'s first field)."""
    named = [env.get("SSH_AUTH_SOCK", ""), env.get("GPG_AGENT_INFO", "").split(":")[0]]
    for variable, scheme in (("DBUS_SESSION_BUS_ADDRESS", "unix:path="), ("DOCKER_HOST", "unix://")):
        value = env.get(variable, "")
        if value.startswith(scheme):
            named.append(value[len(scheme):].split(",")[0].split(";")[0])
    return [path for path in named if path.startswith("/")]


def _listening_sockets() -> list[str]:
    """The paths of the Unix sockets that servers of this network namespace listen on
    (``/proc/net/unix``; abstract ones, ``@name``, have no path). Only servers: a client's or a
    datagram socket's path grants nothing, and comes and goes more often."""
    try:
        with open("/proc/net/unix", "rb") as table:
            # Bytes split on newlines only: a path is any bytes but NUL and is printed raw (not
            # UTF-8, or holding a \x1c or U+2028 that str.splitlines ends a line at), and
            # decoded as the filesystem does, so the socket it names is found.
            rows = [row.split(None, 7) for row in table.read().split(b"\n")[1:]]
    except OSError:
        return []
    return [os.fsdecode(row[7]) for row in rows if len(row) == 8 and row[7].startswith(b"/") and _listens(row[3])]


def _listens(flags: bytes) -> bool:
    try:
        return bool(int(flags, 16) & _LISTENING)
    except ValueError:
        return True  # unreadable: hiding it costs nothing


def hidden_sockets(root: Path, env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The Unix sockets a sandboxed command must not reach, whatever they grant: every socket a
    server listens on in this machine's network namespace, the ones the environment names (ssh
    agent, session bus, DOCKER_HOST) and the well-known ones (docker, the system bus), as real
    paths that exist now. Left out: those in the workspace (a test server's), and those under
    /tmp, /dev or a folder hidden whole (the sandbox has its own; ``hidden_folders``). A socket
    removed in the moment between this look and the sandbox's start fails that start (bubblewrap
    cannot mount over nothing in a read-only tree): servers' sockets live long, so it is rare."""
    env = os.environ if env is None else env
    root = Path(os.path.realpath(root))
    covered = [Path(os.path.realpath(f)) for f in ("/tmp", "/dev")] + [*map(Path, hidden_folders(env))]
    found: list[Path] = []
    for candidate in (*_KNOWN_SOCKETS, *_socket_variables(env), *_listening_sockets()):
        path = Path(os.path.realpath(candidate))
        try:
            if not stat.S_ISSOCK(path.lstat().st_mode):
                continue
        except OSError:
            continue
        if path in found or path == root or root in path.parents or any(c in path.parents for c in covered):
            continue
        found.append(path)
    return tuple(found)
