"""The critical-path lower bound of a scenario: no engine can finish it sooner.

A pure function of the scenario's structure, its latency profile and the tools' effects. The model
decodes one token stream, segment after segment, and every request pays the time to first token
before its first segment. A tool call starts no earlier than the end of the decode segment that
emitted it, nor before the calls it depends on (``$label`` references) and the earlier calls whose
effects conflict with it (program order) have finished. A ``need`` step can be decoded only once the
needed values are in the model's view, which takes a request that starts after they finished:

- a value from the *same* response is never in view: the response must end there, and the next
  request starts no earlier than the value is ready (a forced break);
- a value from an *earlier* response is in view if it finished before the current request started;
  otherwise the response must end and a new request start after it finished. So at each such need
  an engine either delayed the current request until the value was ready, or pays a new request:
  the bound tries both (a small exhaustive search over response boundaries) and keeps the minimum.

Responses also end where the script ends them (``end``), and an ``answer`` comes in a response of
its own after a response with tool calls, exactly as the scripted player behaves. The bound charges
nothing for ``await_future`` calls, delivery, or engine overhead, and the session cannot finish
before every tool has finished, so ``bound = max(end of the last decode, last tool finish)``, the
minimum over all choices of when to start each request. A background call (a dev server) counts as
done once it is up (its duration) and never holds the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncfc_tools import Effect

from ..model.scripted import Profile, Scenario, Step

__all__ = ["critical_path_bound", "EffectOf"]

EffectOf = Callable[[str, Mapping[str, Any]], Effect]
"""The effect of a call of a tool with these arguments (``$fN`` references in place); default: pure."""


def _estimate(text: str) -> int:
    return max(1, round(len(text) / 4))


def _labels_in(value: Any, labels: Mapping[str, int]) -> list[str]:
    if isinstance(value, str):
        return [value[1:]] if value.startswith("$") and value[1:] in labels else []
    if isinstance(value, Mapping):
        return [d for v in value.values() for d in _labels_in(v, labels)]
    if isinstance(value, list):
        return [d for v in value for d in _labels_in(v, labels)]
    return []


def _shortest_refs(value: Any, labels: Mapping[str, int]) -> Any:
    """Labels become "$f1", the shortest a future reference can be, so token estimates stay lower
    bounds whatever number the engine gives the future."""
    if isinstance(value, str) and value.startswith("$") and value[1:] in labels:
        return "$f1"
    if isinstance(value, Mapping):
        return {k: _shortest_refs(v, labels) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortest_refs(v, labels) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class _Call:
    index: int
    """Position among the scenario's calls (issue order)."""
    decode_s: float
    duration: float
    deps: tuple[int, ...]
    """Earlier calls it must wait for: references and effect conflicts."""
    background: bool = False
    """A long-lived call (a dev server): ``duration`` is how long it takes to be up, which is what
    later calls wait for; it never holds the end of the session."""


def _plan(scenario: Scenario, profile: Profile, effect_of: EffectOf) -> dict[int, _Call]:
    """Per call step (by step index): its decode time, duration and what it waits for."""
    import json

    labels: dict[str, int] = {}
    effects: list[Effect] = []
    calls: dict[int, _Call] = {}
    for i, step in enumerate(scenario.steps):
        if step.kind != "call":
            continue
        index = len(effects)
        args = _shortest_refs(step.args, labels)
        arguments = step.raw_args if step.raw_args is not None else json.dumps(args)
        tokens = step.tokens if step.tokens is not None else _estimate(step.tool + arguments)
        effect = effect_of(step.tool, args)
        deps = {labels[d] for d in _labels_in(step.args, labels)}
        deps |= {j for j, other in enumerate(effects) if effect.conflicts_with(other)}
        # A sub-agent's call lasts at least its own script's bound at the same speed.
        duration = critical_path_bound(step.agent, profile, effect_of) if step.agent else step.duration
        calls[i] = _Call(index, profile.decode_s(tokens), duration, tuple(sorted(deps)), effect.background)
        effects.append(effect)
        if step.label:
            labels[step.label] = index
    return calls


class _Search:
    def __init__(self, scenario: Scenario, profile: Profile, effect_of: EffectOf) -> None:
        self.steps: Sequence[Step] = scenario.steps
        self.profile = profile
        self.calls = _plan(scenario, profile, effect_of)
        self.label_of = {s.label: i for i, s in enumerate(self.steps) if s.kind == "call" and s.label}
        self.lasting = {c.index for c in self.calls.values() if c.background}
        self.best = float("inf")

    def decode(self, step: Step) -> float:
        tokens = step.tokens if step.tokens is not None else _estimate(step.text)
        return self.profile.decode_s(tokens)

    def run(self) -> float:
        self.respond(0, 0.0, {})
        return self.best

    def _candidates(self, i: int, finish: Mapping[int, float]) -> list[tuple[int, float]]:
        """Where the response starting at step ``i`` may end, each with the earliest its request
        may start so that the needs before that end are in view (values of earlier responses)."""
        out: list[tuple[int, float]] = []
        must_wait = 0.0
        emitted: set[int] = set()
        said = False
        for k in range(i, len(self.steps)):
            step = self.steps[k]
            if step.kind == "call":
                emitted.add(k)
            elif step.kind == "say":
                said = True
            elif step.kind == "need":
                sources = [self.label_of[n] for n in step.needs]
                if any(s in emitted for s in sources):
                    out.append((k, must_wait))  # forced: a value of this very response
                    return out
                if emitted or said:
                    out.append((k, must_wait))  # optional: end here instead of waiting
                ready = max((finish[self.calls[s].index] for s in sources), default=0.0)
                must_wait = max(must_wait, ready)
            elif (step.kind == "end" and (emitted or said)) or (step.kind == "answer" and emitted):
                out.append((k, must_wait))
                return out
            elif step.kind == "answer":
                out.append((k + 1, must_wait))
                return out
        out.append((len(self.steps), must_wait))
        return out

    def respond(self, i: int, ready: float, finish: dict[int, float]) -> None:
        if ready >= self.best:
            return
        for end, must_wait in self._candidates(i, finish):
            t = max(ready, must_wait) + self.profile.ttft_s
            done = dict(finish)
            for k in range(i, min(end, len(self.steps))):
                step = self.steps[k]
                if step.kind in ("say", "answer"):
                    t += self.decode(step)
                elif step.kind == "call":
                    call = self.calls[k]
                    t += call.decode_s
                    start = max([t] + [done[d] for d in call.deps])
                    done[call.index] = start + call.duration
            self._next(end, t, done)

    def _next(self, end: int, t: float, done: dict[int, float]) -> None:
        if end >= len(self.steps):
            self.best = min(self.best, max([t, *(v for i, v in done.items() if i not in self.lasting)]))
            return
        step = self.steps[end]
        if step.kind == "need":
            values = [done[self.calls[self.label_of[n]].index] for n in step.needs]
            self.respond(end, max([t, *values]), done)
        elif step.kind == "end":
            self.respond(end + 1, t, done)
        else:  # an answer after a response with calls comes in a response of its own
            self.respond(end, t, done)


def critical_path_bound(scenario: Scenario, profile: Profile, effect_of: EffectOf | None = None) -> float:
    """Seconds below which no engine can finish ``scenario`` at ``profile``. See the module doc.

    Args:
        effect_of: each call's effect, for program order; default: every call is pure.
    """
    return _Search(scenario, profile, effect_of or (lambda tool, args: Effect("pure"))).run()
