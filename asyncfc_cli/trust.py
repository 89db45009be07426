"""Which repositories the user trusts, kept in the user's own config folder.

A repository is hostile until its user says otherwise: its ``.asyncfc.toml`` (and anything else it
ships that could send keys or commands somewhere) is applied in full only when its root is in the
trust store. The store is ``trusted.toml`` beside the user config file
(``$XDG_CONFIG_HOME/asyncfc/trusted.toml``, default ``~/.config``): outside every workspace the
agent works in, so the agent cannot grant trust by writing files. It holds the real paths, and for
each what its settings files (``SETTINGS_FILES``) held when the user trusted it::

    trusted = ["/home/me/src/project"]

    [pins]
    "/home/me/src/project" = { ".asyncfc.toml" = "sha256:9f86...", ".mcp.json" = "absent" }

Trust is pinned to those contents: a command the agent runs can still create or change these files
(they are read-only to its file tools, and in the sandbox only when they exist), so a trusted
repository whose files differ from the pins (created, edited, deleted) is untrusted for the session,
with a notice (``TrustState.notice``), until ``trust`` records what is there now. A root without
pins (written before pins existed) is treated the same way: what was trusted is not known.

Trust is by exact real path of the workspace root (the git top level): trusting a folder does not
trust the repositories below it, and a symlink to a trusted repository is the same repository.
The file is written atomically and readable by its owner only (0600; its folder 0700 when created
here): ``write_user_file``, which the user's allow rules (``allow_rules.py``) are written with too.

This module stands on the user's side of the trust boundary: it reads only the user's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

__all__ = [
    "SAFE_REPO_KEYS",
    "SETTINGS_FILES",
    "TrustState",
    "describe_trust",
    "is_trusted",
    "read_settings_files",
    "trust",
    "trust_store_path",
    "trust_state",
    "trusted_roots",
    "untrust",
    "untrusted_notice",
    "write_user_file",
]

SAFE_REPO_KEYS = frozenset({
    "mode", "max_turns", "map_tokens", "context_tokens", "early_wait", "dispatch",
    "shell_timeout_s", "call_timeout_s", "max_output_chars",
})
"""Settings an untrusted repository's ``.asyncfc.toml`` may set: they change how the agent works
but cannot send a key or a command anywhere, weaken approval, move files asyncfc writes or raise
a spending limit. An allowlist, so a setting added later is sensitive until someone decides it is
not; everything else (``model``, ``api_base``, ``approval``, ``transcript``, ``max_cost``...)
needs trust."""


def trust_store_path(user_config: Path | None = None) -> Path:
    """The trust store: ``trusted.toml`` in the folder of the user config file."""
    if user_config is None:
        from .config import user_config_path

        user_config = user_config_path()
    return user_config.parent / "trusted.toml"


def _key(root: Path) -> str:
    return os.path.realpath(os.path.expanduser(root))


SETTINGS_FILES = (".asyncfc.toml", ".mcp.json")
"""The repository's files that only its trust lets apply in full, pinned when it is trusted."""
_ABSENT = "absent"

Contents = Mapping[str, bytes | None]
"""What each of ``SETTINGS_FILES`` holds (None: there is no such file)."""


@dataclass(frozen=True, slots=True)
class TrustState:
    """Whether a repository is trusted this session, and what to tell the user when it is in the
    store but not trusted now (its settings files changed since, or it was trusted before pins)."""

    trusted: bool
    notice: str = ""
    contents: Contents = field(default_factory=dict, compare=False)
    """Trusted: the settings files as read and found to match the pins. The loaders apply these
    bytes, not a later read, so a file swapped right after the check is not what applies."""


def _read_store(user_config: Path | None) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The store's roots, in the order they were trusted, and their pins.

    Raises:
        ConfigError: the store exists but is not what this module writes.
    """
    path = trust_store_path(user_config)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: the trust store cannot be read: {exc}") from None
    roots = data.get("trusted", [])
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise ConfigError(f"{path}: `trusted` must be a list of folder paths")
    pins = data.get("pins", {})
    if not isinstance(pins, dict) or not all(
            isinstance(p, dict) and all(isinstance(v, str) for v in p.values()) for p in pins.values()):
        raise ConfigError(f"{path}: [pins] must map each folder path to a table of file = hash")
    return roots, pins


def trusted_roots(*, user_config: Path | None = None) -> tuple[Path, ...]:
    """Every trusted root, in the order they were trusted (whether or not its pins still hold).

    Raises:
        ConfigError: the store exists but is not what this module writes.
    """
    return tuple(Path(r) for r in _read_store(user_config)[0])


def read_settings_files(root: Path) -> dict[str, bytes | None]:
    """What the repository's settings files hold now (a missing file, or one that is not a
    regular file, which the loaders skip too, is None).

    Raises:
        ConfigError: one exists but cannot be read.
    """
    out: dict[str, bytes | None] = {}
    for name in SETTINGS_FILES:
        path = Path(_key(root)) / name
        try:
            out[name] = path.read_bytes() if path.is_file() else None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return out


def _pins(contents: Contents) -> dict[str, str]:
    return {name: _ABSENT if data is None else "sha256:" + hashlib.sha256(data).hexdigest()
            for name, data in contents.items()}


def trust_state(root: Path, *, user_config: Path | None = None) -> TrustState:
    """Whether the repository at ``root`` (compared by real path) is trusted this session: it is
    in the store and each of its settings files is as it was when trusted."""
    key = _key(root)
    roots, pins = _read_store(user_config)
    if key not in roots:
        return TrustState(False)
    again = f"`asyncfc trust {shlex.quote(key)}` trusts what is there now."
    pinned = pins.get(key)
    if pinned is None:
        return TrustState(False, (
            f"{key} was trusted before asyncfc recorded what it trusted, so this session treats "
            f"it as not trusted; check its {' and '.join(SETTINGS_FILES)}, then {again}"))
    contents = read_settings_files(root)
    changed = [f"{name} ({_change(pinned.get(name, _ABSENT), state)})"
               for name, state in _pins(contents).items() if pinned.get(name, _ABSENT) != state]
    if not changed:
        return TrustState(True, contents=contents)
    return TrustState(False, (
        f"{key} is trusted, but its {', '.join(changed)} changed since you trusted it, so this "
        f"session treats the repository as not trusted; check what it holds, then {again}"))


def _change(before: str, after: str) -> str:
    return "created" if before == _ABSENT else "deleted" if after == _ABSENT else "edited"


def is_trusted(root: Path, *, user_config: Path | None = None) -> bool:
    """Whether the user trusts the repository whose root is ``root`` this session (``trust_state``)."""
    return trust_state(root, user_config=user_config).trusted


def trust(root: Path, *, user_config: Path | None = None, contents: Contents | None = None) -> Path:
    """Trust ``root`` as it is: record it with the pins of ``contents`` (default: its settings
    files now; pass what was shown to the user). Trusting again re-pins. Returns the real path."""
    key = _key(root)
    roots, pins = _read_store(user_config)
    pins[key] = _pins(read_settings_files(root) if contents is None else contents)
    _write(trust_store_path(user_config), roots if key in roots else [*roots, key], pins)
    return Path(key)


def untrust(root: Path, *, user_config: Path | None = None) -> bool:
    """Remove ``root`` from the trust store; returns whether it was there."""
    key = _key(root)
    roots, pins = _read_store(user_config)
    if key not in roots:
        return False
    pins.pop(key, None)
    _write(trust_store_path(user_config), [r for r in roots if r != key], pins)
    return True


def _write(path: Path, roots: list[str], pins: Mapping[str, Mapping[str, str]]) -> None:
    """Replace the store. JSON string literals are TOML basic strings."""
    try:
        lines = "".join(f"  {json.dumps(r, ensure_ascii=False)},\n" for r in roots)
        pinned = "".join(
            f"{json.dumps(r, ensure_ascii=False)} = {{ "
            + ", ".join(f"{json.dumps(n)} = {json.dumps(h)}" for n, h in pins[r].items()) + " }\n"
            for r in roots if r in pins)
        text = ("# Repositories whose .asyncfc.toml and .mcp.json asyncfc applies in full (`asyncfc trust`),\n"
                "# while each file is as it was when trusted (its sha256, or absent).\n"
                f"trusted = [\n{lines}]\n\n[pins]\n{pinned}").encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError("a folder whose name is not valid UTF-8 cannot be trusted") from None
    write_user_file(path, text, "the trust store")


def write_user_file(path: Path, data: bytes, what: str) -> None:
    """Replace one of the user's own asyncfc files (what grants trust or approval) with ``data``:
    atomically (a reader sees the old file or the new one, never half of it) and owner-only (0600;
    a missing folder is created 0700). A link is followed: the file it points to is replaced
    (dotfiles kept elsewhere stay linked).

    Raises:
        ConfigError: it cannot be written, saying ``what`` and where.
    """
    path = Path(os.path.realpath(path))
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")  # 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def untrusted_notice(keys: tuple[str, ...] | list[str], root: Path, stale: str = "") -> str:
    """What to tell the user when an untrusted repository's config set sensitive keys, or when a
    trusted one is not trusted now (``stale``: ``TrustState.notice``)."""
    names = ", ".join(sorted(keys))
    if stale:
        return stale + (f" Until then, {root}/.asyncfc.toml's {names} are ignored." if keys else "")
    return (f"{root}/.asyncfc.toml sets {names}, which this repository may set only when you trust "
            f"it; ignored. If you trust this repository, run `asyncfc trust {shlex.quote(str(root))}` "
            "(or pass --trust-repo for one session).")


def describe_trust(contents: Contents) -> list[str]:
    """What trusting a repository whose settings files hold ``contents`` lets them do, for the
    user to see: the ``.asyncfc.toml`` keys beyond ``SAFE_REPO_KEYS`` and the ``.mcp.json``
    servers with their commands or URLs (as written: ``${VAR}`` is filled in when they start).
    A file that does not parse is said so (sessions will refuse it in words)."""
    lines = []
    config = contents.get(".asyncfc.toml")
    if config is not None:
        try:
            keys = sorted(k for k in tomllib.loads(config.decode("utf-8")) if k.replace("-", "_") not in SAFE_REPO_KEYS)
            lines.append(f".asyncfc.toml sets {', '.join(keys)}" if keys else ".asyncfc.toml sets only harmless keys")
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            lines.append(f".asyncfc.toml is not valid TOML ({exc})")
    servers = contents.get(".mcp.json")
    if servers is not None:
        lines.extend(_describe_servers(servers))
    return [_visible(line) for line in lines] or ["no .asyncfc.toml or .mcp.json: nothing to apply yet"]


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _visible(line: str) -> str:
    """``line`` with every control character written as an escape (``\\x1b``): the files are the
    repository's, and the person deciding must see what a server runs, not what an escape sequence
    or a carriage return in its command makes the terminal show instead."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", line)


def _describe_servers(data: bytes) -> list[str]:
    try:
        table = json.loads(data.decode("utf-8")).get("mcpServers", {})
        if not isinstance(table, dict):
            raise ValueError("mcpServers is not an object")
    except (UnicodeDecodeError, ValueError, AttributeError) as exc:
        return [f".mcp.json is not valid ({exc})"]
    out = []
    for name, raw in table.items():
        raw = raw if isinstance(raw, dict) else {}
        args = raw.get("args")
        args = args if isinstance(args, list) else []
        if isinstance(raw.get("command"), str):
            target = "runs " + shlex.join([raw["command"], *map(str, args)])
        else:
            target = f"connects to {raw.get('url')}"
        out.append(f".mcp.json adds MCP server {name!r}, which {target}")
    return out or [".mcp.json names no MCP servers"]
