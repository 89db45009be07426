"""Git checkpoints of the working tree, and undo.

A checkpoint is a commit of the whole working tree (tracked and untracked files, ignored files
left out) on a private ref, ``refs/asyncfc/checkpoints/<time>-<session>``. It is made through a
temporary index (``GIT_INDEX_FILE``), so HEAD, the real index and the working tree are never
touched, and it works in a repository with no commits.

The checkpoint also keeps what the user had staged (the index, as a second parent), and when the
session ends ``record_end`` snapshots the tree, HEAD and index again on ``refs/asyncfc/ends/...``.

``undo`` takes back what the session did, and only that: the paths the session changed (between
the checkpoint and its end) are restored, the files it created are removed; a file the user created
or changed after the session is left alone. If the session committed (an agent's ``git add -A &&
git commit`` sweeps the user's staged and untracked work into its commit) and nothing was committed
since, the branch goes back to where it was and the index to what the user had staged, so their
work is theirs again, uncommitted, as before. Without a recorded end (a session that crashed) undo
falls back to the whole difference since the checkpoint. Ignored files are never touched. The
state undo replaces is itself saved on ``refs/asyncfc/undone/...`` (with the session's last commit
as a parent) so nothing is lost.

gitpython is the adapter, configured once (``_safe_repo_type``): every git command it runs gets
the disarmed configuration and clean environment of ``asyncfc_tools._git``, so a planted
``.git/config`` (fsmonitor, hooks, filters, core.worktree) runs nothing during a checkpoint or
``undo``. gitpython errors are translated into CheckpointError / WorkspaceError here and nowhere
else.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncfc_tools._env import find_program
from asyncfc_tools._git import GitMissing, git_environment, work_tree_of

from .errors import CheckpointError, WorkspaceError

__all__ = ["CHECKPOINT_REFS", "Checkpoint", "UndoReport", "create_checkpoint", "is_git_repository",
           "list_checkpoints", "record_end", "undo"]

CHECKPOINT_REFS = "refs/asyncfc/checkpoints/"
END_REFS = "refs/asyncfc/ends/"
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
    index: str | None = None
    """The tree of what the user had staged then (None: not recorded, or a merge in progress)."""


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
    git_restored: str = ""
    """Set when the session's commits or staging were taken back (the branch went back to the
    checkpoint's HEAD, the index to what the user had staged), in words."""

    @property
    def changed(self) -> bool:
        return bool(self.restored or self.deleted)


class _NotGit(Exception):
    pass


def _gitpython() -> Any:
    """The ``git`` module of gitpython, told which git to run before its import runs one (``git
    version``): found on PATH as ``find_program`` finds it, never through a relative PATH entry,
    which would name the work tree's own ``bin/git``."""
    if "GIT_PYTHON_GIT_EXECUTABLE" not in os.environ and (found := find_program("git")):
        os.environ["GIT_PYTHON_GIT_EXECUTABLE"] = found
    import git

    return git


@contextlib.contextmanager
def _git_errors(action: str) -> Iterator[None]:
    """Translate gitpython's exceptions into ours (the one place that knows them)."""
    git = _gitpython()

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
    _gitpython()  # before the import below: it tells gitpython which git to run
    import git

    env_program = find_program("env") or "/usr/bin/env"

    class SafeGit(git.Git):
        work_tree: Path
        safe_env: dict[str, str]
        """``git_environment(work_tree)``, built once when the repository is opened (building it
        runs git itself), for every command of that one operation."""

        def execute(self, command: Any, *args: Any, env: Any = None, **kwargs: Any) -> Any:
            safe = dict(self.safe_env)
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
                safe_env = git_environment(work_tree)
            except GitMissing:
                raise WorkspaceError(f"cannot {action}: the git program was not found on PATH") from None
            repo = _safe_repo_type()(work_tree)
            repo.git.work_tree, repo.git.safe_env = work_tree, safe_env
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


def _snapshot_tree(repo: Any, *, staged_only: bool = False) -> str:
    """The tree object of the working tree as it is now (tracked + untracked, not ignored), or with
    ``staged_only`` of the index as it is (what the user has staged). The real index is never
    written: both are made from a copy."""
    with tempfile.TemporaryDirectory(prefix="asyncfc-index-") as scratch:
        index = Path(scratch) / "index"
        real_index = Path(repo.git_dir) / "index"
        if real_index.is_file():
            # Start from the real index: it knows tracked-but-ignored files and has stat data. Its
            # time is kept (copy2): git rechecks by content an entry as new as the index file (a
            # file rewritten in the second its stat data was taken, "racy git"); a copy stamped
            # now would make such a change look unchanged, and undo miss it.
            shutil.copy2(real_index, index)
        env = {"GIT_INDEX_FILE": str(index)}
        if not staged_only:
            repo.git.execute(["git", "add", "--all", "--", "."], env=env)
        return repo.git.execute(["git", "write-tree"], env=env).strip()


def _staged_tree(repo: Any) -> str | None:
    """The tree of the index, or None when it cannot be written (a merge with conflicts)."""
    git = _gitpython()

    try:
        return _snapshot_tree(repo, staged_only=True)
    except git.exc.GitCommandError:
        return None


def _snapshot(repo: Any, session_id: str, what: str, parent: str | None) -> tuple[str, str | None, str | None]:
    """(commit, head, staged tree) of the working tree now: a commit of the tree whose parents are
    ``parent`` and a commit of the staged tree (so both stay reachable from the one ref)."""
    head = _head(repo)
    staged = _staged_tree(repo)
    tree = _snapshot_tree(repo)
    message = f"asyncfc {what}\n\nsession: {session_id}\nhead: {head or 'none'}\nindex: {staged or 'none'}\n"
    commit = _commit(repo, tree, parent, message,
                     extra_parent=_commit(repo, staged, None, "asyncfc: staged\n") if staged else None)
    return commit, head, staged


def _commit(repo: Any, tree: str, parent: str | None, message: str, *, extra_parent: str | None = None) -> str:
    argv = ["git", "commit-tree", tree, "-m", message]
    for sha in (parent, extra_parent):
        if sha:
            argv += ["-p", sha]
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
        commit, head, staged = _snapshot(repo, session_id, "checkpoint", _head(repo))
        ref = f"{CHECKPOINT_REFS}{_stamp()}-{_UNSAFE.sub('_', session_id) or 'session'}"
        repo.git.execute(["git", "update-ref", ref, commit])
    return Checkpoint(ref, commit, session_id, head, staged)


def _end_ref(checkpoint: Checkpoint) -> str:
    return END_REFS + checkpoint.ref.removeprefix(CHECKPOINT_REFS)


def record_end(root: Path, checkpoint: Checkpoint) -> None:
    """Snapshot the tree, HEAD and index at the end of the session that made ``checkpoint`` (again
    after each task: the last one counts), so undo can tell the session's changes from the user's.

    Raises:
        WorkspaceError: not a git repository, or git is missing.
        CheckpointError: git failed.
    """
    repo = _open(root, "record the end of the session")
    with _git_errors("record the end of the session"):
        commit, _, _ = _snapshot(repo, checkpoint.session_id, "end of session", _head(repo))
        repo.git.execute(["git", "update-ref", _end_ref(checkpoint), commit])


def _read_checkpoint(repo: Any, ref: str, sha: str) -> Checkpoint:
    message = repo.commit(sha).message
    fields = {k: (None if v == "none" else v)
              for k, v in re.findall(r"^(session|head|index): (\S+)$", message, re.MULTILINE)}
    return Checkpoint(ref, sha, fields.get("session") or "", fields.get("head"), fields.get("index"))


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
    restore: list[str] = []
    delete: list[str] = []
    for status, path in zip(parts[::2], parts[1::2]):
        (delete if status == "A" else restore).append(path)
    return restore, delete


def _remove_created(work_tree: Path, paths: list[str]) -> list[str]:
    """Delete the files the session created (and the folders they leave empty). The paths come
    from a recorded snapshot, so a folder on one may have become a symlink since: nothing is
    deleted through a folder that no longer lies inside the work tree."""
    root = work_tree.resolve()
    removed = []
    for rel in paths:
        path = work_tree / rel
        if not path.parent.resolve().is_relative_to(root):
            continue
        if path.is_symlink() or path.is_file():
            path.unlink()
            removed.append(rel)
        parent = path.parent
        while (parent != work_tree and parent.is_dir() and not parent.is_symlink()
               and not any(parent.iterdir())):
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


def _read_end(repo: Any, checkpoint: Checkpoint) -> Checkpoint | None:
    """The end-of-session snapshot of ``checkpoint``'s session, if it was recorded."""
    line = repo.git.execute(["git", "for-each-ref", "--format=%(refname) %(objectname)",
                             _end_ref(checkpoint)]).strip()
    return _read_checkpoint(repo, *line.split(" ", 1)) if line else None


def _tree(repo: Any, commit: str) -> str:
    return repo.commit(commit).tree.hexsha


def _changed_nothing(repo: Any, checkpoint: Checkpoint, end: Checkpoint | None, current: str) -> bool:
    """A session that changed nothing (it only ran tests, or its edits were refused)."""
    if end is not None:
        return _tree(repo, end.commit) == _tree(repo, checkpoint.commit) and end.head == checkpoint.head
    return _tree(repo, checkpoint.commit) == current


def _drop(repo: Any, checkpoint: Checkpoint) -> None:
    repo.git.execute(["git", "update-ref", "-d", checkpoint.ref])
    repo.git.execute(["git", "update-ref", "-d", _end_ref(checkpoint)])


def _restore_git_state(repo: Any, checkpoint: Checkpoint, end: Checkpoint | None) -> str:
    """Take back the session's commits and staging when nobody has committed since: the branch
    goes back to the checkpoint's HEAD and the index to what the user had staged. Returns what was
    done, in words ('' when nothing was)."""
    if end is None or checkpoint.index is None or _head(repo) != end.head:
        return ""
    if end.head != checkpoint.head:
        if checkpoint.head is None or end.head is None or not _is_ancestor(repo, checkpoint.head, end.head):
            return ""
        repo.git.execute(["git", "update-ref", "-m", "asyncfc undo: take back the session's commits",
                          "HEAD", checkpoint.head, end.head])
        repo.git.execute(["git", "read-tree", checkpoint.index])
        return (f"the session's commits were taken back: the branch is back at {checkpoint.head[:12]} "
                f"(it was at {end.head[:12]}) and what you had staged before the session is staged again")
    if end.index != checkpoint.index and _staged_tree(repo) == end.index:
        repo.git.execute(["git", "read-tree", checkpoint.index])
        return "what the session staged was unstaged: the index is as you had it before the session"
    return ""


def _is_ancestor(repo: Any, older: str, newer: str) -> bool:
    git = _gitpython()

    try:
        repo.git.execute(["git", "merge-base", "--is-ancestor", older, newer])
    except git.exc.GitCommandError:
        return False
    return True


def undo(root: Path) -> UndoReport | None:
    """Take back the latest session that changed something; None if there is none.

    Only the session's own changes are undone when its end was recorded (``record_end``): paths it
    changed are restored, files it created are removed, its commits and staging are taken back if
    nothing was committed since (see the module docstring); the user's later files stay. Without a
    recorded end, the whole difference since the checkpoint is undone. Checkpoints of sessions that
    changed nothing are skipped and used up on the way.

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
        while checkpoints and _changed_nothing(repo, checkpoints[-1], _read_end(repo, checkpoints[-1]), current):
            skipped.append(checkpoints.pop())
            _drop(repo, skipped[-1])
    if not checkpoints:
        return None
    checkpoint = checkpoints[-1]
    with _git_errors("undo"):
        end = _read_end(repo, checkpoint)
        kept_head = end.head if end is not None and end.head != checkpoint.head else None
        saved = _commit(repo, current, checkpoint.commit, f"asyncfc: tree before undo of {checkpoint.ref}\n",
                        extra_parent=kept_head)
        saved_ref = f"{UNDONE_REFS}{_stamp()}-{_UNSAFE.sub('_', checkpoint.session_id) or 'session'}"
        repo.git.execute(["git", "update-ref", saved_ref, saved])
        restore, delete = _changes(repo, checkpoint.commit, end.commit if end is not None else current)
        git_restored = _restore_git_state(repo, checkpoint, end)
        deleted = _remove_created(Path(repo.working_tree_dir), delete)
        _restore(repo, checkpoint.commit, restore)
        _drop(repo, checkpoint)
        head = _head(repo)
    note = ""
    if head != checkpoint.head:
        note = (f"HEAD moved since the checkpoint ({(checkpoint.head or 'no commits')[:12]} -> "
                f"{(head or 'none')[:12]}); undo restored files only, commits were left as they are")
    return UndoReport(checkpoint, tuple(restore), tuple(deleted), saved_ref, note, tuple(skipped),
                      git_restored)
