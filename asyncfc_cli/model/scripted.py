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
    summary: "Fixing calc.py: tests run, the fix is written."   # optional, see below

``ScenarioPlayer`` holds the decision logic with no I/O, so the same scenario drives the scripted
client here and the fake HTTP servers in ``asyncfc_cli.testing``. It decides from what it was shown
exactly as a model must: at a ``need`` step it looks for the value in the conversation; if it only
has a placeholder it calls ``await_future`` (when offered) and ends its response; if await is not
offered (sync and serial modes) it ends the response and gets the values at the next turn.
A summary request (the conversation inside ``<conversation-to-summarise>`` tags: the session
compacting its history) is answered with the scenario's ``summary`` (or, without one, a summary
saying where the script stands) and does not move the script on. ``ScriptedClient`` streams the
player's responses at the speed of a latency ``Profile``.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from asyncfc_prompts import is_summary_request

from ..errors import ScenarioError
from ..futures import AWAIT_FUTURE, FINISHED, block_openings, gap_note_calls, parse_placeholder
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
from .scenario import (
    PROFILES,
    Profile,
    Scenario,
    Step,
    builtin_scenarios,
    estimate_tokens,
    load_scenario,
    parse_scenario,
    step_tokens,
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
    "parse_scenario",
]


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
                self.finished_blocks.update(_finished_in(message.content))
            elif isinstance(message, UserMessage):
                self.finished_blocks.update(_finished_in(message.text))
                self.calls_so_far += gap_note_calls(message.text)  # turns compaction dropped

    def has_value(self, call_id: str, fid: str) -> bool:
        """Whether the value of the call is in view: its own tool message, or a block for it
        (delivered, or carried by an await result)."""
        if fid in self.finished_blocks:
            return True
        content = self.tool_content.get(call_id)
        return content is not None and parse_placeholder(content) is None


def _finished_in(text: str) -> set[str]:
    """The futures whose finished values ``text`` carries as blocks."""
    return {b.id for b in block_openings(text) if b.state in FINISHED}


class ScenarioPlayer:
    """Plays a scenario one response at a time. See the module docstring."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._cursor = 0
        self._call_ids: dict[str, str] = {}
        self._future_ids: dict[str, str] = {}
        self._issued: dict[str, str] = {}
        """Call id -> future id of every tool call the script made (engine calls excluded)."""
        self._known: set[str] = set()
        """Futures whose values the model has been shown: it remembers them when a compaction
        takes them out of the conversation, as a model does through the summary."""
        self._final = next((s.text for s in reversed(scenario.steps) if s.kind == "answer"), "Done.")

    @property
    def finished(self) -> bool:
        return self._cursor >= len(self.scenario.steps)

    def respond(self, messages: Sequence[Message], tool_names: Collection[str]) -> PlannedResponse:
        """The next response, given the conversation so far and the tools on offer.

        Raises:
            ScenarioError: the script needs a value it cannot get (it would loop forever).
        """
        if messages and isinstance(messages[-1], UserMessage) and is_summary_request(messages[-1].text):
            return self._summary()
        view = _View(messages)
        self._known |= {fid for cid, fid in self._issued.items() if view.has_value(cid, fid)}
        segments: list[Say | Call] = []
        steps = self.scenario.steps
        while self._cursor < len(steps):
            step = steps[self._cursor]
            if step.kind == "say":
                segments.append(Say(step.text, step_tokens(step)))
            elif step.kind == "call":
                segments.append(self._call(step, view.calls_so_far + len(_calls(segments))))
            elif step.kind == "need":
                missing = [
                    label for label in step.needs
                    if self._future_ids[label] not in self._known
                    and not view.has_value(self._call_ids[label], self._future_ids[label])
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
                segments.append(Say(step.text, step_tokens(step)))
                return PlannedResponse(tuple(segments))
            self._cursor += 1
        if segments:
            return PlannedResponse(tuple(segments))
        return PlannedResponse((Say(self._final, estimate_tokens(self._final)),))

    def _summary(self) -> PlannedResponse:
        """The answer to a summary request: the scenario's ``summary``, or where the script stands
        (the script does not move on: summarising is not one of its steps)."""
        text = self.scenario.summary
        if text is None:
            played = [s.text for s in self.scenario.steps[:self._cursor] if s.kind == "say"]
            text = (f"## Task\nScenario {self.scenario.name!r} (scripted model).\n\n## Done so far\n"
                    f"{self._cursor} of {len(self.scenario.steps)} steps played"
                    + (f"; last said: {played[-1]}" if played else "") + ".\n\n## Next steps\nGo on with the script.")
        return PlannedResponse((Say(text, estimate_tokens(text)),) if text else ())

    def _call(self, step: Step, calls_before: int) -> Call:
        index = self._cursor
        call_id = f"call_{index}_{step.label or step.tool}"
        fid = f"f{calls_before + 1}"
        self._issued[call_id] = fid
        if step.label:
            self._call_ids[step.label] = call_id
            self._future_ids[step.label] = fid
        args = _resolve_labels(step.args, self._future_ids)
        arguments = step.raw_args if step.raw_args is not None else json.dumps(args)
        tokens = step.tokens if step.tokens is not None else estimate_tokens(step.tool + arguments)
        return Call(ToolCall(call_id, step.tool, arguments), tokens)

    def _wait_for(
        self, missing: list[str], segments: list[Say | Call], view: _View, tool_names: Collection[str]
    ) -> PlannedResponse:
        if AWAIT_FUTURE in tool_names:
            ids = [self._future_ids[label] for label in missing]
            # When they are all the values it lacks, `await_future()` says the same in fewer tokens.
            # What it lacks: every value it has not been shown, in view or (compacted away) not.
            lacking = {fid for cid, fid in self._issued.items()
                       if fid not in self._known and not view.has_value(cid, fid)}
            arguments = "{}" if lacking == set(ids) else json.dumps({"ids": ids})
            calls_before = view.calls_so_far + len(_calls(segments))
            call = ToolCall(f"call_{self._cursor}_await{calls_before + 1}", AWAIT_FUTURE, arguments)
            segments.append(Call(call, estimate_tokens(arguments)))
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
        name: the model name it goes by (what a resume opens again: ``scripted_model_name``);
            default ``scripted:`` and the scenario's name.
    """

    scripted = True

    def __init__(self, scenario: Scenario, profile: Profile | None = None, *, name: str | None = None) -> None:
        self.scenario = scenario
        self.profile = profile or scenario.profile
        self.player = ScenarioPlayer(scenario)
        self.name = name or f"scripted:{scenario.name}"

    async def wait_ready(self) -> None:
        """Ready at once: nothing to start."""

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> AsyncGenerator[StreamItem, None]:
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
        prompt = sum(estimate_tokens(_message_text(m)) for m in messages)
        reason = "tool_calls" if planned.calls else "stop"
        yield ResponseEnd(Usage(prompt, planned.tokens, 0.0), reason)


def _message_text(message: Message) -> str:
    if isinstance(message, AssistantMessage):
        return message.text + "".join(c.arguments for c in message.tool_calls)
    if isinstance(message, ToolMessage):
        return message.content
    return message.text
