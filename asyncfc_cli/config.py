"""One Settings object, from four sources in order: flags > env (ASYNCFC_*) > .asyncfc.toml > defaults.

The config file is looked for at the workspace root (``.asyncfc.toml``), then in the user's config
folder (``$XDG_CONFIG_HOME/asyncfc/config.toml``, default ``~/.config``); the root's file wins where
both set a key. The root's file comes from the repository, so it is hostile until the user trusts
the repository (``trust.py``): untrusted, it may set only ``trust.SAFE_REPO_KEYS``; any other key
it sets is left out and named in ``Settings.ignored_repo_keys`` for the session to report. Keys are the Settings field names (``max_turns`` or ``max-turns``). A key we do not
know, or a value of the wrong kind or out of range, is a ConfigError that names it and its source.
Environment variables are ``ASYNCFC_`` + the upper-cased field name (``ASYNCFC_MAX_TURNS=20``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError

if TYPE_CHECKING:
    from .trust import TrustState

__all__ = ["MODES", "Mode", "ModeRules", "APPROVALS", "Approval", "SANDBOXES", "Settings", "endpoint_keys", "load_settings", "paired_key_variable", "user_config_path"]

@dataclass(frozen=True, slots=True)
class ModeRules:
    """What a mode means to a session: every rule that differs between the modes, in one record."""

    futures: bool
    """The futures protocol: the model is taught it (``prompts/futures.md``), may get placeholders,
    and is offered ``await_future`` and ``cancel_future``."""
    dispatch: Literal["stream", "end"]
    """When a call starts unless ``Settings.dispatch`` says: the moment its arguments are complete
    in the stream, or when the response ends (what conventional agents do)."""
    serial: bool
    """One call at a time in issue order: each call waits for every earlier unfinished one."""
    turn_waits_for_calls: bool
    """A turn ends only when every call of its response has settled, so each tool message holds
    a value and the model never sees a placeholder."""


class Mode(StrEnum):
    """How a session runs tool calls: the futures protocol, or a baseline it is measured against.
    A member is its own text (``Mode.ASYNC == "async"``), so events and transcripts spell it so."""

    ASYNC = "async"
    """Futures: calls start mid-stream and the model goes on while they run."""
    SYNC = "sync"
    """A conventional agent: a response's calls run together, and the turn waits for them all."""
    SERIAL = "serial"
    """The most conventional agent: a response's calls run one at a time, the turn waits."""

    @property
    def rules(self) -> ModeRules:
        return _MODE_RULES[self]


_MODE_RULES = {
    Mode.ASYNC: ModeRules(futures=True, dispatch="stream", serial=False, turn_waits_for_calls=False),
    Mode.SYNC: ModeRules(futures=False, dispatch="end", serial=False, turn_waits_for_calls=True),
    Mode.SERIAL: ModeRules(futures=False, dispatch="end", serial=True, turn_waits_for_calls=True),
}
MODES: tuple[Mode, ...] = tuple(Mode)
DEFAULT_MAX_OUTPUT_TOKENS = 8192
"""Output limit per model request unless configured (lowered to a model's own maximum)."""
DEFAULT_STALL_TIMEOUT_S = 180.0
"""Longest silence of a model's stream before it counts as stalled and is retried."""


class Approval(StrEnum):
    """When a person is asked before a call that changes something or runs a command
    (``approval.ApprovalGate``). A member is its own text, as with ``Mode``."""

    READ_ONLY = "read-only"
    """Reads only: every such call is refused."""
    ASK = "ask"
    """A person decides on each one (the TUI), unless an allow rule lets it through."""
    AUTO = "auto"
    """All run without asking (inside the sandbox where there is one)."""


APPROVALS: tuple[Approval, ...] = tuple(Approval)
SANDBOXES = ("auto", "on", "off")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about a session."""

    model: str | None = None
    """litellm model name (``openai/gpt-4.1``), or ``scripted:NAME`` / a scenario file path."""
    api_base: str | None = None
    """Base URL of an OpenAI-compatible (or other provider's) endpoint."""
    mode: Mode = Mode.ASYNC
    """Futures protocol (async), or the sync/serial baselines (text is turned into a ``Mode``)."""
    approval: Approval | None = None
    """None: ``ask`` in the TUI, ``auto`` headless (text is turned into an ``Approval``)."""
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
    context_tokens: int | None = None
    """The model's context window in tokens (None: ask litellm, else assume 128k). Set it for
    local or proxied models litellm does not know."""
    transcript: Path | None = None
    """Where to write the JSON-lines transcript (None: the sessions folder)."""
    early_wait: bool = True
    """Wait for futures predicted to finish before the next first token instead of handing out
    placeholders (see scheduler); off only for measurement."""
    dispatch: Literal["stream", "end"] | None = None
    """When a tool call starts: the moment its arguments are complete in the stream, or when the
    response ends (what conventional agents do). None: stream in async mode, end in sync and
    serial, so the baselines are the conventional agents they stand for."""
    subagent_model: str | None = None
    """The model sub-agents (``agent`` calls) run on (None: the session's own)."""
    subagent_max_turns: int = 20
    """Most model requests one sub-agent may make."""
    subagent_max_cost: float | None = None
    """Most USD one sub-agent may spend (None: the task's own limit; its spending counts there too)."""
    web_allow_local: bool = False
    """Let ``web_fetch`` reach loopback, private, link-local and metadata addresses (off: only
    the public internet)."""
    sandbox: Literal["auto", "on", "off"] = "auto"
    """The OS sandbox for shell commands and test runs (bubblewrap, Linux): auto where it works,
    on (refuse commands where it cannot run), off. See ``asyncfc_tools._sandbox``."""
    network: bool = False
    """Let sandboxed commands reach the network (by default they share one loopback only)."""

    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    """The output limit sent with every model request (``max_tokens``), lowered to the model's own
    maximum when litellm knows it. A reply cut by it is continued, twice at most."""
    stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S
    """A model stream that sends nothing for this long counts as stalled: it is abandoned and
    retried (``request_retry``). Raise it for slow local models with long prompts."""
    ignored_repo_keys: tuple[str, ...] = field(default=(), metadata={"config": False})
    """Keys the untrusted repository's ``.asyncfc.toml`` set and that were not applied (not a
    setting itself: the session reports them, see ``trust.untrusted_notice``)."""
    repo_trusted: bool = field(default=False, metadata={"config": False})
    """Whether the user trusts the workspace's repository (the trust store or ``--trust-repo``; not
    a setting itself). Untrusted, git in the model's commands starts nothing its config names."""
    repo_trust_notice: str = field(default="", metadata={"config": False})
    """Why a repository in the trust store is not trusted this session (its settings files changed
    since it was trusted: ``trust.TrustState.notice``); empty otherwise. Not a setting either."""

    def __post_init__(self) -> None:
        if not isinstance(self.mode, Mode):
            try:
                object.__setattr__(self, "mode", Mode(self.mode))
            except ValueError:
                raise ConfigError(f"mode {self.mode!r}; expected one of {', '.join(MODES)}") from None
        if self.approval is not None and not isinstance(self.approval, Approval):
            try:
                object.__setattr__(self, "approval", Approval(self.approval))
            except ValueError:
                raise ConfigError(f"approval {self.approval!r}; expected one of "
                                  f"{', '.join(APPROVALS)}") from None

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_CHOICES: dict[str, tuple[str, ...]] = {
    "mode": MODES, "approval": APPROVALS, "dispatch": ("stream", "end"), "sandbox": SANDBOXES,
}
_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "max_turns": (lambda v: v >= 1, "at least 1"),
    "max_cost": (lambda v: v > 0, "more than 0"),
    "shell_timeout_s": (lambda v: v > 0, "more than 0"),
    "call_timeout_s": (lambda v: v > 0, "more than 0"),
    "max_output_chars": (lambda v: v >= 100, "at least 100"),
    "map_tokens": (lambda v: v >= 0, "0 or more"),
    "context_tokens": (lambda v: v >= 1024, "at least 1024"),
    "subagent_max_turns": (lambda v: v >= 1, "at least 1"),
    "subagent_max_cost": (lambda v: v > 0, "more than 0"),
    "max_output_tokens": (lambda v: v >= 16, "at least 16"),
    "stall_timeout_s": (lambda v: v > 0 and math.isfinite(v), "a finite number of seconds, more than 0"),
}
_ENV_PREFIX = "ASYNCFC_"


def user_config_path() -> Path:
    """The user-level config file: ``$XDG_CONFIG_HOME/asyncfc/config.toml`` (default ~/.config)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "asyncfc" / "config.toml"


@cache
def _field_kinds() -> dict[str, type]:
    """Each field's base type (``int`` for ``int | None``, ``str`` for a Literal)."""
    kinds: dict[str, type] = {}
    settable = {f.name for f in dataclasses.fields(Settings) if f.metadata.get("config", True)}
    for name, hint in typing.get_type_hints(Settings).items():
        if name not in settable:
            continue
        if typing.get_origin(hint) is not Literal:
            hint = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
        kinds[name] = str if typing.get_origin(hint) is Literal else hint
    return kinds


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
    raise ValueError


def _parse_number(kind: type, value: Any) -> int | float:
    # bool is an int subclass, and a float silently cut to an int hides a mistake: refuse both.
    if isinstance(value, bool) or (kind is int and isinstance(value, float)):
        raise ValueError
    if not isinstance(value, (int, float, str)):
        raise ValueError
    return kind(value)


def _convert(name: str, value: Any, source: str, base: Path | None = None) -> Any:
    """Coerce a raw value (string from env, TOML value, flag) to the field's type, or explain.

    ``base`` is the folder a relative path in a config file is relative to.
    """
    if value is None:
        return None
    kind = _field_kinds()[name]
    try:
        if kind is bool:
            return _parse_bool(value)
        if kind in (int, float):
            number = _parse_number(kind, value)
        elif kind is Path:
            if not isinstance(value, (str, os.PathLike)):
                raise ValueError
            path = Path(value).expanduser()
            return base / path if base is not None and not path.is_absolute() else path
        elif not isinstance(value, str):
            raise ValueError
        else:
            return _check_choice(name, value, source)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {name} = {value!r} is not a valid {kind.__name__}") from None
    check, wanted = _RANGES.get(name, (lambda v: True, ""))
    if not check(number):
        raise ConfigError(f"{source}: {name} = {value!r} is out of range; it must be {wanted}")
    return number


def _check_choice(name: str, text: str, source: str) -> str:
    if name in _CHOICES and text not in _CHOICES[name]:
        raise ConfigError(f"{source}: {name} = {text!r}; expected one of {', '.join(_CHOICES[name])}")
    return text


def _read_toml(path: Path, data: bytes | None = None) -> dict[str, Any]:
    """The file at ``path`` as a table; ``data``, when given, is its content already read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8") if data is None else data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


_USER_ONLY_TABLES = ("endpoints", "mcp_servers")
"""Tables only the user's own config file may hold (read by their own readers, not Settings)."""


def _from_toml(path: Path, *, user_file: bool = False, content: bytes | None = None) -> dict[str, Any]:
    data = _read_toml(path, content)
    known = _field_kinds()
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _USER_ONLY_TABLES:
            if user_file:
                continue
            raise ConfigError(f"{path}: [{key}] may be set only in your user config "
                              f"({user_config_path()}), never by a repository")
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{path}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")
        out[name] = _convert(name, value, str(path), base=path.parent)
    return out


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    # Unknown ASYNCFC_* variables are ignored: the prefix is shared (ASYNCFC_API_KEY, tooling).
    known = _field_kinds()
    out: dict[str, Any] = {}
    for var, value in env.items():
        if not var.startswith(_ENV_PREFIX):
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
    trusted: bool | None = None,
) -> Settings:
    """Merge the sources into one Settings.

    Args:
        flags: values given on the command line; None values mean "not given".
        root: the workspace root whose ``.asyncfc.toml`` applies.
        env: the environment (default os.environ).
        user_config: the user-level config file (default ``user_config_path()``); the trust store
            lives beside it.
        trusted: whether the repository at ``root`` is trusted; None looks it up in the trust
            store. True for one session is what ``--trust-repo`` passes.

    Raises:
        ConfigError: an unknown key or a bad value, naming it and where it came from.
    """
    env = os.environ if env is None else env
    user_config = user_config or user_config_path()
    merged: dict[str, Any] = {}
    if user_config.is_file():
        merged.update(_from_toml(user_config, user_file=True))
    state = None
    if root is not None and trusted is None:
        from .trust import trust_state

        state = trust_state(root, user_config=user_config)  # once: the store read, the files hashed
    repo_file = (root / ".asyncfc.toml") if root else None
    if repo_file is not None and repo_file.is_file():
        merged.update(_repo_settings(repo_file, trusted, state, below=merged))
    merged.update(_from_env(env))
    if root is not None:
        merged["repo_trusted"] = trusted if state is None else state.trusted
    known = _field_kinds()
    for name, value in (flags or {}).items():
        if name not in known:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            merged[name] = _convert(name, value, f"--{name.replace('_', '-')}")
    return Settings(**merged)


_GROWTH_KEYS = ("max_turns", "map_tokens", "context_tokens", "max_output_chars")
"""Settings that bound how much a task sends and spends: an untrusted repository may lower them,
never raise them above what the user's config (or the default) says."""


def _repo_settings(path: Path, trusted: bool | None, state: TrustState | None,
                   below: Mapping[str, Any]) -> dict[str, Any]:
    """The repository file's settings: all of them when trusted (``trusted``, else the trust
    store's ``state``), else the safe ones (the growth keys only as far as ``below``, the settings
    so far, or the defaults allow) plus ``ignored_repo_keys`` naming the rest (checked all the
    same, so a typo is still reported)."""
    from .trust import SAFE_REPO_KEYS

    stale = ""
    if state is not None:
        trusted, stale = state.trusted, state.notice
        if trusted:  # what was checked against the pins is what applies, not a later read
            verified = state.contents.get(path.name)
            return {} if verified is None else _from_toml(path, content=verified)
    values = _from_toml(path)
    if trusted:
        return values
    ignored = tuple(sorted(k for k in values if k not in SAFE_REPO_KEYS))
    safe = {k: v for k, v in values.items() if k in SAFE_REPO_KEYS}
    defaults = Settings()
    for key in _GROWTH_KEYS:
        limit = below.get(key, getattr(defaults, key))
        if key in safe and limit is not None:
            safe[key] = min(safe[key], limit)
    return {**safe, **({"ignored_repo_keys": ignored} if ignored else {}),
            **({"repo_trust_notice": stale} if stale else {})}


def paired_key_variable(api_base: str | None, *, user_config: Path | None = None,
                        pairings: Mapping[str, str] | None = None) -> str | None:
    """The environment variable whose key the user paired with ``api_base`` in their own config::

        [endpoints."https://llm.example.com/v1"]
        api_key_env = "EXAMPLE_API_KEY"

    Only the user config is read: a repository can name an endpoint (once trusted) but never
    choose which of the user's keys goes there. Trailing slashes and case of the URL do not matter.
    ``pairings``: ``endpoint_keys()`` when the caller has read them already.

    Raises:
        ConfigError: the table is malformed.
    """
    if not api_base:
        return None
    if pairings is None:
        pairings = endpoint_keys(user_config=user_config)
    return pairings.get(_endpoint(api_base))


def endpoint_keys(*, user_config: Path | None = None) -> dict[str, str]:
    """Every pairing in the user's ``[endpoints]`` table: the endpoint (as ``_endpoint`` writes
    it) -> the variable holding its key. Each such variable holds a key whatever its name, so
    commands never get it and its value is redacted (``app.build_engine``), also when the session
    only later switches to its endpoint.

    Raises:
        ConfigError: the table is malformed.
    """
    path = user_config or user_config_path()
    if not path.is_file():
        return {}
    endpoints = _read_toml(path).get("endpoints", {})
    if not isinstance(endpoints, dict):
        raise ConfigError(f"{path}: [endpoints] must be a table of URL = {{ api_key_env = ... }}")
    pairs: dict[str, str] = {}
    for url, entry in endpoints.items():
        variable = entry.get("api_key_env") if isinstance(entry, dict) else None
        if not isinstance(variable, str) or not variable:
            raise ConfigError(f'{path}: [endpoints."{url}"] needs api_key_env = "NAME_OF_THE_VARIABLE"')
        pairs.setdefault(_endpoint(url), variable)
    return pairs


def _endpoint(url: str) -> str:
    return url.strip().rstrip("/").lower()
