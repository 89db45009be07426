"""One Settings object, from four sources in order: flags > env (ASYNCFC_*) > .asyncfc.toml > defaults.

The config file is looked for at the workspace root, then in the user's config folder
(``$XDG_CONFIG_HOME/asyncfc/config.toml``, default ``~/.config``). A key we do not know, or a value of
the wrong kind, is a ConfigError that names it.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

__all__ = ["MODES", "APPROVALS", "Settings", "load_settings", "user_config_path"]

MODES = ("async", "sync", "serial")
APPROVALS = ("read-only", "ask", "auto")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about a session."""

    model: str | None = None
    """litellm model name (``openai/gpt-4.1``), or ``scripted:NAME`` / a scenario file path."""
    api_base: str | None = None
    """Base URL of an OpenAI-compatible (or other provider's) endpoint."""
    mode: Literal["async", "sync", "serial"] = "async"
    """Futures protocol (async), or the sync/serial baselines."""
    approval: Literal["read-only", "ask", "auto"] | None = None
    """None: ``ask`` in the TUI, ``auto`` headless."""
    max_turns: int = 50
    """Most model requests one task may make."""
    max_cost: float | None = None
    """Most USD one task may spend (None: no limit)."""
    shell_timeout_s: float = 120.0
    """Default timeout of shell commands and test runs."""
    call_timeout_s: float = 900.0
    """Hard limit on any single tool call."""
    max_output_chars: int = 30_000
    """Cap on the text a tool result shows the model."""
    map_tokens: int = 1024
    """Token budget of the repository map in the system prompt (0 disables it)."""
    transcript: Path | None = None
    """Where to write the JSON-lines transcript (None: the sessions folder)."""
    early_wait: bool = True
    """Wait for futures predicted to finish before the next first token instead of handing out
    placeholders (see scheduler); off only for measurement."""

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_CHOICES: dict[str, tuple[str, ...]] = {"mode": MODES, "approval": APPROVALS}
_ENV_PREFIX = "ASYNCFC_"


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "asyncfc" / "config.toml"


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(Settings)}


def _convert(name: str, value: Any, source: str) -> Any:
    """Coerce a raw value (string from env, TOML value, flag) to the field's type, or explain."""
    kind = _field_types()[name]
    if value is None:
        return None
    try:
        if kind.startswith("int"):
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind.startswith("float"):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind.startswith("bool"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind.startswith("Path"):
            return Path(str(value)).expanduser()
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {name} = {value!r} is not a valid {kind.split()[0]}") from None
    text = str(value)
    if name in _CHOICES and text not in _CHOICES[name]:
        raise ConfigError(f"{source}: {name} = {text!r}; expected one of {', '.join(_CHOICES[name])}")
    return text


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    known = _field_types()
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{path}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")
        out[name] = _convert(name, value, str(path))
    return out


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    known = _field_types()
    out: dict[str, Any] = {}
    for var, value in env.items():
        if not var.startswith(_ENV_PREFIX) or var == "ASYNCFC_API_KEY":
            continue
        name = var[len(_ENV_PREFIX):].lower()
        if name in known:
            out[name] = _convert(name, value, var)
    return out


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    root: Path | None = None,
    env: Mapping[str, str] | None = None,
    user_config: Path | None = None,
) -> Settings:
    """Merge the sources into one Settings.

    Args:
        flags: values given on the command line; None values mean "not given".
        root: the workspace root whose ``.asyncfc.toml`` applies.
        env: the environment (default os.environ).
        user_config: the user-level config file (default ``user_config_path()``).

    Raises:
        ConfigError: an unknown key or a bad value, naming it and where it came from.
    """
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    for path in (user_config or user_config_path(), (root / ".asyncfc.toml") if root else None):
        if path is not None and path.is_file():
            merged.update(_from_toml(path))
    merged.update(_from_env(env))
    for name, value in (flags or {}).items():
        if value is not None:
            merged[name] = _convert(name, value, f"--{name.replace('_', '-')}")
    return Settings(**merged)
