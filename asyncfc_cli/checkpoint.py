"""Git checkpoints of the working tree, and undo.

A checkpoint is a commit of the whole working tree (tracked and untracked files, ignored files
left out) on a private ref, ``refs/asyncfc/checkpoints/<time>-<session>``. It is made through a
temporary index (``GIT_INDEX_FILE``), so HEAD, the real index and the working tree are never
touched, and it works in a repository with no commits.

``undo`` brings the working tree back to the latest checkpoint: files changed or deleted since
are restored, files created since are removed, everything else (including ignored files) is left
alone. The state it replaces is itself saved on ``refs/asyncfc/undone/...`` so nothing is lost.

Every git command runs through ``asyncfc_tools._git.run_git``: a clean environment (no provider
keys), and none of the programs a repository's config can name (fsmonitor, hooks, filters, gpg)
ever starts, so a planted ``.git/config`` cannot run code during a checkpoint or ``undo``. Its
failures are translated into CheckpointError / WorkspaceError here and nowhere else. (gitpython is
not used: it always hands git the whole environment, keys included.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from asyncfc_tools._git import GitMissing, run_git, work_tree_of

from .errors import CheckpointError, WorkspaceError

__all__ = ["CHECKPOINT_REFS", "Checkpoint", "UndoReport", "create_checkpoint", "is_git_repository",
           "list_checkpoints", "undo"]

CHECKPOINT_REFS = "refs/asyncfc/checkpoints/"
UNDONE_REFS = "refs/asyncfc/undone/"
_IDENTITY = {"GIT_AUTHOR_NAME": "asyncfc", "GIT_AUTHOR_EMAIL": "asyncfc@localhost",
             "GIT_COMMITTER_NAME": "asyncfc", "GIT_COMMITTER_EMAIL": "asyncfc@localhost"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A snapshot of the working tree on a private ref."""

    ref: str
    """The ref holding it, e.g. ``refs/asyncfc/checkpoints/20260101T120000.123456-s1``."""
    commit: str
    """The snapshot commit's sha."""
    session_id: str
    """The session that made it."""
    head: str | None
    """HEAD's sha when it was made (None in a repository with no commits)."""


@dataclass(frozen=True, slots=True)
class UndoReport:
    """What ``undo`` changed."""

    checkpoint: Checkpoint
    """The checkpoint the tree was brought back to."""
    restored: tuple[str, ...]
    """Files changed or deleted since the checkpoint, now back to their checkpoint content."""
    deleted: tuple[str, ...]
    """Files created since the checkpoint, now removed."""
    saved_ref: str
    """Where the tree as it was before the undo is kept (``git checkout <ref> -- <path>``)."""
    head_note: str = ""
    """Set when HEAD moved since the checkpoint: undo restores files, never commits."""
    skipped: tuple[Checkpoint, ...] = ()
    """Later checkpoints of sessions that changed nothing, used up on the way (newest first)."""

    @property
    def changed(self) -> bool:
        return bool(self.restored or self.deleted)


def _git(root: Path, action: str, args: list[str], extra_env: dict[str, str] | None = None) -> str:
    """Run git through the one safe adapter (``asyncfc_tools._git``: clean environment, hooks,
    fsmonitor and filters off) and translate its failures into ours: the one place that does."""
    try:
        done = run_git(root, args, extra_env=extra_env)
    except GitMissing:
        raise WorkspaceError(f"cannot {action}: the git program was not found on PATH") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CheckpointError(f"cannot {action}: git {args[0]} could not run: {exc}") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise CheckpointError(f"cannot {action}: git {args[0]} failed: {detail}")
    return done.stdout.decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class _Repo:
    work_tree: Path
    git_dir: Path


def _open(root: Path, action: str) -> _Repo:
    work_tree = work_tree_of(root)
    git_dir = None
    if work_tree is not None:
        try:
            git_dir = _git(work_tree, action, ["rev-parse", "--absolute-git-dir"]).strip()
        except CheckpointError:
            git_dir = None
    if work_tree is None or not git_dir:
        raise WorkspaceError(
            f"{root} is not inside a git repository, so asyncfc keeps no checkpoints there and "
            f"cannot {action}. Files changed by a session there can only be restored by hand or "
            "from your own backups. To make sessions undoable, run `git init` in the project first."
        )
    return _Repo(work_tree, Path(git_dir))


def is_git_repository(root: Path) -> bool:
    """Whether ``root`` lies inside a (non-bare) git work tree."""
    try:
        _open(root, "check")
    except (WorkspaceError, CheckpointError):
        return False
    return True


def _head(repo: _Repo) -> str | None:
    """HEAD's sha, or None on an unborn branch (no commits yet)."""
    done = run_git(repo.work_tree, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
    sha = done.stdout.decode().strip()
    return sha if done.returncode == 0 and sha else None


def _tree_of(repo: _Repo, commit: str, action: str) -> str:
    return _git(repo.work_tree, action, ["rev-parse", "--verify", f"{commit}^{{tree}}"]).strip()


def _snapshot_tree(repo: _Repo, action: str) -> str:
    """The tree object of the working tree as it is now (tracked + untracked, not ignored)."""
    with tempfile.TemporaryDirectory(prefix="asyncfc-index-") as scratch:
        index = Path(scratch) / "index"
        real_index = repo.git_dir / "index"
        if real_index.is_file():
            # Start from the real index: it knows tracked-but-ignored files and has stat data.
            shutil.copyfile(real_index, index)
        env = {"GIT_INDEX_FILE": str(index)}
        _git(repo.work_tree, action, ["add", "--all", "--", "."], env)
        return _git(repo.work_tree, action, ["write-tree"], env).strip()


def _commit(repo: _Repo, tree: str, parent: str | None, message: str, action: str) -> str:
    argv = ["commit-tree", "--no-gpg-sign", tree, "-m", message]
    if parent:
        argv += ["-p", parent]
    return _git(repo.work_tree, action, argv, _IDENTITY).strip()


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1e6) % 1_000_000:06d}"


def create_checkpoint(root: Path, session_id: str) -> Checkpoint:
    """Snapshot the working tree of the repository holding ``root``.

    Raises:
        WorkspaceError: not a git repository, or git is missing.
        CheckpointError: git failed.
    """
    action = "record a checkpoint"
    repo = _open(root, action)
    head = _head(repo)
    tree = _snapshot_tree(repo, action)
    message = f"asyncfc checkpoint\n\nsession: {session_id}\nhead: {head or 'none'}\n"
    commit = _commit(repo, tree, head, message, action)
    ref = f"{CHECKPOINT_REFS}{_stamp()}-{_UNSAFE.sub('_', session_id) or 'session'}"
    _git(repo.work_tree, action, ["update-ref", ref, commit])
    return Checkpoint(ref, commit, session_id, head)


def _read_checkpoint(repo: _Repo, ref: str, sha: str) -> Checkpoint:
    raw = _git(repo.work_tree, "list checkpoints", ["cat-file", "commit", sha])
    message = raw.partition("\n\n")[2]
    fields = dict(re.findall(r"^(session|head): (\S+)$", message, re.MULTILINE))
    head = fields.get("head")
    return Checkpoint(ref, sha, fields.get("session", ""), None if head in (None, "none") else head)


def list_checkpoints(root: Path) -> list[Checkpoint]:
    """The checkpoints of the repository holding ``root``, oldest first."""
    repo = _open(root, "list checkpoints")
    lines = _git(repo.work_tree, "list checkpoints", [
        "for-each-ref", "--format=%(refname) %(objectname)", CHECKPOINT_REFS]).splitlines()
    found = [_read_checkpoint(repo, *line.split(" ", 1)) for line in lines if line.strip()]
    return sorted(found, key=lambda cp: cp.ref)


def _changes(repo: _Repo, old: str, new: str) -> tuple[list[str], list[str]]:
    """(paths to restore, paths to delete) to go from tree ``new`` back to ``old``."""
    out = _git(repo.work_tree, "undo", ["diff-tree", "-r", "-z", "--no-renames", "--no-ext-diff",
                                        "--no-textconv", "--name-status", old, new])
    parts = [p for p in out.split("\0") if p]
    restore, delete = [], []
    for status, path in zip(parts[::2], parts[1::2]):
        (delete if status == "A" else restore).append(path)
    return restore, delete


def _remove_created(work_tree: Path, paths: list[str]) -> list[str]:
    removed = []
    for rel in paths:
        path = work_tree / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
            removed.append(rel)
        parent = path.parent
        while parent != work_tree and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return removed


def _restore(repo: _Repo, commit: str, paths: list[str]) -> None:
    if not paths:
        return
    with tempfile.TemporaryDirectory(prefix="asyncfc-undo-") as scratch:
        spec = Path(scratch) / "paths"
        spec.write_bytes(b"\0".join(p.encode("utf-8", "surrogateescape") for p in paths))
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_LITERAL_PATHSPECS": "1"}
        _git(repo.work_tree, "undo", ["restore", f"--source={commit}", "--worktree", "--no-recurse-submodules",
                                      f"--pathspec-from-file={spec}", "--pathspec-file-nul"], env)


def undo(root: Path) -> UndoReport | None:
    """Bring the working tree back to the latest checkpoint it differs from; None if there is none.

    Checkpoints whose tree equals the working tree (a session that changed nothing) are skipped
    and used up on the way, so undo always undoes the latest change.

    The checkpoint is used up (its ref removed), so a second undo goes one checkpoint further
    back. The replaced state is saved first on ``refs/asyncfc/undone/...``.

    Raises:
        WorkspaceError: not a git repository, or git is missing.
        CheckpointError: git failed.
    """
    repo = _open(root, "undo")
    checkpoints = list_checkpoints(root)
    skipped: list[Checkpoint] = []
    current = _snapshot_tree(repo, "undo")
    # A session that changed nothing (it only ran tests, or its edits were refused) still
    # left a checkpoint: it has nothing to undo, so undo goes on to the one before it.
    while checkpoints and _tree_of(repo, checkpoints[-1].commit, "undo") == current:
        skipped.append(checkpoints.pop())
        _git(repo.work_tree, "undo", ["update-ref", "-d", skipped[-1].ref])
    if not checkpoints:
        return None
    checkpoint = checkpoints[-1]
    saved = _commit(repo, current, checkpoint.commit, f"asyncfc: tree before undo of {checkpoint.ref}\n", "undo")
    saved_ref = f"{UNDONE_REFS}{_stamp()}-{_UNSAFE.sub('_', checkpoint.session_id) or 'session'}"
    _git(repo.work_tree, "undo", ["update-ref", saved_ref, saved])
    restore, delete = _changes(repo, checkpoint.commit, current)
    deleted = _remove_created(repo.work_tree, delete)
    _restore(repo, checkpoint.commit, restore)
    _git(repo.work_tree, "undo", ["update-ref", "-d", checkpoint.ref])
    head = _head(repo)
    note = ""
    if head != checkpoint.head:
        note = (f"HEAD moved since the checkpoint ({(checkpoint.head or 'no commits')[:12]} -> "
                f"{(head or 'none')[:12]}); undo restored files only, commits were left as they are")
    return UndoReport(checkpoint, tuple(restore), tuple(deleted), saved_ref, note, tuple(skipped))
