"""The repository map's inputs: which files there are, and their tags, cached by modification time.

``source_files`` lists what git would show (so .gitignore is honoured); ``load_tags`` runs the tag
extractor (``asyncfc_tools.code_tags.extract_tags``) only on files whose modification time or size
changed since the JSON cache under ``cache_dir()`` was written. Ranking and rendering live in
``repomap.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any, Protocol

from asyncfc_tools._fs import open_regular
from asyncfc_tools._git import is_git_work_tree, run_git

__all__ = ["CACHE_VERSION", "Extract", "MapTag", "TagLike", "cache_dir", "cache_file", "load_tags",
           "pick_files", "source_files"]

CACHE_VERSION = 2
"""Bump when what is cached changes shape or meaning: older caches are then ignored."""
MAX_FILE_BYTES = 512_000
"""Bigger files are almost always generated or vendored: they are not parsed."""
MAX_WALK = 20_000
"""Outside git, the walk stops after this many files."""
MAX_FILES = 4_000
"""At most this many source files are parsed for a map, the shallowest first (see ``pick_files``)."""
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "dist", "build",
                        "target"})


class TagLike(Protocol):
    """What ``extract_tags`` returns for each name: a definition or a reference (read-only, so a
    frozen record fits)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def is_definition(self) -> bool: ...
    @property
    def signature(self) -> str: ...


@dataclass(frozen=True, slots=True)
class MapTag:
    """One tag as the map keeps (and caches) it."""

    name: str
    kind: str
    """class, function, method, ... as the tag extractor names it."""
    line: int
    """1-based line of the name."""
    is_definition: bool
    signature: str = ""
    """The definition's first line (``def parse(text: str) -> Date:``); empty for references."""
    parent: str = ""
    """The enclosing class (or impl, ...) of a method; empty at top level."""

    @classmethod
    def of(cls, tag: TagLike) -> MapTag:
        return cls(tag.name, tag.kind, tag.line, tag.is_definition, tag.signature or "",
                   getattr(tag, "parent", "") or "")


def source_files(root: Path) -> list[str]:
    """Files of the repository as relative posix paths: git's view when ``root`` is a git work
    tree (tracked and untracked, .gitignore honoured), else a walk skipping hidden and vendored
    folders."""
    if is_git_work_tree(root):
        try:
            done = run_git(root, ["ls-files", "-co", "--exclude-standard", "-z"], timeout=30)
        except (OSError, subprocess.SubprocessError):
            done = None  # git missing or stuck: fall back to walking
        if done is not None and done.returncode == 0:
            names = sorted({n for n in done.stdout.decode("utf-8", "replace").split("\0") if n})
            return [n for n in names if (root / n).is_file()]
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        rel = Path(folder).relative_to(root)
        found.extend((rel / f).as_posix() for f in sorted(files) if not f.startswith("."))
        if len(found) >= MAX_WALK:  # not a project (a home folder?): a partial map is enough
            break
    return found


def pick_files(paths: Iterable[str], limit: int = MAX_FILES) -> list[str]:
    """At most ``limit`` of ``paths``: all of them if they fit, else the shallowest (a big
    repository's central code tends to sit near its top; deep trees are often fixtures or vendored
    code), so a first map of a huge repository stays quick."""
    paths = list(paths)
    if len(paths) <= limit:
        return paths
    return sorted(paths, key=lambda p: (p.count("/"), p))[:limit]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/asyncfc`` (default ``~/.cache/asyncfc``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "asyncfc"


def cache_file(folder: Path, root: Path) -> Path:
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return folder / "repomap" / f"{digest}.json"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _write_cache(path: Path, files: Mapping[str, Any]) -> None:
    # A cache that cannot be written only costs speed next time: never fail the session for it.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps({"version": CACHE_VERSION, "files": files}), encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass


Extract = Callable[[str, str], Iterable[TagLike]]
"""``extract_tags(path, source)``: the tags of one file."""


def load_tags(
    root: Path,
    paths: Iterable[str],
    extract: Extract,
    cache_file: Path | None,
) -> dict[str, list[MapTag]]:
    """Tags of each file, parsing only files whose mtime or size differ from the cache's.

    A file that cannot be read or parsed has no tags; FIFOs, sockets and devices are skipped (a
    FIFO would block the read forever). The cache is rewritten to hold exactly the files given
    (entries of deleted files are dropped).
    """
    cached = _read_cache(cache_file) if cache_file else {}
    fresh: dict[str, Any] = {}
    tags: dict[str, list[MapTag]] = {}
    for rel in paths:
        try:
            stat = (root / rel).stat()
        except (OSError, ValueError):
            continue
        if not S_ISREG(stat.st_mode):
            continue  # a FIFO, socket or device: reading it could block start-up forever
        stamp = [stat.st_mtime_ns, stat.st_size]
        entry = cached.get(rel)
        if isinstance(entry, dict) and entry.get("stamp") == stamp:
            file_tags = [MapTag(*t) for t in entry.get("tags", ())]
        else:
            file_tags = _parse(root / rel, rel, stat.st_size, extract)
        tags[rel] = file_tags
        fresh[rel] = {"stamp": stamp, "tags": [[t.name, t.kind, t.line, t.is_definition, t.signature,
                                                t.parent] for t in file_tags]}
    if cache_file and fresh != cached:
        _write_cache(cache_file, fresh)
    return tags


def _parse(path: Path, rel: str, size: int, extract: Extract) -> list[MapTag]:
    if size > MAX_FILE_BYTES:
        return []
    try:
        with open_regular(path, rel) as handle:  # refuses a file swapped for a FIFO since the stat
            source = handle.read().decode("utf-8", errors="replace")
        return [MapTag.of(tag) for tag in extract(rel, source)]
    except Exception:  # noqa: BLE001 - one unparsable file must not cost the whole map
        return []
