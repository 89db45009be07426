"""The repository map: the most referenced definitions of a repository, within a token budget.

How it is made (aider's idea, in small pure pieces):

1. ``source_files``: the files git would show (``git ls-files -co --exclude-standard``, so
   .gitignore is honoured), or a walk that skips hidden and vendored folders outside git.
2. ``load_tags``: definitions and references of each file from tree-sitter
   (``asyncfc_tools.code_tags.extract_tags``), cached in a JSON file keyed by modification time and
   size, so a second run parses only what changed.
3. ``rank_definitions``: a PageRank over the reference graph (file A uses a name defined in file B:
   edge A -> B), whose rank then flows along each edge to the definitions it names.
4. ``render_map``: the most highly ranked definitions that fit the budget, grouped by file.

Only ``build_repo_map`` does I/O; everything it calls in between is a pure function over values.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "Definition",
    "MapTag",
    "build_repo_map",
    "cache_dir",
    "estimate_tokens",
    "load_tags",
    "pagerank",
    "rank_definitions",
    "reference_graph",
    "render_map",
    "source_files",
]

CACHE_VERSION = 2
"""Bump when what is cached changes shape or meaning: older caches are then ignored."""
MAX_FILE_BYTES = 512_000
"""Bigger files are almost always generated or vendored: they are not parsed."""
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "dist", "build",
                        "target"})


class TagLike(Protocol):
    """What ``extract_tags`` returns for each name: a definition or a reference."""

    name: str
    kind: str
    line: int
    is_definition: bool
    signature: str


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


@dataclass(frozen=True, slots=True)
class Definition:
    """A ranked definition: where it is, what it looks like, how much the repository uses it."""

    path: str
    name: str
    kind: str
    line: int
    signature: str
    score: float
    """Share of the PageRank flowing into this definition through references to its name."""
    parent: str = ""
    """The enclosing class of a method (rendered indented)."""


Tags = Mapping[str, Sequence[MapTag]]
"""Tags by file path (relative to the repository root, with forward slashes)."""


def estimate_tokens(text: str) -> int:
    """A cheap token estimate (about four characters a token) for budgets that need no precision."""
    return (len(text) + 3) // 4


# --------------------------------------------------------------------------------------------------
# Ranking (pure)


def pagerank(
    edges: Mapping[str, Mapping[str, float]],
    nodes: Iterable[str],
    *,
    damping: float = 0.85,
    tolerance: float = 1e-10,
    max_iterations: int = 200,
) -> dict[str, float]:
    """Weighted PageRank by power iteration; the ranks sum to 1.

    ``edges[a][b]`` is the weight of the edge a -> b. A node without out-edges (dangling) spreads
    its rank evenly over all nodes, as does the (1 - damping) teleport share.
    """
    names = sorted(set(nodes) | set(edges) | {b for out in edges.values() for b in out})
    if not names:
        return {}
    share = 1.0 / len(names)
    rank = dict.fromkeys(names, share)
    totals = {a: sum(out.values()) for a, out in edges.items()}
    for _ in range(max_iterations):
        dangling = sum(rank[n] for n in names if totals.get(n, 0.0) <= 0.0)
        base = (1.0 - damping) * share + damping * dangling * share
        new = dict.fromkeys(names, base)
        for a, out in edges.items():
            if totals[a] > 0.0:
                for b, weight in out.items():
                    new[b] += damping * rank[a] * weight / totals[a]
        change = sum(abs(new[n] - rank[n]) for n in names)
        rank = new
        if change < tolerance:
            break
    return rank


def _definers(tags: Tags) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for path, file_tags in tags.items():
        for tag in file_tags:
            if tag.is_definition:
                found[tag.name].add(path)
    return found


def _specificity(name: str) -> float:
    """How surely a use of ``name`` means a definition of it, as a weight factor."""
    if name.startswith("__") and name.endswith("__"):
        return 0.0  # __init__, __call__: every class has them, a use names none in particular
    if name.startswith("_"):
        return 0.1
    if len(name) >= 6 or "_" in name or name[:1].isupper() or any(c.isupper() for c in name[1:]):
        return 1.0
    return 0.2


def reference_graph(tags: Tags) -> dict[str, dict[tuple[str, str], float]]:
    """Edges from each file to the (file, name) definitions it references, with their weights.

    A name used n times counts sqrt(n) (many uses of one name should not drown every other use);
    a name defined in k other files splits its weight k ways (common names say little about which
    one is meant); short generic names (``get``, ``run``) count a fifth and private names (leading
    underscore) a tenth, since a use of them rarely means that definition. References a file makes
    to its own definitions make no edge.
    """
    definers = _definers(tags)
    graph: dict[str, dict[tuple[str, str], float]] = {}
    for path, file_tags in tags.items():
        uses = Counter(t.name for t in file_tags if not t.is_definition)
        out: dict[tuple[str, str], float] = {}
        for name, count in uses.items():
            targets = definers.get(name, set()) - {path}
            if not targets:
                continue
            weight = math.sqrt(count) / len(targets) * _specificity(name)
            if weight <= 0.0:
                continue
            for target in targets:
                out[(target, name)] = weight
        graph[path] = out
    return graph


def rank_definitions(tags: Tags) -> list[Definition]:
    """Every definition, most referenced first (ties: by path, then line).

    A file's PageRank flows along its out-edges in proportion to their weights; a definition scores
    what reaches its (file, name). Definitions nobody references still get a tiny score from their
    file's rank, so they follow the referenced ones in file-rank order.
    """
    graph = reference_graph(tags)
    file_edges: dict[str, dict[str, float]] = {}
    for source, out in graph.items():
        per_file: dict[str, float] = defaultdict(float)
        for (target, _name), weight in out.items():
            per_file[target] += weight
        file_edges[source] = dict(per_file)
    ranks = pagerank(file_edges, tags.keys())
    flow: dict[tuple[str, str], float] = defaultdict(float)
    for source, out in graph.items():
        total = sum(out.values())
        for key, weight in out.items():
            flow[key] += ranks[source] * weight / total
    definitions = [
        Definition(path, tag.name, tag.kind, tag.line, tag.signature,
                   flow.get((path, tag.name), 0.0) + ranks.get(path, 0.0) * 1e-6, tag.parent)
        for path, file_tags in tags.items()
        for tag in file_tags
        if tag.is_definition
    ]
    definitions.sort(key=lambda d: (-d.score, d.path, d.line))
    return definitions


# --------------------------------------------------------------------------------------------------
# Rendering (pure)


def _entry(definition: Definition) -> str:
    text = definition.signature.strip().splitlines()[0] if definition.signature.strip() else ""
    text = text or f"{definition.kind} {definition.name}"
    indent = "  " if definition.parent else ""
    return f"  {definition.line}: {indent}{text if len(text) <= 100 else text[:99] + '…'}"


def _render(chosen: Sequence[Definition]) -> str:
    """Files in the order of their best definition; each file's definitions in line order."""
    by_file: dict[str, list[Definition]] = {}
    for definition in chosen:  # already best first, so dict order is file order
        by_file.setdefault(definition.path, []).append(definition)
    blocks = []
    for path, defs in by_file.items():
        lines = [_entry(d) for d in sorted(defs, key=lambda d: d.line)]
        blocks.append("\n".join([f"{path}:", *lines]))
    return "\n".join(blocks)


def render_map(
    definitions: Sequence[Definition],
    budget_tokens: int,
    count: Callable[[str], int] = estimate_tokens,
) -> str:
    """The longest best-first prefix of ``definitions`` whose rendering fits ``budget_tokens``.

    ``definitions`` must be sorted best first (as ``rank_definitions`` returns them). Returns "" when
    not even the best one fits.
    """
    low, high = 0, len(definitions)
    while low < high:  # the largest k whose rendering fits; rendering grows with k
        mid = (low + high + 1) // 2
        if count(_render(definitions[:mid])) <= budget_tokens:
            low = mid
        else:
            high = mid - 1
    return _render(definitions[:low])


# --------------------------------------------------------------------------------------------------
# Files and the tag cache (I/O)


def source_files(root: Path) -> list[str]:
    """Files of the repository as relative posix paths: git's view when ``root`` is a git work
    tree (tracked and untracked, .gitignore honoured), else a walk skipping hidden and vendored
    folders."""
    if (root / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "ls-files", "-co", "--exclude-standard", "-z"],
                cwd=root, capture_output=True, check=True, timeout=30,
            ).stdout
            names = sorted({n for n in out.decode("utf-8", "replace").split("\0") if n})
            return [n for n in names if (root / n).is_file()]
        except (OSError, subprocess.SubprocessError):
            pass  # git missing or broken: fall back to walking
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        rel = Path(folder).relative_to(root)
        found.extend((rel / f).as_posix() for f in sorted(files) if not f.startswith("."))
    return found


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/asyncfc`` (default ``~/.cache/asyncfc``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "asyncfc"


def _cache_file(folder: Path, root: Path) -> Path:
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

    A file that cannot be read or parsed has no tags. The cache is rewritten to hold exactly the
    files given (entries of deleted files are dropped).
    """
    cached = _read_cache(cache_file) if cache_file else {}
    fresh: dict[str, Any] = {}
    tags: dict[str, list[MapTag]] = {}
    for rel in paths:
        try:
            stat = (root / rel).stat()
        except OSError:
            continue
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
        source = path.read_text(encoding="utf-8", errors="replace")
        return [MapTag.of(tag) for tag in extract(rel, source)]
    except Exception:  # noqa: BLE001 - one unparsable file must not cost the whole map
        return []


def _default_extractor() -> tuple[Extract, Callable[[str], object]] | None:
    try:
        from asyncfc_tools.code_tags import extract_tags, language_for
    except ImportError:
        return None
    return extract_tags, language_for


def build_repo_map(
    root: Path,
    budget_tokens: int,
    *,
    extract: Extract | None = None,
    language_for: Callable[[str], object] | None = None,
    cache: Path | None = None,
    count: Callable[[str], int] = estimate_tokens,
) -> str:
    """The map of the repository at ``root``, at most ``budget_tokens`` long ("" if empty or 0).

    Args:
        extract, language_for: the tag extractor and the "is this a language we parse" test
            (default: ``asyncfc_tools.code_tags``; without it there is no map).
        cache: the folder holding the tag cache (default ``cache_dir()``).
        count: the token counter the budget is measured with.
    """
    if budget_tokens <= 0:
        return ""
    if extract is None or language_for is None:
        default = _default_extractor()
        if default is None:
            return ""
        extract, language_for = extract or default[0], language_for or default[1]
    files = [rel for rel in source_files(root) if language_for(rel)]
    tags = load_tags(root, files, extract, _cache_file(cache or cache_dir(), root))
    return render_map(rank_definitions(tags), budget_tokens, count)
