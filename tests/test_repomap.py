"""Repo map: PageRank over the reference graph, best-first rendering within a budget, mtime cache."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from asyncfc_cli.repomap import (
    MapTag,
    build_repo_map,
    estimate_tokens,
    pagerank,
    rank_definitions,
    render_map,
    source_files,
)

# A tiny fake extractor so ranking, caching and rendering are tested on their own: `def`/`class`
# lines define a name, every other identifier on any line is a reference.
_DEF = re.compile(r"^\s*(def|class)\s+(\w+)")
_WORD = re.compile(r"[A-Za-z_]\w*")
_KEYWORDS = {"def", "class", "import", "from", "return", "pass", "self", "print"}


class CountingExtractor:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, path: str, source: str) -> list[MapTag]:
        self.calls.append(path)
        tags = []
        for number, line in enumerate(source.splitlines(), 1):
            match = _DEF.match(line)
            if match:
                kind = "class" if match.group(1) == "class" else "function"
                tags.append(MapTag(match.group(2), kind, number, True, line.strip()))
            for word in _WORD.findall(line[match.end():] if match else line):
                if word not in _KEYWORDS:
                    tags.append(MapTag(word, "name", number, False))
        return tags


def is_python(path: str) -> bool:
    return path.endswith(".py")


FIXTURE = {
    "core/models.py": "class User:\n    pass\n\nclass Order:\n    pass\n\ndef _helper():\n    pass\n",
    "core/db.py": "from core.models import User\n\ndef connect(url):\n    return User\n\n"
                  "class Session:\n    pass\n",
    "app/views.py": "def show():\n    return User(), Order(), connect('x')\n",
    "app/api.py": "def handle():\n    return User(), connect('y'), Session()\n",
    "scripts/cleanup.py": "def unused_thing():\n    pass\n",
    "README.md": "User connect Session\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in FIXTURE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def build(repo: Path, tmp_path: Path, budget: int, extractor=None) -> str:
    return build_repo_map(repo, budget, extract=extractor or CountingExtractor(),
                          language_for=is_python, cache=tmp_path / "cache")


def test_pagerank_sums_to_one_and_favours_the_referenced_node():
    ranks = pagerank({"a": {"c": 1.0}, "b": {"c": 1.0}}, ["a", "b", "c", "d"])
    assert sum(ranks.values()) == pytest.approx(1.0)
    assert ranks["c"] > ranks["a"] == pytest.approx(ranks["b"])
    assert ranks["a"] == pytest.approx(ranks["d"])  # nobody links either
    assert pagerank({}, []) == {}


def test_pagerank_weights_split_the_flow():
    ranks = pagerank({"a": {"b": 3.0, "c": 1.0}}, ["a"])
    assert ranks["b"] > ranks["c"] > ranks["a"]


def test_definitions_ranked_by_how_much_the_repository_uses_them(repo):
    extract = CountingExtractor()
    tags = {rel: extract(rel, (repo / rel).read_text()) for rel in FIXTURE if rel.endswith(".py")}
    names = [d.name for d in rank_definitions(tags)]
    assert names[:2] == ["User", "connect"]  # used by 3 and 2 other files
    assert set(names[2:4]) == {"Order", "Session"}  # one user each
    assert set(names[4:]) == {"_helper", "show", "handle", "unused_thing"}  # nobody uses them


def test_map_lists_the_most_referenced_definitions_first(repo, tmp_path):
    text = build(repo, tmp_path, 1000)
    lines = text.splitlines()
    assert lines[0] == "core/models.py:"  # home of User, the most referenced definition
    assert lines[1] == "  1: class User:"
    assert lines.index("core/db.py:") < lines.index("app/views.py:")
    assert "  3: def connect(url):" in lines
    assert "README.md" not in text  # not a language the extractor parses


def test_map_fits_its_budget_and_keeps_the_best(repo, tmp_path):
    full = build(repo, tmp_path, 1000)
    small = build(repo, tmp_path, 12)
    assert estimate_tokens(small) <= 12 < estimate_tokens(full)
    assert "class User" in small and "unused_thing" not in small
    assert build(repo, tmp_path, 0) == ""


def test_render_map_returns_nothing_when_even_the_best_does_not_fit(repo):
    extract = CountingExtractor()
    tags = {"core/models.py": extract("core/models.py", FIXTURE["core/models.py"])}
    assert render_map(rank_definitions(tags), 2) == ""


def test_second_run_uses_the_cache_and_reparses_only_changed_files(repo, tmp_path):
    first = CountingExtractor()
    text = build(repo, tmp_path, 1000, first)
    assert len(first.calls) == 5
    assert list((tmp_path / "cache" / "repomap").glob("*.json"))

    second = CountingExtractor()
    assert build(repo, tmp_path, 1000, second) == text
    assert second.calls == []

    changed = repo / "app" / "views.py"
    changed.write_text(changed.read_text() + "\ndef extra():\n    return User\n")
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = CountingExtractor()
    assert "def extra():" in build(repo, tmp_path, 1000, third)
    assert third.calls == ["app/views.py"]


def test_corrupt_cache_is_ignored(repo, tmp_path):
    build(repo, tmp_path, 1000)
    for cache_file in (tmp_path / "cache" / "repomap").glob("*.json"):
        cache_file.write_text("{not json")
    again = CountingExtractor()
    assert "class User" in build(repo, tmp_path, 1000, again)
    assert len(again.calls) == 5


def test_source_files_honours_gitignore_in_a_git_repository(repo):
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".gitignore").write_text("generated/\n")
    (repo / "generated").mkdir()
    (repo / "generated" / "big.py").write_text("def User():\n    pass\n")
    files = source_files(repo)
    assert "app/views.py" in files and ".gitignore" in files
    assert not any(f.startswith(("generated/", ".git/")) for f in files)


def test_source_files_without_git_skips_hidden_and_vendored_folders(repo):
    (repo / ".venv" / "lib").mkdir(parents=True)
    (repo / ".venv" / "lib" / "x.py").write_text("def x():\n    pass\n")
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "y.py").write_text("")
    files = source_files(repo)
    assert "core/models.py" in files
    assert not any(f.startswith((".venv", "node_modules")) for f in files)


def test_map_of_a_real_repository_through_tree_sitter(tmp_path):
    """The default extractor (asyncfc_tools.code_tags) over Python and JavaScript files."""
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "web").mkdir()
    (root / "pkg" / "store.py").write_text(
        "class Store:\n    def put(self, key, value):\n        pass\n\n\ndef open_store(path):\n"
        "    return Store()\n")
    (root / "pkg" / "cli.py").write_text(
        "from pkg.store import Store, open_store\n\n\ndef main():\n    s = open_store('x')\n"
        "    assert isinstance(s, Store)\n")
    (root / "pkg" / "jobs.py").write_text(
        "from pkg.store import Store\n\n\ndef run_jobs(store: Store):\n    return store\n")
    (root / "web" / "app.js").write_text(
        "function renderPage(title) {\n  return title;\n}\n\nfunction main() {\n"
        "  return renderPage('x');\n}\n")
    text = build_repo_map(root, 1000, cache=tmp_path / "cache")
    lines = text.splitlines()
    assert lines[:2] == ["pkg/store.py:", "  1: class Store"]
    assert "web/app.js:" in lines and any("renderPage" in line for line in lines)
    assert text.index("open_store") < text.index("run_jobs")
    assert "  2:   def put(self, key, value)" in lines  # a method, indented under its class


def test_weak_references_pass_on_only_part_of_a_files_rank():
    # b's only edge is weak: with a full weight, most of b's rank is not handed to c.
    classic = pagerank({"a": {"c": 1.0}, "b": {"c": 0.1}}, ["a", "b", "c"])
    damped = pagerank({"a": {"c": 1.0}, "b": {"c": 0.1}}, ["a", "b", "c"], full_weight=1.0)
    assert sum(damped.values()) == pytest.approx(1.0)
    assert damped["c"] < classic["c"]


def test_calls_of_standard_method_names_do_not_make_a_definition_important():
    tags = {
        "box.py": [MapTag("Box", "class", 1, True, "class Box"),
                   MapTag("append", "method", 2, True, "def append(self, x)", "Box"),
                   MapTag("parse_box", "function", 5, True, "def parse_box(text)")],
        **{f"user{n}.py": [MapTag("append", "call", 1, False)] * 5 for n in range(8)},
        "main.py": [MapTag("parse_box", "call", 1, False)],
    }
    names = [d.name for d in rank_definitions(tags)]
    assert names.index("parse_box") < names.index("append")


def test_a_huge_repository_parses_only_its_shallowest_files():
    from asyncfc_cli.repomap_tags import pick_files

    paths = [f"deep/a/b/c{n}.py" for n in range(10)] + ["top.py", "pkg/mid.py"]
    assert pick_files(paths, limit=20) == paths
    assert pick_files(paths, limit=3) == ["top.py", "pkg/mid.py", "deep/a/b/c0.py"]
