"""list_files and grep in temporary repositories: .gitignore, globs, caps, bad regexes, escapes."""

from __future__ import annotations

import json
import os

import pytest

from asyncfc_tools import PathOutsideWorkspace, ToolError, ToolSettings
from asyncfc_tools._listing import IgnoreRules, glob_matcher, workspace_files
from asyncfc_tools.search import grep, list_files, parse_rg_json
from tools_repo import context, make_repo, write_files

FILES = {
    ".gitignore": "build/\n*.log\n!keep.log\n",
    "src/app.py": "import os\n\ndef main():\n    return helper()  # TODO tidy\n",
    "src/util/helper.py": "def helper():\n    return 42\n",
    "src/web/index.ts": "export function helper(): number { return 1 }\n",
    "docs/notes.md": "TODO: write docs\n",
    "keep.log": "TODO kept\n",
}


@pytest.fixture(params=["git", "plain"])
def repo(request, tmp_path):
    """The same tree as a git repository (git answers) and as a plain folder (the walk answers)."""
    root = tmp_path / "repo"
    if request.param == "git":
        make_repo(root, FILES, commit=False)
        (root / "untracked.py").write_text("x = 'TODO untracked'\n")
    else:
        root.mkdir()
        write_files(root, FILES)
        (root / "untracked.py").write_text("x = 'TODO untracked'\n")
    write_files(root, {"build/out.py": "TODO ignored\n", "debug.log": "TODO ignored\n",
                       "image.bin": b"TODO\0\1\2"})
    return root


@pytest.fixture
def ctx(repo):
    return context(repo)


def test_list_files_honours_gitignore_and_skips_git(ctx, repo):
    listed = list_files.fn(ctx).splitlines()
    assert listed == [".gitignore", "docs/notes.md", "image.bin", "keep.log", "src/app.py",
                      "src/util/helper.py", "src/web/index.ts", "untracked.py"]


def test_list_files_path_and_pattern(ctx):
    assert list_files.fn(ctx, "src", "*.py").splitlines() == ["src/app.py", "src/util/helper.py"]
    assert list_files.fn(ctx, ".", "src/**/*.ts").splitlines() == ["src/web/index.ts"]
    assert list_files.fn(ctx, "src", "util/*").splitlines() == ["src/util/helper.py"]
    assert list_files.fn(ctx, "docs", "*.py") == "(no files matching '*.py' under docs)"


def test_list_files_missing_folder_and_escape(ctx):
    with pytest.raises(ToolError, match="nope: no such file or folder"):
        list_files.fn(ctx, "nope")
    with pytest.raises(PathOutsideWorkspace):
        list_files.fn(ctx, "..")


def test_grep_reports_path_line_text_sorted(ctx):
    assert grep.fn(ctx, "TODO").splitlines() == [
        "docs/notes.md:1: TODO: write docs",
        "keep.log:1: TODO kept",
        "src/app.py:4:     return helper()  # TODO tidy",
        "untracked.py:1: x = 'TODO untracked'",
    ]


def test_grep_path_glob_and_ignore_case(ctx):
    assert grep.fn(ctx, r"def \w+", path="src", glob="*.py").splitlines() == [
        "src/app.py:3: def main():", "src/util/helper.py:1: def helper():"]
    assert grep.fn(ctx, "todo: WRITE", ignore_case=True) == "docs/notes.md:1: TODO: write docs"
    assert grep.fn(ctx, "return 42", path="src/util/helper.py") == "src/util/helper.py:2:     return 42"
    assert grep.fn(ctx, "nothing-like-this") == "(no matches for 'nothing-like-this')"


def test_grep_caps_matches_with_a_note(repo):
    (repo / "many.txt").write_text("hit\n" * 500)
    out = grep.fn(context(repo, settings=ToolSettings(grep_max_matches=10)), "hit", path="many.txt")
    lines = out.splitlines()
    assert lines[:10] == [f"many.txt:{i}: hit" for i in range(1, 11)]
    assert lines[10] == "[... 490 more of 500 matches in 1 file cut; narrow the pattern, path or glob]"


def test_grep_bad_regex_is_explained(ctx):
    with pytest.raises(ToolError, match=r"bad regex 'foo\(': missing \), unterminated subpattern at position 3"):
        grep.fn(ctx, "foo(")


def test_grep_does_not_follow_symlinks_out_of_the_workspace(ctx, repo, tmp_path):
    (tmp_path / "secret.txt").write_text("TODO secret\n")
    os.symlink(tmp_path / "secret.txt", repo / "leak.txt")
    assert "secret" not in grep.fn(ctx, "TODO")
    with pytest.raises(PathOutsideWorkspace):
        grep.fn(ctx, "TODO", path="leak.txt")


def test_ripgrep_output_parses_to_the_same_matches(repo):
    root = repo.resolve()
    records = [
        {"type": "begin", "data": {"path": {"text": str(root / "src/app.py")}}},
        {"type": "match", "data": {"path": {"text": str(root / "src/app.py")},
                                   "lines": {"text": "    return helper()  # TODO tidy\n"},
                                   "line_number": 4, "submatches": []}},
        {"type": "end", "data": {}},
    ]
    output = "\n".join(json.dumps(r) for r in records).encode()
    [match] = parse_rg_json(output, root)
    assert (match.path, match.line, match.text) == ("src/app.py", 4, "    return helper()  # TODO tidy")


def test_ignore_rules_and_globs():
    rules = IgnoreRules("# comment\n/top.txt\nbuild/\n*.pyc\n!keep.pyc\ndocs/**/draft*\n")
    assert rules.ignored("top.txt", False) is True
    assert rules.ignored("sub/top.txt", False) is None
    assert rules.ignored("a/build", True) is True and rules.ignored("a/build", False) is None
    assert rules.ignored("x/y.pyc", False) is True and rules.ignored("keep.pyc", False) is False
    assert rules.ignored("docs/a/b/draft1.md", False) is True
    assert glob_matcher("*.py")("a/b/c.py") and not glob_matcher("*.py")("a/b/c.pyc")
    assert glob_matcher("src/**/*.ts")("src/a/b.ts") and glob_matcher("src/**/*.ts")("src/b.ts")
    assert not glob_matcher("src/*.ts")("src/a/b.ts")


def test_workspace_files_without_git_on_path(repo, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    names = [p.relative_to(repo).as_posix() for p in workspace_files(repo)]
    assert "build/out.py" not in names and "debug.log" not in names and "keep.log" in names


def fake_rg(bin_dir, body):
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "rg"
    script.write_text(f"#!/bin/sh\necho \"$@\" > \"{bin_dir}/argv\"\n{body}\n")
    script.chmod(0o755)
    return bin_dir


def test_grep_uses_ripgrep_when_on_path_with_the_same_output(ctx, repo, tmp_path, monkeypatch):
    python_output = grep.fn(ctx, "TODO tidy")
    record = {"type": "match", "data": {"path": {"text": str(repo.resolve() / "src/app.py")},
                                        "lines": {"text": "    return helper()  # TODO tidy\n"},
                                        "line_number": 4}}
    (tmp_path / "rg.json").write_text(json.dumps(record) + "\n")
    bin_dir = fake_rg(tmp_path / "bin", f"cat {tmp_path / 'rg.json'}")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    assert grep.fn(ctx, "TODO tidy") == python_output == "src/app.py:4:     return helper()  # TODO tidy"
    argv = (bin_dir / "argv").read_text()
    assert "--json" in argv and "--hidden" in argv and "--regexp TODO tidy" in argv


def test_grep_falls_back_to_python_when_ripgrep_rejects_the_pattern(ctx, tmp_path, monkeypatch):
    bin_dir = fake_rg(tmp_path / "bin", "echo 'regex parse error' >&2; exit 2")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    assert grep.fn(ctx, r"# TODO") == "src/app.py:4:     return helper()  # TODO tidy"
    assert (bin_dir / "argv").exists()
