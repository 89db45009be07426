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
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._env import absolute_path, find_program

__all__ = ["GIT_SAFETY_SETTINGS", "GitMissing", "git_environment", "is_git_work_tree", "command_git_variables",
           "run_git", "work_tree_of"]

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
    ("gpg.openpgp.program", "false"),
    ("gpg.ssh.program", "false"),
    ("gpg.x509.program", "false"),
    ("log.showSignature", "false"),
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
    if "PATH" in clean:  # git is found on it (``env -i ... git``): never in the work tree
        clean["PATH"] = absolute_path(clean["PATH"])
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


def _configured_keys(git: str, env: dict[str, str], pattern: str) -> list[str]:
    """The keys matching ``pattern`` that the repository's config (and files it includes, and the
    user's) sets. ``git config`` only reads files; it starts nothing."""
    done = subprocess.run([git, "config", "--null", "--name-only", "--get-regexp", pattern],
                          env=env, capture_output=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    return [key for key in done.stdout.decode("utf-8", "surrogateescape").split("\0") if key]


def _drivers(keys: list[str], section: str, leaves: Sequence[str]) -> list[str]:
    """The driver names of ``section.NAME.LEAF`` keys (``filter.lfs.clean`` -> ``lfs``)."""
    names = set()
    for key in keys:
        driver, _, leaf = key.removeprefix(f"{section}.").rpartition(".")
        if driver and leaf in leaves:
            names.add(driver)
    return sorted(names)


def _git_program() -> str:
    git = find_program("git")
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
    return _with_settings(base, [*GIT_SAFETY_SETTINGS, *_disarmed_filters(git, base)])


def _disarmed_filters(git: str, env: dict[str, str]) -> list[tuple[str, str]]:
    keys = _configured_keys(git, env, r"^filter\.")
    return [(f"filter.{name}.{leaf}", value) for name in _drivers(keys, "filter", _FILTER_KEYS)
            for leaf, value in (*((k, "") for k in _FILTER_KEYS), ("required", "false"))]


def command_git_variables(root: Path) -> dict[str, str]:
    """Variables for a command the model runs with git in a repository the user has not trusted
    (``git status``, ``git diff``, ``git commit``... under an approval or an allow rule that named
    the command, not what the repository's config makes git start): the same settings as asyncfc's
    own git calls, so the repository's config starts no program in it (fsmonitor, hooks, filters,
    pager, signing), and its diff drivers are disarmed too: a textconv shows the file as it is
    (``cat``), and an external diff fails in words instead of running (``false``; git has no
    setting that turns it off). Only ``GIT_CONFIG_*`` variables: the command keeps its own
    environment and may run git anywhere. Empty when git is missing.
    """
    try:
        git = _git_program()
    except GitMissing:
        return {}
    # The repository git finds from the workspace: its own, or one it sits in (a subfolder).
    root = work_tree_of(Path(root)) or Path(os.path.realpath(root))
    base = _with_settings(_base_environment(root, None), GIT_SAFETY_SETTINGS)
    diff_keys = _configured_keys(git, base, r"^diff\.")
    drivers = [(f"diff.{name}.textconv", "cat") for name in _drivers(diff_keys, "diff", ("textconv",))]
    drivers += [(f"diff.{name}.command", "false") for name in _drivers(diff_keys, "diff", ("command",))]
    if "diff.external" in diff_keys:
        drivers.append(("diff.external", "false"))
    settings = [*GIT_SAFETY_SETTINGS, *_disarmed_filters(git, base), *drivers]
    return _with_settings({}, settings)


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
