"""Scenarios: what a scripted model decides, as data (YAML or JSON), and latency profiles.

See ``scripted.py`` for the format and how a scenario is played.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ScenarioError

__all__ = [
    "PROFILES",
    "SCENARIO_SUFFIXES",
    "Profile",
    "Scenario",
    "Step",
    "builtin_scenarios",
    "estimate_tokens",
    "load_scenario",
    "parse_scenario",
    "scenario_label",
    "scenario_source",
    "scripted_model_name",
    "step_tokens",
]


@dataclass(frozen=True, slots=True)
class Profile:
    """How fast the simulated model decodes."""

    ttft_s: float = 0.5
    """Time to first token of every response."""
    tokens_per_s: float = 80.0
    """Decode speed; ``inf`` decodes instantly."""

    def decode_s(self, tokens: int) -> float:
        return 0.0 if math.isinf(self.tokens_per_s) else tokens / self.tokens_per_s


PROFILES: dict[str, Profile] = {
    "fast": Profile(0.5, 80.0),
    "slow": Profile(1.5, 15.0),
    "instant": Profile(0.0, math.inf),
}
"""Named latency profiles: a fast hosted model, a slow local one, and no latency at all."""


@dataclass(frozen=True, slots=True)
class Step:
    """One decision of the script."""

    kind: str
    """say, call, need, end or answer."""
    text: str = ""
    """say/answer: the text."""
    tokens: int | None = None
    """Decode cost in tokens (default: estimated from the text or the call)."""
    tool: str = ""
    args: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    """call: the name later steps use for it; need: unused."""
    needs: tuple[str, ...] = ()
    """need: the labels whose values are needed."""
    duration: float = 0.0
    """call: how long a simulated tool runs."""
    result: str = "ok"
    """call: what a simulated tool returns."""
    fails: bool = False
    """call: whether a simulated tool fails (with ``result`` as its error)."""
    raw_args: str | None = None
    """call: argument text sent as is instead of ``args`` (to script malformed JSON)."""
    agent: Scenario | None = None
    """call (of ``agent``): the script the sub-agent's own scripted model plays (key ``agent``, a
    scenario mapping whose profile defaults to its parent's)."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    description: str = ""
    profile: Profile = field(default_factory=Profile)
    workspace: Mapping[str, str] = field(default_factory=dict)
    """The repository the script is written for, as a line each of some files holds (path ->
    line). A script's claims are true only there, so with real tools it runs nowhere else."""
    summary: str | None = None
    """What the scripted model answers a summary request with (key ``summary``; "" answers
    nothing, to exercise the fallback); None: a summary of its own making (``ScenarioPlayer``)."""

    def foreign_to(self, root: Path) -> str | None:
        """Why ``root`` is not the repository this script is written for (None if it is, or if
        the script names none)."""
        for path, line in self.workspace.items():
            try:
                text = (root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                return f"it has no {path}"
            if line not in text:
                return f"its {path} is not the one the script expects"
        return None

    def step_for_call_id(self, call_id: str) -> Step | None:
        """The call step a scripted call id came from (used by simulated tools)."""
        match = _CALL_ID.match(call_id)
        if not match:
            return None
        index = int(match.group(1))
        return self.steps[index] if index < len(self.steps) else None


_CALL_ID = re.compile(r"^call_(\d+)_")
_STEP_KEYS = {"say", "call", "need", "end", "answer"}


def estimate_tokens(text: str) -> int:
    return max(1, round(len(text) / 4))


def step_tokens(step: Step) -> int:
    return step.tokens if step.tokens is not None else estimate_tokens(step.text)


def _parse_step(raw: Any, where: str, profile: Profile) -> Step:
    if raw in ("end", "end_response"):
        return Step("end")
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{where}: a step must be a mapping or 'end', got {raw!r}")
    kinds = _STEP_KEYS & set(raw)
    if len(kinds) != 1:
        raise ScenarioError(f"{where}: a step needs exactly one of {sorted(_STEP_KEYS)}, got {sorted(raw)}")
    kind = kinds.pop()
    tokens = raw.get("tokens")
    if kind in ("say", "answer"):
        return Step(kind, text=str(raw[kind]), tokens=tokens)
    if kind == "need":
        needs = raw["need"]
        needs = [needs] if isinstance(needs, str) else list(needs)
        return Step("need", needs=tuple(str(n) for n in needs))
    if kind == "end":
        return Step("end")
    args = raw.get("args", {})
    if not isinstance(args, Mapping):
        raise ScenarioError(f"{where}: args must be a mapping")
    return Step(
        "call", tool=str(raw["call"]), args=dict(args), label=str(raw.get("as", "")), tokens=tokens,
        duration=float(raw.get("duration", 0.0)), result=str(raw.get("result", "ok")),
        fails=bool(raw.get("fails", False)),
        raw_args=str(raw["raw_args"]) if "raw_args" in raw else None,
        agent=_parse_agent(raw["agent"], f"{where} agent", profile) if "agent" in raw else None,
    )


def _parse_agent(data: Any, source: str, profile: Profile) -> Scenario:
    """A sub-agent's script: a scenario of its own, at its parent's speed unless it says."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a sub-agent's script is a scenario mapping with 'steps'")
    return parse_scenario({"name": source, "profile": profile, **data}, source)


def parse_scenario(data: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """Build a Scenario from loaded YAML/JSON data, checking labels are defined before use.

    Raises:
        ScenarioError: naming the step that is wrong.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
        raise ScenarioError(f"{source}: a scenario is a mapping with a 'steps' list")
    profile = _parse_profile(data.get("profile") or {}, source)
    steps = tuple(_parse_step(raw, f"{source} step {i + 1}", profile) for i, raw in enumerate(data["steps"]))
    labels: set[str] = set()
    for i, step in enumerate(steps):
        missing = [n for n in step.needs if n not in labels]
        if missing:
            raise ScenarioError(f"{source} step {i + 1}: needs undefined label(s) {missing}")
        if step.label:
            if step.label in labels:
                raise ScenarioError(f"{source} step {i + 1}: label {step.label!r} used twice")
            labels.add(step.label)
    workspace = data.get("workspace") or {}
    if not isinstance(workspace, Mapping):
        raise ScenarioError(f"{source}: workspace must map file paths to a line each holds")
    summary = data.get("summary")
    return Scenario(str(data.get("name", source)), steps, str(data.get("description", "")), profile,
                    {str(k): str(v) for k, v in workspace.items()},
                    None if summary is None else str(summary))


def _parse_profile(raw: Any, source: str) -> Profile:
    if isinstance(raw, Profile):
        return raw
    try:
        return Profile(**raw) if isinstance(raw, Mapping) else PROFILES[raw]
    except (TypeError, KeyError) as exc:
        raise ScenarioError(f"{source}: bad profile {raw!r}: {exc}") from None


SCRIPTED_PREFIX = "scripted:"


SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
"""A model name ending in one of these is the path of a scenario file, never a provider's model."""


def scenario_source(model: str | None) -> str | None:
    """The scenario a model name stands for (``scripted:NAME``, or a scenario file's path), or
    None when it names a real model."""
    if not model:
        return None
    if model.startswith(SCRIPTED_PREFIX):
        return model[len(SCRIPTED_PREFIX):]
    if model.endswith(SCENARIO_SUFFIXES) and Path(model).is_file():
        return model
    return None


def scripted_model_name(source: str) -> str:
    """The model name a session records for the scenario ``source`` (what ``scenario_source``
    gave): a scenario file by its absolute path, so that the session can be resumed from any
    folder; a built-in one by its name."""
    if source.endswith(SCENARIO_SUFFIXES) and Path(source).is_file():
        return SCRIPTED_PREFIX + os.path.abspath(source)
    return SCRIPTED_PREFIX + source


def scenario_label(model: str) -> str:
    """How a scripted model's name is shown where room is short: a scenario file by its file
    name (``answer.yaml``), a built-in scenario by its name."""
    name = model.removeprefix(SCRIPTED_PREFIX)
    return os.path.basename(name) if name.endswith(SCENARIO_SUFFIXES) else name


def builtin_scenarios() -> list[str]:
    """Names of the scenarios that ship with asyncfc."""
    folder = resources.files("asyncfc_cli.model.scenarios")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name, or a .yaml/.json file by path.

    Raises:
        ScenarioError: no such scenario, or it is malformed.
    """
    import yaml

    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        resource = resources.files("asyncfc_cli.model.scenarios") / f"{name_or_path}.yaml"
        if not resource.is_file():
            raise ScenarioError(
                f"no scenario {str(name_or_path)!r}: give a .yaml/.json file or one of "
                f"{', '.join(builtin_scenarios())}"
            )
        text, source = resource.read_text(encoding="utf-8"), str(name_or_path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML/JSON: {exc}") from None
    return parse_scenario(data, source)
