"""Which repositories the user trusts, kept in the user's own config folder.

A repository is hostile until its user says otherwise: its ``.asyncfc.toml`` (and anything else it
ships that could send keys or commands somewhere) is applied in full only when its root is in the
trust store. The store is ``trusted.toml`` beside the user config file
(``$XDG_CONFIG_HOME/asyncfc/trusted.toml``, default ``~/.config``): outside every workspace the
agent works in, so the agent cannot grant trust by writing files. It holds one list of real paths::

    trusted = ["/home/me/src/project"]

Trust is by exact real path of the workspace root (the git top level): trusting a folder does not
trust the repositories below it, and a symlink to a trusted repository is the same repository.
The file is written atomically and readable by its owner only (0600; its folder 0700 when created
here): ``write_user_file``, which the user's allow rules (``allow_rules.py``) are written with too.

This module stands on the user's side of the trust boundary: it reads only the user's files.
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
import tomllib
from pathlib import Path

from .errors import ConfigError

__all__ = [
    "SAFE_REPO_KEYS",
    "is_trusted",
    "trust",
    "trust_store_path",
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


def trusted_roots(*, user_config: Path | None = None) -> tuple[Path, ...]:
    """Every trusted root, in the order they were trusted.

    Raises:
        ConfigError: the store exists but is not what this module writes.
    """
    path = trust_store_path(user_config)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: the trust store cannot be read: {exc}") from None
    roots = data.get("trusted", [])
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise ConfigError(f"{path}: `trusted` must be a list of folder paths")
    return tuple(Path(r) for r in roots)


def is_trusted(root: Path, *, user_config: Path | None = None) -> bool:
    """Whether the user trusts the repository whose root is ``root`` (compared by real path)."""
    key = _key(root)
    return any(str(r) == key for r in trusted_roots(user_config=user_config))


def trust(root: Path, *, user_config: Path | None = None) -> Path:
    """Add ``root`` to the trust store; returns the real path recorded (trusting twice is fine)."""
    key = _key(root)
    roots = [str(r) for r in trusted_roots(user_config=user_config)]
    if key not in roots:
        _write(trust_store_path(user_config), [*roots, key])
    return Path(key)


def untrust(root: Path, *, user_config: Path | None = None) -> bool:
    """Remove ``root`` from the trust store; returns whether it was there."""
    key = _key(root)
    roots = [str(r) for r in trusted_roots(user_config=user_config)]
    if key not in roots:
        return False
    _write(trust_store_path(user_config), [r for r in roots if r != key])
    return True


def _write(path: Path, roots: list[str]) -> None:
    """Replace the store. JSON string literals are TOML basic strings."""
    try:
        lines = "".join(f"  {json.dumps(r, ensure_ascii=False)},\n" for r in roots)
        text = ("# Repositories whose .asyncfc.toml asyncfc applies in full (`asyncfc trust`).\n"
                f"trusted = [\n{lines}]\n").encode("utf-8")
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


def untrusted_notice(keys: tuple[str, ...] | list[str], root: Path) -> str:
    """What to tell the user when an untrusted repository's config set sensitive keys."""
    names = ", ".join(sorted(keys))
    return (f"{root}/.asyncfc.toml sets {names}, which this repository may set only when you trust "
            f"it; ignored. If you trust this repository, run `asyncfc trust {shlex.quote(str(root))}` "
            "(or pass --trust-repo for one session).")
