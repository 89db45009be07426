"""The trust store: which repositories' own config asyncfc applies in full."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from asyncfc_cli.errors import ConfigError
from asyncfc_cli.trust import is_trusted, trust, trust_store_path, trusted_roots, untrust


@pytest.fixture
def user_config(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".config" / "asyncfc" / "config.toml"


def test_nothing_is_trusted_until_the_user_says_so(tmp_path, user_config):
    repo = tmp_path / "repo"
    repo.mkdir()
    assert not is_trusted(repo, user_config=user_config)
    assert trusted_roots(user_config=user_config) == ()


def test_trust_and_untrust_round_trip_by_real_path(tmp_path, user_config):
    repo = tmp_path / "repo"
    repo.mkdir()
    link = tmp_path / "link"
    link.symlink_to(repo)
    assert trust(link, user_config=user_config) == repo.resolve()
    assert is_trusted(repo, user_config=user_config) and is_trusted(link, user_config=user_config)
    trust(repo, user_config=user_config)  # twice is fine
    assert trusted_roots(user_config=user_config) == (repo.resolve(),)
    assert untrust(repo, user_config=user_config) is True
    assert untrust(repo, user_config=user_config) is False
    assert not is_trusted(repo, user_config=user_config)


def test_a_trusted_folder_does_not_trust_what_is_below_it(tmp_path, user_config):
    (tmp_path / "src" / "project").mkdir(parents=True)
    trust(tmp_path / "src", user_config=user_config)
    assert not is_trusted(tmp_path / "src" / "project", user_config=user_config)


def test_the_store_is_owner_only_and_lives_beside_the_user_config(tmp_path, user_config):
    repo = tmp_path / 'we"ird\\ näme'
    repo.mkdir()
    trust(repo, user_config=user_config)
    store = trust_store_path(user_config)
    assert store.parent == user_config.parent
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    assert is_trusted(repo, user_config=user_config)  # quotes and backslashes survive


def test_a_broken_store_is_an_error_in_words(tmp_path, user_config):
    store = trust_store_path(user_config)
    store.parent.mkdir(parents=True)
    store.write_text("trusted = 3\n")
    with pytest.raises(ConfigError, match="list of folder paths"):
        is_trusted(tmp_path, user_config=user_config)
