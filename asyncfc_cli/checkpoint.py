"""Git checkpoints of the working tree, and undo.

A checkpoint is a commit of the whole working tree (tracked and untracked files, ignored files
left out) on a private ref, ``refs/asyncfc/checkpoints/<time>-<session>``. It is made through a
temporary index (``GIT_INDEX_FILE``), so HEAD, the real index and the working tree are never
touched, and it works in a repository with no commits.

``undo`` brings the working tree back to the latest checkpoint: files changed or deleted since
are restored, files created since are removed, everything else (including ignored files) is left
alone. The state it replaces is itself saved on ``refs/asyncfc/undone/...`` so nothing is lost.

gitpython is the adapter, configured once (``_safe_repo_type``): every git command it runs gets
the disarmed configuration and clean environment of ``asyncfc_tools._git``, so a planted
``.git/config`` (fsmonitor, hooks, filters, core.worktree) runs nothing during a checkpoint or
``undo``. gitpython errors are translated into CheckpointError / WorkspaceError here and nowhere
else.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncfc_tools._git import GitMissing, git_environment, work_tree_of

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


class _NotGit(Exception):
    pass


@contextlib.contextmanager
def _git_errors(action: str) -> Iterator[None]:
    """Translate gitpython's exceptions into ours (the one place that knows them)."""
    import git

    try:
        yield
    except git.exc.GitCommandNotFound:
        raise WorkspaceError(f"cannot {action}: the git program was not found on PATH") from None
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
        raise _NotGit() from None
    except git.exc.GitCommandError as exc:
        detail = (exc.stderr or str(exc)).strip().removeprefix("stderr:").strip(" '\n")
        raise CheckpointError(f"cannot {action}: git {exc.command[1] if len(exc.command) > 1 else ''} "
                              f"failed: {detail}") from None
    except git.exc.GitError as exc:
        raise CheckpointError(f"cannot {action}: {exc}") from None


@functools.cache
def _safe_repo_type() -> type:
    """gitpython's Repo, configured once so that every git command it runs (``repo.git.execute``,
    ``repo.commit``'s cat-file, all of them) is disarmed as ``asyncfc_tools._git`` says: fsmonitor,
    hooks, filters, gpg... off, the work tree named explicitly, and an environment built from an
    allowlist. gitpython always hands a command our whole environment (keys included) and can only
    add to it, so the command is started through ``env -i`` with the safe environment instead."""
    import git

    env_program = shutil.which("env") or "/usr/bin/env"

    class SafeGit(git.Git):
        work_tree: Path

        def execute(self, command: Any, *args: Any, env: Any = None, **kwargs: Any) -> Any:
            safe = git_environment(self.work_tree)
            safe.update(env or {})
            wrapped = [env_program, "-i", *(f"{k}={v}" for k, v in safe.items()), *command]
            try:
                return super().execute(wrapped, *args, **kwargs)
            except git.exc.GitCommandError as exc:
                exc.command = list(command)  # name git's own command in errors, not env's
                raise

    class SafeRepo(git.Repo):
        GitCommandWrapperType = SafeGit

    return SafeRepo


def _open(root: Path, action: str) -> Any:
    try:
        with _git_errors(action):
            work_tree = work_tree_of(root)  # found as git would, without gitpython's own search
            if work_tree is None:
                raise _NotGit()
            try:
                git_environment(work_tree)
            except GitMissing:
                raise WorkspaceError(f"cannot {action}: the git program was not found on PATH") from None
            repo = _safe_repo_type()(work_tree)
            repo.git.work_tree = work_tree
            if repo.bare:
                raise _NotGit()
            if Path(repo.working_tree_dir).resolve() != work_tree:
                raise CheckpointError(
                    f"cannot {action}: the repository's core.worktree points to "
                    f"{repo.working_tree_dir}, not {work_tree}; asyncfc does not follow it")
            return repo
    except _NotGit:
        raise WorkspaceError(
            f"{root} is not inside a git repository, so asyncfc keeps no checkpoints there and "
            f"cannot {action}. Files changed by a session there can only be restored by hand or "
            "from your own backups. To make sessions undoable, run `git init` in the project first."
        ) from None


def is_git_repository(root: Path) -> bool:
    """Whether ``root`` lies inside a (non-bare) git work tree."""
    try:
        _open(root, "check")
    except (WorkspaceError, CheckpointError):
        return False
    return True


def _head(repo: Any) -> str | None:
    try:
        return repo.head.commit.hexsha
    except ValueError:  # an unborn branch: no commits yet
        return None


def _snapshot_tree(repo: Any) -> str:
    """The tree object of the working tree as it is now (tracked + untracked, not ignored)."""
    with tempfile.TemporaryDirectory(prefix="asyncfc-index-") as scratch:
        index = Path(scratch) / "index"
        real_index = Path(repo.git_dir) / "index"
        if real_index.is_file():
            # Start from the real index: it knows tracked-but-ignored files and has stat data.
            shutil.copyfile(real_index, index)
        env = {"GIT_INDEX_FILE": str(index)}
        repo.git.execute(["git", "add", "--all", "--", "."], env=env)
        return repo.git.execute(["git", "write-tree"], env=env).strip()


def _commit(repo: Any, tree: str, parent: str | None, message: str) -> str:
    argv = ["git", "commit-tree", tree, "-m", message]
    if parent:
        argv += ["-p", parent]
    return repo.git.execute(argv, env=_IDENTITY).strip()


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1e6) % 1_000_000:06d}"


def create_checkpoint(root: Path, session_id: str) -> Checkpoint:
    """Snapshot the working tree of the repository holding ``root``.

    Raises:
        WorkspaceError: not a git repository, or git is missing.
        CheckpointError: git failed.
    """
    repo = _open(root, "record a checkpoint")
    with _git_errors("record a checkpoint"):
        head = _head(repo)
        tree = _snapshot_tree(repo)
        message = f"asyncfc checkpoint\n\nsession: {session_id}\nhead: {head or 'none'}\n"
        commit = _commit(repo, tree, head, message)
        ref = f"{CHECKPOINT_REFS}{_stamp()}-{_UNSAFE.sub('_', session_id) or 'session'}"
        repo.git.execute(["git", "update-ref", ref, commit])
    return Checkpoint(ref, commit, session_id, head)


def _read_checkpoint(repo: Any, ref: str, sha: str) -> Checkpoint:
    message = repo.commit(sha).message
    fields = dict(re.findall(r"^(session|head): (\S+)$", message, re.MULTILINE))
    head = fields.get("head")
    return Checkpoint(ref, sha, fields.get("session", ""), None if head in (None, "none") else head)


def list_checkpoints(root: Path) -> list[Checkpoint]:
    """The checkpoints of the repository holding ``root``, oldest first."""
    repo = _open(root, "list checkpoints")
    with _git_errors("list checkpoints"):
        lines = repo.git.execute(["git", "for-each-ref", "--format=%(refname) %(objectname)",
                                  CHECKPOINT_REFS]).splitlines()
        found = [_read_checkpoint(repo, *line.split(" ", 1)) for line in lines if line.strip()]
    return sorted(found, key=lambda cp: cp.ref)


def _changes(repo: Any, old: str, new: str) -> tuple[list[str], list[str]]:
    """(paths to restore, paths to delete) to go from tree ``new`` back to ``old``."""
    out = repo.git.execute(["git", "diff-tree", "-r", "-z", "--no-renames", "--no-ext-diff", "--no-textconv",
                            "--name-status", old, new])
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


def _restore(repo: Any, commit: str, paths: list[str]) -> None:
    if not paths:
        return
    with tempfile.TemporaryDirectory(prefix="asyncfc-undo-") as scratch:
        spec = Path(scratch) / "paths"
        spec.write_bytes(b"\0".join(p.encode("utf-8", "surrogateescape") for p in paths))
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_LITERAL_PATHSPECS": "1"}
        repo.git.execute(["git", "restore", f"--source={commit}", "--worktree",
                          f"--pathspec-from-file={spec}", "--pathspec-file-nul"], env=env)


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
    with _git_errors("undo"):
        current = _snapshot_tree(repo)
        # A session that changed nothing (it only ran tests, or its edits were refused) still
        # left a checkpoint: it has nothing to undo, so undo goes on to the one before it.
        while checkpoints and repo.commit(checkpoints[-1].commit).tree.hexsha == current:
            skipped.append(checkpoints.pop())
            repo.git.execute(["git", "update-ref", "-d", skipped[-1].ref])
    if not checkpoints:
        return None
    checkpoint = checkpoints[-1]
    with _git_errors("undo"):
        saved = _commit(repo, current, checkpoint.commit, f"asyncfc: tree before undo of {checkpoint.ref}\n")
        saved_ref = f"{UNDONE_REFS}{_stamp()}-{_UNSAFE.sub('_', checkpoint.session_id) or 'session'}"
        repo.git.execute(["git", "update-ref", saved_ref, saved])
        restore, delete = _changes(repo, checkpoint.commit, current)
        deleted = _remove_created(Path(repo.working_tree_dir), delete)
        _restore(repo, checkpoint.commit, restore)
        repo.git.execute(["git", "update-ref", "-d", checkpoint.ref])
        head = _head(repo)
    note = ""
    if head != checkpoint.head:
        note = (f"HEAD moved since the checkpoint ({(checkpoint.head or 'no commits')[:12]} -> "
                f"{(head or 'none')[:12]}); undo restored files only, commits were left as they are")
    return UndoReport(checkpoint, tuple(restore), tuple(deleted), saved_ref, note, tuple(skipped))
