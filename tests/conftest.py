"""Every test runs with its own state and config folders (``XDG_STATE_HOME``, ``XDG_CONFIG_HOME``):
sessions, transcripts, the trust store and allow rules a test writes never reach the user's own
folders, and no test sees another's sessions. A test that sets them itself wins (monkeypatch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncfc_cli.workspace import Workspace


@pytest.fixture(autouse=True)
def _own_state_and_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty folder (``tmp_path / "repo"``, not a git repository) as the workspace; a test
    module that needs another defines its own."""
    root = tmp_path / "repo"
    root.mkdir()
    return Workspace(root)
