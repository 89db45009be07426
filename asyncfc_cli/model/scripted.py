"""The scripted model: offline, deterministic, honest about what it is.

A *scenario* (YAML or JSON data) lists what a model decides, step by step::

    name: fix_bug
    profile: {ttft_s: 0.5, tokens_per_s: 80}
    steps:
      - say: "I'll run the tests while I read the code."
      - call: shell
        as: tests                      # a label, so later steps can refer to this call
        args: {command: "python -m pytest -q"}
        duration: 4.0                  # only used when tools are simulated (tests, benchmark)
        result: "1 failed, 3 passed"
      - call: read_file
        as: src
        args: {path: calc.py}
      - need: [src]                    # the value is needed now
      - call: write_file
        args: {path: calc.py, content: "$src"}   # "$label" becomes "$fN" (a future reference)
      - answer: "Fixed."

``ScenarioPlayer`` holds the decision logic with no I/O, so the same scenario drives the scripted
client here and the fake HTTP servers in ``asyncfc_cli.testing``. It decides from what it was shown
exactly as a model must: at a ``need`` step it looks for the value in the conversation; if it only
has a placeholder it calls ``await_future`` (when offered) and ends its response; if await is not
offered (sync and serial modes) it ends the response and gets the values at the next turn.
``ScriptedClient`` streams the player's responses at the speed of a latency ``Profile``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import trio

from ..errors import ScenarioError
from .base import (
    AssistantMessage,
    Message,
    ResponseEnd,
    StreamItem,
    TextChunk,
    ToolCall,
    ToolCallReady,
    ToolMessage,
    Usage,
    UserMessage,
)

__all__ = [
    "Call",
    "PROFILES",
    "PlannedResponse",
    "Profile",
    "Say",
    "Scenario",
    "ScenarioPlayer",
    "ScriptedClient",
    "Step",
    "builtin_scenarios",
    "load_scenario",
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


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    description: str = ""
    profile: Profile = field(default_factory=Profile)

    def step_for_call_id(self, call_id: str) -> Step | None:
        """The call step a scripted call id came from (used by simulated tools)."""
        match = _CALL_ID.match(call_id)
        if not match:
            return None
        index = int(match.group(1))
        return self.steps[index] if index < len(self.steps) else None


_CALL_ID = re.compile(r"^call_(\d+)_")
_STEP_KEYS = {"say", "call", "need", "end", "answer"}


def _estimate_tokens(text: str) -> int:
    return max(1, round(len(text) / 4))


def _tokens(step: Step) -> int:
    return step.tokens if step.tokens is not None else _estimate_tokens(step.text)


def _parse_step(raw: Any, where: str) -> Step:
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
    )


def parse_scenario(data: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """Build a Scenario from loaded YAML/JSON data, checking labels are defined before use.

    Raises:
        ScenarioError: naming the step that is wrong.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
        raise ScenarioError(f"{source}: a scenario is a mapping with a 'steps' list")
    steps = tuple(_parse_step(raw, f"{source} step {i + 1}") for i, raw in enumerate(data["steps"]))
    labels: set[str] = set()
    for i, step in enumerate(steps):
        missing = [n for n in step.needs if n not in labels]
        if missing:
            raise ScenarioError(f"{source} step {i + 1}: needs undefined label(s) {missing}")
        if step.label:
            if step.label in labels:
                raise ScenarioError(f"{source} step {i + 1}: label {step.label!r} used twice")
            labels.add(step.label)
    raw_profile = data.get("profile") or {}
    try:
        profile = Profile(**raw_profile) if isinstance(raw_profile, Mapping) else PROFILES[raw_profile]
    except (TypeError, KeyError) as exc:
        raise ScenarioError(f"{source}: bad profile {raw_profile!r}: {exc}") from None
    return Scenario(str(data.get("name", source)), steps, str(data.get("description", "")), profile)


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


# --------------------------------------------------------------------------------------------------
# The decision logic (sans I/O)


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    tokens: int


@dataclass(frozen=True, slots=True)
class Call:
    call: ToolCall
    tokens: int


@dataclass(frozen=True, slots=True)
class PlannedResponse:
    segments: tuple[Say | Call, ...]

    @property
    def calls(self) -> list[ToolCall]:
        return [s.call for s in self.segments if isinstance(s, Call)]

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.segments)


_PLACEHOLDER = re.compile(r'^\{"future": "(f\d+)", "status": "(pending|running)"\}$')
_BLOCK = re.compile(r'<future id="(f\d+)" status="(done|failed|cancelled)">')


class _View:
    """What the conversation shows the model: per call id, a value or a placeholder's future id."""

    def __init__(self, messages: Sequence[Message]) -> None:
        self.calls_so_far = 0
        self.tool_content: dict[str, str] = {}
        self.finished_blocks: set[str] = set()
        for message in messages:
            if isinstance(message, AssistantMessage):
                self.calls_so_far += len(message.tool_calls)
            elif isinstance(message, ToolMessage):
                self.tool_content[message.call_id] = message.content
                self.finished_blocks.update(m for m, _ in _BLOCK.findall(message.content))
            elif isinstance(message, UserMessage):
                self.finished_blocks.update(m for m, _ in _BLOCK.findall(message.text))

    def has_value(self, call_id: str, fid: str) -> bool:
        """Whether the value of the call is in view: its own tool message, or a block for it
        (delivered, or carried by an await result)."""
        if fid in self.finished_blocks:
            return True
        content = self.tool_content.get(call_id)
        return content is not None and _PLACEHOLDER.match(content) is None


class ScenarioPlayer:
    """Plays a scenario one response at a time. See the module docstring."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._cursor = 0
        self._call_ids: dict[str, str] = {}
        self._future_ids: dict[str, str] = {}
        self._final = next((s.text for s in reversed(scenario.steps) if s.kind == "answer"), "Done.")

    @property
    def finished(self) -> bool:
        return self._cursor >= len(self.scenario.steps)

    def respond(self, messages: Sequence[Message], tool_names: Collection[str]) -> PlannedResponse:
        """The next response, given the conversation so far and the tools on offer.

        Raises:
            ScenarioError: the script needs a value it cannot get (it would loop forever).
        """
        view = _View(messages)
        segments: list[Say | Call] = []
        steps = self.scenario.steps
        while self._cursor < len(steps):
            step = steps[self._cursor]
            if step.kind == "say":
                segments.append(Say(step.text, _tokens(step)))
            elif step.kind == "call":
                segments.append(self._call(step, view.calls_so_far + len(_calls(segments))))
            elif step.kind == "need":
                missing = [
                    label for label in step.needs
                    if not view.has_value(self._call_ids[label], self._future_ids[label])
                ]
                if missing:
                    return self._wait_for(missing, segments, view, tool_names)
            elif step.kind == "end" and segments:
                self._cursor += 1
                return PlannedResponse(tuple(segments))
            elif step.kind == "answer":
                if any(isinstance(s, Call) for s in segments):
                    return PlannedResponse(tuple(segments))
                self._cursor += 1
                segments.append(Say(step.text, _tokens(step)))
                return PlannedResponse(tuple(segments))
            self._cursor += 1
        if segments:
            return PlannedResponse(tuple(segments))
        return PlannedResponse((Say(self._final, _estimate_tokens(self._final)),))

    def _call(self, step: Step, calls_before: int) -> Call:
        index = self._cursor
        call_id = f"call_{index}_{step.label or step.tool}"
        fid = f"f{calls_before + 1}"
        if step.label:
            self._call_ids[step.label] = call_id
            self._future_ids[step.label] = fid
        args = _resolve_labels(step.args, self._future_ids)
        arguments = step.raw_args if step.raw_args is not None else json.dumps(args)
        tokens = step.tokens if step.tokens is not None else _estimate_tokens(step.tool + arguments)
        return Call(ToolCall(call_id, step.tool, arguments), tokens)

    def _wait_for(
        self, missing: list[str], segments: list[Say | Call], view: _View, tool_names: Collection[str]
    ) -> PlannedResponse:
        if "await_future" in tool_names:
            ids = [self._future_ids[label] for label in missing]
            arguments = json.dumps({"ids": ids})
            calls_before = view.calls_so_far + len(_calls(segments))
            call = ToolCall(f"call_{self._cursor}_await{calls_before + 1}", "await_future", arguments)
            segments.append(Call(call, _estimate_tokens(arguments)))
            return PlannedResponse(tuple(segments))
        if segments:
            # Without await_future the values come with the next turn (sync and serial modes).
            return PlannedResponse(tuple(segments))
        raise ScenarioError(
            f"scenario {self.scenario.name!r}: step {self._cursor + 1} needs "
            f"{', '.join(missing)} but the conversation holds no value for it and await_future "
            "is not offered"
        )


def _calls(segments: Sequence[Say | Call]) -> list[Call]:
    return [s for s in segments if isinstance(s, Call)]


def _resolve_labels(value: Any, future_ids: Mapping[str, str]) -> Any:
    """``"$label"`` -> ``"$fN"`` for labels of earlier calls; other strings unchanged."""
    if isinstance(value, str) and value.startswith("$") and value[1:] in future_ids:
        return "$" + future_ids[value[1:]]
    if isinstance(value, Mapping):
        return {k: _resolve_labels(v, future_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_labels(v, future_ids) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# The client


def _chunks(text: str, tokens: int, tokens_per_piece: int = 4) -> list[tuple[str, int]]:
    """Split a say step into stream pieces of about four tokens each, text spread evenly over them
    (a step may declare more tokens than its text, to stand for longer reasoning)."""
    count = max(1, math.ceil(tokens / tokens_per_piece))
    size = max(1, math.ceil(len(text) / count))
    texts = [text[i:i + size] for i in range(0, len(text), size)] or [""]
    texts += [""] * (count - len(texts))
    base, extra = divmod(tokens, count)
    return [(t, base + (1 if i < extra else 0)) for i, t in enumerate(texts) if t or base or i < extra]


class ScriptedClient:
    """A ModelClient that plays a scenario at a latency profile, on trio's clock.

    Args:
        scenario: what to play.
        profile: decode speed; default the scenario's own.
    """

    scripted = True

    def __init__(self, scenario: Scenario, profile: Profile | None = None) -> None:
        self.scenario = scenario
        self.profile = profile or scenario.profile
        self.player = ScenarioPlayer(scenario)
        self.name = f"scripted:{scenario.name}"

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> AsyncIterator[StreamItem]:
        names = {t["function"]["name"] for t in tools}
        planned = self.player.respond(messages, names)
        await trio.sleep(self.profile.ttft_s)
        for segment in planned.segments:
            if isinstance(segment, Say):
                for piece, tokens in _chunks(segment.text, segment.tokens):
                    await trio.sleep(self.profile.decode_s(tokens))
                    if piece:
                        yield TextChunk(piece)
            else:
                await trio.sleep(self.profile.decode_s(segment.tokens))
                yield ToolCallReady(segment.call)
        prompt = sum(_estimate_tokens(_message_text(m)) for m in messages)
        reason = "tool_calls" if planned.calls else "stop"
        yield ResponseEnd(Usage(prompt, planned.tokens, 0.0), reason)


def _message_text(message: Message) -> str:
    if isinstance(message, AssistantMessage):
        return message.text + "".join(c.arguments for c in message.tool_calls)
    if isinstance(message, ToolMessage):
        return message.content
    return message.text
