"""Small facts computed in one place (STYLE 13): the last line a command printed, and asyncfc's
state folder. A second copy drifts; these tests find one."""

from __future__ import annotations

import re
from pathlib import Path

from asyncfc_cli.futures import last_line
from asyncfc_cli.transcript import sessions_dir, state_dir

PACKAGE = Path(__file__).resolve().parent.parent / "asyncfc_cli"


def sources_matching(pattern: str) -> list[str]:
    return sorted(path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
                  if re.search(pattern, path.read_text(encoding="utf-8")))


def test_the_last_non_empty_line_is_computed_in_futures_only():
    assert last_line("compiling\n  step 2/3  \n\n   \n") == "step 2/3"
    assert last_line("\n \n") == ""
    assert sources_matching(r"reversed\([^)]*splitlines\(\)\) if \w+\.strip\(\)") == ["futures.py"]


def test_the_state_folder_is_computed_in_transcript_only(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert state_dir() == tmp_path / "asyncfc"
    assert sessions_dir(tmp_path / "repo").parent == tmp_path / "asyncfc" / "sessions"
    assert sources_matching(r"environ\.get\(\s*[\"']XDG_STATE_HOME|\.local[\"'/, ]+[\"']?state") == ["transcript.py"]
