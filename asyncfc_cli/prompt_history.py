"""The prompts typed in the TUI, kept per repository, so ↑ in the next session finds them.

One JSON string a line in ``$XDG_STATE_HOME/asyncfc/history/<repository key>.jsonl`` (the key of
its sessions folder), owner-only, as transcripts are. Secrets (key-like environment variables'
values) are redacted before a prompt is written, as in every transcript. Reading keeps the last
``MAX_KEPT`` prompts and skips any line that is not a JSON string: the file is ours, but a line
cut by a crash must not cost the rest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .redaction import redact, secrets_in
from .transcript import open_private, sessions_dir, state_dir

__all__ = ["MAX_KEPT", "append_history", "history_path", "load_history"]

MAX_KEPT = 500
"""Prompts given back to ↑ at most."""
MAX_READ_BYTES = 1_000_000
"""Only the end of a bigger file is read."""


def history_path(root: Path) -> Path:
    """Where the prompts typed in the repository at ``root`` are kept."""
    return state_dir() / "history" / f"{sessions_dir(root).name}.jsonl"


def load_history(path: Path) -> list[str]:
    """The last ``MAX_KEPT`` prompts kept in ``path``, oldest first (none when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - MAX_READ_BYTES))
            data = handle.read()
    except OSError:
        return []
    prompts: list[str] = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, str) and value and (not prompts or prompts[-1] != value):
            prompts.append(value)
    return prompts[-MAX_KEPT:]


def append_history(path: Path, prompt: str) -> None:
    """Keep ``prompt`` (secrets redacted). A failure to write is not the person's problem: the
    prompt has been sent; only ↑ in a later session will miss it."""
    try:
        with open_private(path) as out:
            out.write(json.dumps(redact(prompt, secrets_in()), ensure_ascii=False) + "\n")
    except OSError:
        pass
