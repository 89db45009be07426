"""Running git on a repository we do not trust: the one place that decides how.

A repository's own configuration (``.git/config``, files it includes, ``.gitattributes``) can make
git start programs: ``core.fsmonitor`` on nearly every command, hooks, clean/smudge filters on
``add`` and ``restore``, ``diff.external`` and textconv on diffs, ``gpg.program`` when a commit is
signed, ``core.sshCommand`` and credential helpers on the network. asyncfc's own git calls (file
listing, grep's fallback, the repository map, checkpoints and ``undo``) run through ``run_git``,
which shuts each of those off with command-line settings (``GIT_CONFIG_COUNT``), which beat every
config file, and filter drivers by the names the repository's config gives them (an empty
command disarms a driver; checked on git 2.39). ``core.worktree``
is overridden by naming the work tree explicitly, so a planted setting cannot point ``add`` or
``restore`` at another folder.

The environment is built from nothing, not from ours: a short allowlist (PATH, HOME, locale...),
so no provider key and none of the user's other variables reach git or anything it might start.
The system config is skipped (``GIT_CONFIG_NOSYSTEM``); the user's global config is the user's own
and still applies (core.excludesFile), under the same overrides.

This module stands on the hostile side of the trust boundary: everything under ``.git`` is input.
The tools call ``run_git``; checkpoints go through gitpython, configured once in
``asyncfc_cli.checkpoint`` to start every command with ``git_environment``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["GIT_SAFETY_SETTINGS", "GitMissing", "git_environment", "is_git_work_tree", "run_git",
           "work_tree_of"]

GIT_SAFETY_SETTINGS: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.editor", "false"),
    ("core.askPass", ""),
    ("core.sshCommand", "false"),
    ("core.attributesFile", "/dev/null"),
    ("core.alternateRefsCommand", ""),
    ("credential.helper", ""),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("gpg.program", "false"),
    ("protocol.allow", "never"),
    ("submodule.recurse", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
)
"""Settings every asyncfc git call runs with: no program named by a config file ever starts.
(``diff.external`` and textconv are refused per command: ``--no-ext-diff --no-textconv``.)"""

_KEPT_VARIABLES = ("PATH", "HOME", "USER", "LOGNAME", "TZ", "TMPDIR", "XDG_CONFIG_HOME", "SYSTEMROOT")
_FILTER_KEYS = ("clean", "smudge", "process")


class GitMissing(OSError):
    """The git program is not on PATH."""


def is_git_work_tree(root: Path) -> bool:
    """Whether ``root`` has its own ``.git`` (a folder, or a file naming one)."""
    return os.path.lexists(root / ".git")


def work_tree_of(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` with its own ``.git``, as git would find it."""
    folder = Path(os.path.realpath(folder))
    return next((f for f in (folder, *folder.parents) if is_git_work_tree(f)), None)


def _base_environment(root: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    env = os.environ if env is None else env
    clean = {name: env[name] for name in _KEPT_VARIABLES if name in env}
    clean.update({
        "LC_ALL": "C", "LANGUAGE": "C", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ATTR_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0", "GIT_DIR": str(root / ".git"), "GIT_WORK_TREE": str(root),
    })
    return clean


def _with_settings(env: dict[str, str], settings: Sequence[tuple[str, str]]) -> dict[str, str]:
    env = dict(env, GIT_CONFIG_COUNT=str(len(settings)))
    for number, (key, value) in enumerate(settings):
        env[f"GIT_CONFIG_KEY_{number}"] = key
        env[f"GIT_CONFIG_VALUE_{number}"] = value
    return env


def _filter_drivers(git: str, env: dict[str, str]) -> list[str]:
    """The filter drivers the repository's config (and files it includes) defines. ``git config``
    only reads files; it starts nothing."""
    done = subprocess.run([git, "config", "--null", "--name-only", "--get-regexp", r"^filter\."],
                          env=env, capture_output=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    names = set()
    for key in done.stdout.decode("utf-8", "surrogateescape").split("\0"):
        driver, _, leaf = key.removeprefix("filter.").rpartition(".")
        if driver and leaf in _FILTER_KEYS:
            names.add(driver)
    return sorted(names)


def _git_program() -> str:
    git = shutil.which("git")
    if git is None:
        raise GitMissing("the git program was not found on PATH")
    return git


def git_environment(root: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a git call on the work tree at ``root`` runs with (see the module docstring).

    Raises:
        GitMissing: git is not on PATH.
    """
    git = _git_program()
    root = Path(os.path.realpath(root))
    base = _with_settings(_base_environment(root, env), GIT_SAFETY_SETTINGS)
    disarmed = [(f"filter.{name}.{leaf}", value) for name in _filter_drivers(git, base)
                for leaf, value in (*((k, "") for k in _FILTER_KEYS), ("required", "false"))]
    return _with_settings(base, [*GIT_SAFETY_SETTINGS, *disarmed])


def run_git(
    root: Path,
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` on the work tree at ``root`` (from ``cwd``, default ``root``), safely.

    Output is bytes; the caller decodes and checks ``returncode``. ``extra_env`` adds variables
    such as ``GIT_INDEX_FILE``.

    Raises:
        GitMissing: git is not on PATH.
        OSError, subprocess.TimeoutExpired: git could not be started, or ran too long.
    """
    env = git_environment(root)
    env.update(extra_env or {})
    return subprocess.run([_git_program(), *args], cwd=cwd or root, env=env, capture_output=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)
