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

Steps 1 and 2 (the I/O) live in ``repomap_tags.py``; ranking and rendering here are pure functions
over values; ``build_repo_map`` puts them together.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .repomap_tags import Extract, MapTag, cache_dir, cache_file, load_tags, pick_files, source_files

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
    full_weight: float = 0.0,
    tolerance: float = 1e-10,
    max_iterations: int = 200,
) -> dict[str, float]:
    """Weighted PageRank by power iteration; the ranks sum to 1.

    ``edges[a][b]`` is the weight of the edge a -> b. A node passes its rank along its out-edges in
    proportion to their weights, divided by ``max(total out-weight, full_weight)``: with a
    ``full_weight``, a node whose only edges are weak passes on only part of its rank. What a node
    does not pass on (all of it, for a node without out-edges) is spread evenly over all nodes, as
    is the (1 - damping) teleport share.
    """
    names = sorted(set(nodes) | set(edges) | {b for out in edges.values() for b in out})
    if not names:
        return {}
    share = 1.0 / len(names)
    rank = dict.fromkeys(names, share)
    scale = {a: max(sum(out.values()), full_weight) for a, out in edges.items()}
    passed = {a: sum(out.values()) / scale[a] if scale[a] > 0 else 0.0 for a, out in edges.items()}
    for _ in range(max_iterations):
        kept = sum(rank[n] * (1.0 - passed.get(n, 0.0)) for n in names)
        new = dict.fromkeys(names, (1.0 - damping) * share + damping * kept * share)
        for a, out in edges.items():
            for b, weight in out.items():
                new[b] += damping * rank[a] * weight / scale[a]
        change = sum(abs(new[n] - rank[n]) for n in names)
        rank = new
        if change < tolerance:
            break
    return rank


FULL_WEIGHT = 1.0
"""The out-weight at which a file passes on all its rank: one plain use of a specific name."""


def _definers(tags: Tags) -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """Files defining each name, and the (file, name) pairs with a top-level (non-method) one."""
    found: dict[str, set[str]] = defaultdict(set)
    top_level: set[tuple[str, str]] = set()
    for path, file_tags in tags.items():
        for tag in file_tags:
            if tag.is_definition:
                found[tag.name].add(path)
                if not tag.parent:
                    top_level.add((path, tag.name))
    return found, top_level


_STANDARD_METHODS = frozenset(
    "get set add pop put append extend insert remove clear copy update items keys values join split "
    "strip replace format read write close open send start stop run wait sort index count find "
    "push map filter reduce forEach then len String Error".split())
"""Names the standard libraries' containers, strings and files use: a call of one of them is far
more often theirs than a definition in the repository."""


def _specificity(name: str) -> float:
    """How surely a use of ``name`` means a definition of it, as a weight factor."""
    if name.startswith("__") and name.endswith("__"):
        return 0.0  # __init__, __call__: every class has them, a use names none in particular
    if name.startswith("_") or name in _STANDARD_METHODS:
        return 0.1
    if len(name) >= 6 or "_" in name or name[:1].isupper() or any(c.isupper() for c in name[1:]):
        return 1.0
    return 0.2


def reference_graph(tags: Tags) -> dict[str, dict[tuple[str, str], float]]:
    """Edges from each file to the (file, name) definitions it references, with their weights.

    A name used n times counts sqrt(n) (many uses of one name should not drown every other use);
    a name defined in k other files splits its weight k ways (common names say little about which
    one is meant); short names count a fifth, and private names (leading underscore) and the
    standard libraries' method names (``get``, ``append``) a tenth, since a use of them rarely
    means that definition; a use of a name only methods define counts a fifth too (a call
    ``x.parse()`` may mean any ``parse``). References a file makes to its own definitions make no
    edge.
    """
    definers, top_level = _definers(tags)
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
                out[(target, name)] = weight if (target, name) in top_level else weight * 0.2
        graph[path] = out
    return graph


def rank_definitions(tags: Tags) -> list[Definition]:
    """Every definition, most referenced first (ties: by path, then line).

    A file's PageRank flows along its out-edges in proportion to their weights (all of it only once
    they add up to FULL_WEIGHT); a definition scores what reaches its (file, name). Definitions
    nobody references still get a tiny score from their file's rank, so they follow the referenced
    ones in file-rank order.
    """
    graph = reference_graph(tags)
    file_edges: dict[str, dict[str, float]] = {}
    for source, out in graph.items():
        per_file: dict[str, float] = defaultdict(float)
        for (target, _name), weight in out.items():
            per_file[target] += weight
        file_edges[source] = dict(per_file)
    ranks = pagerank(file_edges, tags.keys(), full_weight=FULL_WEIGHT)
    flow: dict[tuple[str, str], float] = defaultdict(float)
    for source, out in graph.items():
        scale = max(sum(out.values()), FULL_WEIGHT)
        for key, weight in out.items():
            flow[key] += ranks[source] * weight / scale
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
    files = pick_files(rel for rel in source_files(root) if language_for(rel))
    tags = load_tags(root, files, extract, cache_file(cache or cache_dir(), root))
    return render_map(rank_definitions(tags), budget_tokens, count)
