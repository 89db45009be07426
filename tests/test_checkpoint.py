"""Checkpoints and undo in temporary git repositories, driven through the real tools."""

from __future__ import annotations

import os
import stat

import pytest
import trio

from asyncfc_cli.checkpoint import (create_checkpoint, is_git_repository,
                                    list_checkpoints, undo)
from asyncfc_cli.errors import WorkspaceError
from asyncfc_tools.files import edit_file, write_file
from asyncfc_tools.shell import shell
from tools_repo import context, git, make_repo, write_files


def tree_state(root):
    """Every file under root except .git: path -> (bytes, mode), symlinks as their target."""
    state = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                state[rel] = ("link", os.readlink(path))
            else:
                with open(path, "rb") as handle:
                    state[rel] = (handle.read(), stat.S_IMODE(os.stat(path).st_mode))
    return state


def git_state(root):
    """What a checkpoint must never touch: HEAD, the index, the branch."""
    return (git(root, "rev-parse", "--verify", "-q", "HEAD") if git(root, "log", "--oneline", "-1", "--all")
            else "", git(root, "ls-files", "-s"), git(root, "status", "--porcelain"))


@pytest.fixture
def repo(tmp_path):
    root = make_repo(tmp_path / "repo", {
        ".gitignore": "*.log\n",
        "src/app.py": "def main():\n    return 1\n",
        "README.md": "# readme\n",
        "run.sh": "echo hi\n",
    })
    (root / "run.sh").chmod(0o755)
    write_files(root, {"notes.txt": "untracked, mine\n", "debug.log": "ignored\n",
                       "staged.txt": "staged\n"})
    git(root, "add", "staged.txt")
    (root / "src/app.py").write_text("def main():\n    return 2  # uncommitted edit\n")
    return root


def test_checkpoint_leaves_head_index_and_tree_untouched(repo):
    before_tree, before_git = tree_state(repo), git_state(repo)
    checkpoint = create_checkpoint(repo, "s1")
    assert tree_state(repo) == before_tree and git_state(repo) == before_git
    assert checkpoint.ref.startswith("refs/asyncfc/checkpoints/") and checkpoint.ref.endswith("-s1")
    files = git(repo, "ls-tree", "-r", "--name-only", checkpoint.commit).split()
    assert sorted(files) == [".gitignore", "README.md", "notes.txt", "run.sh", "src/app.py", "staged.txt"]
    assert "uncommitted edit" in git(repo, "show", f"{checkpoint.commit}:src/app.py")
    assert list_checkpoints(repo) == [checkpoint]


@pytest.mark.trio
async def test_undo_after_write_edit_and_shell_changes_restores_exactly(repo):
    before = tree_state(repo)
    before_git = git_state(repo)
    create_checkpoint(repo, "s1")
    ctx = context(repo)
    write_file.fn(ctx, "README.md", "# rewritten\n")
    write_file.fn(ctx, "src/new_module.py", "x = 1\n")
    edit_file.fn(ctx, "src/app.py", "return 2", "return 3")
    await shell.fn(ctx, "rm run.sh notes.txt && mkdir -p gen/deep && echo out > gen/deep/file.txt"
                        " && ln -s README.md link.md && echo more >> debug.log")
    report = undo(repo)
    assert report is not None
    assert sorted(report.restored) == ["README.md", "notes.txt", "run.sh", "src/app.py"]
    assert sorted(report.deleted) == ["gen/deep/file.txt", "link.md", "src/new_module.py"]
    after = tree_state(repo)
    # Ignored files are not in checkpoints: undo leaves them as they are.
    assert after.pop("debug.log")[0] == b"ignored\nmore\n"
    before.pop("debug.log")
    assert after == before
    assert not (repo / "gen").exists()
    assert git_state(repo) == before_git
    assert report.head_note == ""
    # What undo replaced is kept.
    assert "x = 1" in git(repo, "show", f"{report.saved_ref}:src/new_module.py")


def test_untouched_untracked_files_survive_and_undo_is_used_up(repo):
    create_checkpoint(repo, "s1")
    (repo / "README.md").write_text("changed\n")
    report = undo(repo)
    assert report is not None and report.restored == ("README.md",) and report.deleted == ()
    assert (repo / "notes.txt").read_text() == "untracked, mine\n"
    assert undo(repo) is None


def test_undo_goes_back_to_the_latest_checkpoint(repo):
    create_checkpoint(repo, "s1")
    (repo / "README.md").write_text("session one\n")
    create_checkpoint(repo, "s2")
    (repo / "README.md").write_text("session two\n")
    undo(repo)
    assert (repo / "README.md").read_text() == "session one\n"
    undo(repo)
    assert (repo / "README.md").read_text() == "# readme\n"


def test_undo_skips_checkpoints_of_sessions_that_changed_nothing(repo):
    create_checkpoint(repo, "s1")
    (repo / "README.md").write_text("session one\n")
    create_checkpoint(repo, "s2")  # s2 only ran the tests
    create_checkpoint(repo, "s3")  # and so did s3
    report = undo(repo)
    assert report is not None and report.checkpoint.session_id == "s1" and report.restored == ("README.md",)
    assert [cp.session_id for cp in report.skipped] == ["s3", "s2"]
    assert (repo / "README.md").read_text() == "# readme\n" and list_checkpoints(repo) == []
    create_checkpoint(repo, "s4")
    assert undo(repo) is None and list_checkpoints(repo) == []


def test_repository_with_no_commits(tmp_path):
    root = make_repo(tmp_path / "fresh", commit=False)
    write_files(root, {"a.txt": "first\n"})
    checkpoint = create_checkpoint(root, "s1")
    assert checkpoint.head is None
    (root / "a.txt").write_text("second\n")
    (root / "b.txt").write_text("new\n")
    report = undo(root)
    assert report is not None and report.restored == ("a.txt",) and report.deleted == ("b.txt",)
    assert tree_state(root) == {"a.txt": (b"first\n", tree_state(root)["a.txt"][1])}
    assert git(root, "status", "--porcelain") == "?? a.txt\n"


def test_head_moving_is_reported(repo):
    create_checkpoint(repo, "s1")
    (repo / "README.md").write_text("committed by the session\n")
    git(repo, "commit", "-q", "-am", "session commit")
    report = undo(repo)
    assert report is not None and "HEAD moved since the checkpoint" in report.head_note


def test_outside_a_git_repository_says_what_it_can_and_cannot_do(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert not is_git_repository(plain)
    with pytest.raises(WorkspaceError, match="not inside a git repository.*cannot undo.*git init"):
        undo(plain)
    with pytest.raises(WorkspaceError, match="cannot record a checkpoint"):
        create_checkpoint(plain, "s1")


def test_nothing_to_undo(repo):
    assert undo(repo) is None


def test_runs_from_a_subfolder_of_the_repository(repo):
    create_checkpoint(repo / "src", "s1")
    (repo / "README.md").write_text("x\n")
    assert undo(repo / "src").restored == ("README.md",)


def test_works_under_trio_in_a_thread(repo):
    async def main():
        return await trio.to_thread.run_sync(create_checkpoint, repo, "s1")

    assert trio.run(main).session_id == "s1"


def test_undo_sees_a_change_written_in_the_same_second_as_the_index(tmp_path):
    """Racy git: a file rewritten (same size, same inode) in the same second as git last wrote its
    stat data matches that stat data, and git tells the change only because the index file is as
    new as the entry (then it compares content). The snapshot's temporary index must keep the real
    index's time for that; a copy stamped "now" made undo miss the change about once in three runs.
    Times are set here: ctime cannot be, so the repository does not trust it (a same-second write
    shares the ctime's second as well)."""
    root = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    git(root, "config", "core.trustctime", "false")
    written = (root / "a.txt").stat().st_mtime_ns
    os.utime(root / ".git" / "index", ns=(written, written))  # git wrote its index in that second
    create_checkpoint(root, "s1")
    (root / "a.txt").write_text("two\n")
    os.utime(root / "a.txt", ns=(written, written))
    report = undo(root)
    assert report is not None and report.restored == ("a.txt",)
    assert (root / "a.txt").read_text() == "one\n"
