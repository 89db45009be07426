"""Every test runs with its own state and config folders (``XDG_STATE_HOME``, ``XDG_CONFIG_HOME``):
sessions, transcripts, the trust store and allow rules a test writes never reach the user's own
folders, and no test sees another's sessions. A test that sets them itself wins (monkeypatch)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_state_and_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
