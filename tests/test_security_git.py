"""A hostile repository's git metadata: the file tools cannot reach ``.git``, and nothing a planted
``.git/config``, hook or filter names ever runs from asyncfc's own git calls (file listing, grep,
the repository map, checkpoints, ``undo``, and the next session)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asyncfc_cli.checkpoint import create_checkpoint, list_checkpoints, undo
from asyncfc_cli.cli import app
from asyncfc_cli.repomap_tags import source_files
from asyncfc_tools import PathOutsideWorkspace
from asyncfc_tools.files import edit_file, read_file, write_file
from asyncfc_tools.search import grep, list_files
from asyncfc_tools.shell import shell
from tools_repo import context, git, make_repo

HOOKS = ("pre-commit", "post-commit", "post-checkout", "reference-transaction", "post-index-change",
         "pre-auto-gc", "post-rewrite", "fsmonitor-watchman")


def plant(repo: Path, marks: Path) -> None:
    """What an attacker leaves in .git: an fsmonitor, filters and hooks that record they ran
    (with the environment they saw), and a work tree pointing elsewhere."""
    marks.mkdir()
    elsewhere = marks / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.txt").write_text("keep me\n")
    run = f"env > {marks}/$$-$(date +%s%N)"
    for key, value in (("core.fsmonitor", run), ("filter.evil.clean", f"{run}; cat"),
                       ("filter.evil.smudge", f"{run}; cat"), ("filter.evil.process", run),
                       ("filter.evil.required", "true"), ("diff.external", run),
                       ("core.worktree", str(elsewhere)), ("commit.gpgSign", "true"),
                       ("gpg.program", run)):
        git(repo, "config", key, value)
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n")
    for hook in HOOKS:
        path = repo / ".git" / "hooks" / hook
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"#!/bin/sh\n{run}\n")
        path.chmod(0o755)


def ran(marks: Path) -> list[str]:
    return sorted(p.name for p in marks.iterdir() if p.is_file())


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "repo", {"app.py": "def hello():\n    return 'hello'\n"})
    marks = tmp_path / "marks"
    plant(repo, marks)
    return repo, marks


def test_the_file_tools_refuse_git_metadata_in_every_spelling(tmp_path):
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "link").symlink_to(".git")
    (repo / "sub").mkdir()
    ctx = context(repo)
    attempts = [
        lambda: write_file.fn(ctx, ".git/config", "[core]\n\tfsmonitor = touch ../pwned\n"),
        lambda: write_file.fn(ctx, ".git/hooks/pre-commit", "#!/bin/sh\ntouch pwned\n"),
        lambda: write_file.fn(ctx, ".git", "gitdir: elsewhere\n"),
        lambda: write_file.fn(ctx, ".GIT/config", "x"),
        lambda: write_file.fn(ctx, "link/config", "x"),
        lambda: write_file.fn(ctx, str(repo / ".git" / "info" / "attributes"), "x"),
        lambda: write_file.fn(ctx, "sub/.git/config", "x"),
        lambda: edit_file.fn(ctx, ".git/HEAD", "ref", "ref"),
        lambda: read_file.fn(ctx, ".git/config"),
        lambda: list_files.fn(ctx, ".git"),
    ]
    before = (repo / ".git" / "config").read_text()
    for attempt in attempts:
        with pytest.raises(PathOutsideWorkspace, match=r"inside \.git"):
            attempt()
    assert (repo / ".git" / "config").read_text() == before
    assert not (repo / ".GIT").exists() and not (repo / "sub" / ".git").exists()


def test_nothing_planted_runs_from_listing_grep_map_checkpoint_or_undo(hostile):
    repo, marks = hostile
    ctx = context(repo)
    assert "app.py" in list_files.fn(ctx)
    assert "app.py:2" in grep.fn(ctx, "hello")
    assert "app.py" in source_files(repo)
    checkpoint = create_checkpoint(repo, "s1")
    (repo / "app.py").write_text("changed\n")
    (repo / "new.py").write_text("new\n")
    report = undo(repo)
    assert ran(marks) == []
    assert report is not None and report.checkpoint == checkpoint
    assert (repo / "app.py").read_text() == "def hello():\n    return 'hello'\n"
    assert not (repo / "new.py").exists()
    assert (marks / "elsewhere" / "victim.txt").read_text() == "keep me\n"  # core.worktree ignored
    assert list_checkpoints(repo) == []


@pytest.mark.trio
async def test_git_in_a_read_only_command_starts_nothing_the_repository_planted(hostile):
    """``git status``/``diff``/``log``/``show`` are judged read-only, so they run unordered beside
    reads, once approved: a planted fsmonitor, textconv, external diff or signature program must not
    ride on that approval. The diff still shows the change (textconv as ``cat``)."""
    repo, marks = hostile
    git(repo, "config", "diff.evil.textconv", f"env > {marks}/textconv; cat")
    git(repo, "config", "gpg.format", "ssh")
    git(repo, "config", "gpg.ssh.program", f"env > {marks}/ssh-sign")
    git(repo, "config", "log.showSignature", "true")
    git(repo, "config", "--unset", "diff.external")
    git(repo, "config", "--unset", "core.worktree")  # (a model's command may run git anywhere)
    (repo / "app.py").write_text("def hello():\n    return 'changed'\n")
    ctx = context(repo, shell_timeout_s=30.0)
    outputs = [await shell.fn(ctx, command) for command in
               ("git status --short", "git diff", "git log -p -1", "git show --stat HEAD")]
    assert ran(marks) == []
    assert "M app.py" in outputs[0]
    assert "+    return 'changed'" in outputs[1]
    git(repo, "config", "diff.external", f"env > {marks}/external")
    refused = await shell.fn(ctx, "git diff")
    assert ran(marks) == [] and "exit code 0" not in refused  # fails in words, runs nothing


@pytest.mark.trio
async def test_git_in_any_command_starts_nothing_planted_until_the_repository_is_trusted(hostile):
    """An approval or allow rule names a command line (``git log*``, ``git status`` with
    ``writes``), not what the repository's config makes git start: in an untrusted repository every
    git gets the safety settings; a trusted one runs the user's own hooks and drivers."""
    from asyncfc_tools import ToolSettings

    repo, marks = hostile
    git(repo, "config", "--unset", "core.worktree")
    git(repo, "config", "diff.external", f"env > {marks}/external")
    (repo / "app.py").write_text("def hello():\n    return 'changed'\n")
    ctx = context(repo, shell_timeout_s=30.0)
    for command, extra in (("git status --short", {"writes": []}), ("git log -1 -p --ext-diff", {}),
                           ("git diff --ext-diff; true", {}), ("git add app.py && git commit -qm x", {})):
        await shell.fn(ctx, command, **extra)
    assert ran(marks) == []
    trusted = context(repo, shell_timeout_s=30.0, settings=ToolSettings(repo_trusted=True))
    await shell.fn(trusted, "git status --short", writes=[])
    assert ran(marks) != []  # the user's trust: the repository's own fsmonitor runs


@pytest.mark.trio
async def test_a_workspace_inside_a_hostile_repository_disarms_that_repositorys_drivers(hostile):
    """A subfolder workspace: the ``git diff`` it runs finds the repository above it, whose config
    is the one to disarm."""
    repo, marks = hostile
    git(repo, "config", "diff.evil.textconv", f"env > {marks}/textconv; cat")
    git(repo, "config", "--unset", "diff.external")
    git(repo, "config", "--unset", "core.worktree")
    (repo / ".gitattributes").write_text("*.txt diff=evil\n")  # (the planted filter would stop add)
    (repo / "ws").mkdir()
    (repo / "ws" / "notes.txt").write_text("one\n")
    git(repo, "add", "ws/notes.txt")
    (repo / "ws" / "notes.txt").write_text("two\n")
    for mark in (marks / name for name in ran(marks)):
        mark.unlink()  # (what the set-up's own git ran)
    out = await shell.fn(context(repo / "ws", shell_timeout_s=30.0), "git diff")
    assert ran(marks) == [] and "+two" in out


SCENARIO = """
name: probe
steps:
  - call: list_files
    as: ls
    args: {path: "."}
  - call: grep
    as: found
    args: {pattern: hello}
  - need: [ls, found]
  - call: write_file
    as: written
    args: {path: notes.txt, content: "hi\\n"}
  - need: [written]
  - answer: "done"
"""


def test_nothing_planted_runs_in_a_whole_session_and_its_undo(hostile, tmp_path):
    repo, marks = hostile
    (tmp_path / "probe.yaml").write_text(SCENARIO)
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "OPENAI_API_KEY": "sk-should-never-reach-git-1234"}
    runner = CliRunner()
    result = runner.invoke(app, ["run", "probe", "--model", str(tmp_path / "probe.yaml"), "--cwd", str(repo),
                                 "--output", "jsonl"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert '"checkpoint_created"' in result.stdout and (repo / "notes.txt").exists()
    ends = subprocess.run(["git", "-C", str(repo), "for-each-ref", "refs/asyncfc/ends/"], capture_output=True,
                          text=True, check=True).stdout
    assert ends.strip()  # the end of the task was recorded too (in the background, before the exit)
    result = runner.invoke(app, ["undo", "--cwd", str(repo)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert not (repo / "notes.txt").exists()
    assert ran(marks) == []


def test_a_plain_git_call_would_have_run_them(hostile):
    """The planted files are live: the same listing through git as a user runs it sets them off,
    so the tests above pass because asyncfc disarms them, not because they are broken."""
    repo, marks = hostile
    subprocess.run(["git", "ls-files", "-co"], cwd=repo, capture_output=True, check=False)
    assert ran(marks)


def test_every_git_call_gets_a_clean_environment_and_the_disarmed_settings(hostile, tmp_path, monkeypatch):
    """A ``git`` first on PATH records the environment of every git process asyncfc starts."""
    import shutil

    repo, marks = hostile
    seen = tmp_path / "seen"
    seen.mkdir()
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nenv > "{seen}/$$"\nexec {shutil.which("git")} "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-in-git-env-42")
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", "touch pwned")
    ctx = context(repo)
    list_files.fn(ctx)
    source_files(repo)
    create_checkpoint(repo, "s1")
    (repo / "app.py").write_text("changed\n")
    undo(repo)
    environments = [p.read_text() for p in seen.iterdir()]
    assert len(environments) >= 8  # listing, map, and checkpoint and undo through gitpython
    for env in environments:
        assert "sk-never-in-git-env-42" not in env and "GIT_EXTERNAL_DIFF" not in env
        assert "GIT_CONFIG_NOSYSTEM=1" in env and "GIT_CONFIG_KEY_0=core.fsmonitor" in env
        assert f"GIT_WORK_TREE={repo.resolve()}" in env
    assert ran(marks) == []


def test_the_tuis_diff_command_runs_nothing_the_repository_planted(hostile):
    """/diff is the user's own git call; a planted fsmonitor or filter must not run from it."""
    from asyncfc_cli.tui.prompt_actions import _git_diff

    repo, marks = hostile
    (repo / "app.py").write_text("def hello():\n    return 'changed'\n")
    (repo / "new file.txt").write_text("new\n")
    diff = _git_diff(repo)
    assert "return 'changed'" in diff and "new file (untracked): new file.txt" in diff
    assert ran(marks) == []
