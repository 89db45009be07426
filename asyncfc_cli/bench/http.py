"""The real path: a bench scenario played through litellm over HTTP, as a user runs it.

Each run is its own ``asyncfc run ... --model openai/bench-model --api-base URL --output jsonl``
process with the real tools, in a fresh copy of the fixture repository. The model is the shipped
local OpenAI-format server playing the scenario (``PacedScenarioServer``) at a latency profile: it
waits the time to first token before the first content, then streams each segment (text or tool
call) over its decode time, in the scenario's order, so the client sees a response decoding as it
would from a hosted model.

Time is split as a user would want it (DESIGN.md, "the real path"):

- **engine**: from the model's first reply (the first token of the first response) to the end of
  the session, on the session's clock: what the modes differ by;
- **start-up**: the rest of the process's wall time minus the first time to first token: process
  start, imports and litellm's set-up up to the first request being sent, and the exit after the
  session finished. The same in every mode, so it is reported apart, never mixed into the ratios.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncfc_tools import builtin_tools

from ..errors import ScenarioError
from ..events import Event, event_from_dict
from ..model.scripted import PROFILES, Profile, Say, Scenario
from ..testing._server import Frame
from ..testing.openai_server import OpenAIServer, Reply
from .bound import critical_path_bound
from .fixture import make_fixture_repo
from .runner import CaseResult, effect_function, with_measured_durations, with_this_python
from .simulate import bench_tools
from .suite import BenchScenario

__all__ = ["HTTP_MODES", "PacedScenarioServer", "SplitTime", "http_problem", "run_http_case", "split_time"]

HTTP_MODES = ("serial", "sync", "async")
"""sync-stream is left out: an ablation of the engine, the virtual clock measures it exactly."""
_RUN_TIMEOUT_S = 600
MODEL = "openai/bench-model"


@dataclass(frozen=True, slots=True)
class _PacedFrame(Frame):
    delay_s: float = 0.0
    """Pause before this frame is sent."""


class PacedScenarioServer(OpenAIServer):
    """The local OpenAI-format server playing ``scenario`` at ``profile``'s pace.

    The replies are the testing servers' own (``scenario_policy``: the scripted model's decisions,
    so they depend on what the conversation shows, placeholders and delivered values, exactly as
    over the scripted client), and so are the frames (``text_frames``, ``call_frames``, with the
    server's options such as ``repeat_call_fields``); this server only orders them as the scenario
    does and spreads each segment's decode time over its frames. A tool call is complete for the
    client when the next one starts or the response ends, as with any OpenAI-style stream.
    """

    def __init__(self, scenario: Scenario, profile: Profile, **options: Any) -> None:
        super().__init__(scenario, on_frame=self._pace, model="bench-model", **options)
        self.profile = profile

    def stream_frames(self, reply: Reply, prompt_tokens: int, number: int) -> list[Frame]:
        frames = super().stream_frames(reply, prompt_tokens, number)
        if reply.plan is None:
            return frames
        return [frames[0], *self._paced(reply, number), *(f for f in frames if f.kind == "end")]

    def _paced(self, reply: Reply, number: int) -> list[_PacedFrame]:
        """The frames of ``reply``'s plan, segment by segment, each segment's decode time spread
        over its frames; the first also waits the TTFT. A call's decode time is spent on its
        argument frames, so the next call starts (and the client sees this one complete) when its
        decoding is over, as from the scripted client."""
        out: list[_PacedFrame] = []
        calls = 0
        for segment in reply.plan.segments if reply.plan else ():
            decode = self.profile.decode_s(segment.tokens)
            if isinstance(segment, Say):
                out += _spread(self.text_frames(segment.text, number), decode)
                continue
            start, *arguments = self.call_frames(reply.tool_calls[calls], calls, number)
            out += [*_spread([start], 0.0), *_spread(arguments, decode)]
            calls += 1
        if out:
            out[0] = dataclasses.replace(out[0], delay_s=out[0].delay_s + self.profile.ttft_s)
        return out

    def _pace(self, frame: Frame) -> None:
        delay = getattr(frame, "delay_s", 0.0)
        if delay > 0:
            self._stopping.wait(delay)


def _spread(frames: Sequence[Frame], seconds: float) -> list[_PacedFrame]:
    """``frames``, ``seconds`` shared evenly as the pause before each."""
    return [_PacedFrame(f.kind, f.data, f.call, seconds / len(frames)) for f in frames]


def http_problem(bench: BenchScenario) -> str | None:
    """Why ``bench`` cannot be played by a real ``asyncfc run`` (a tool it calls does not exist
    there), or None."""
    real = builtin_tools()
    missing = sorted({s.tool for s in bench.scenario.steps if s.kind == "call"} - set(real))
    if missing:
        return f"{bench.name} calls {', '.join(missing)}, which a real run does not have"
    return None


@dataclass(frozen=True, slots=True)
class _Process:
    wall_s: float
    returncode: int
    events: list[dict[str, Any]]
    stderr: str


def _run_process(args: Sequence[str], env: Mapping[str, str]) -> _Process:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "asyncfc_cli", *args], env=dict(env), capture_output=True,
                          text=True, timeout=_RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - started
    events = []
    for line in done.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return _Process(wall, done.returncode, events, done.stderr)


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCFC_")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-bench-local",
                "XDG_STATE_HOME": str(state / "state"), "XDG_CONFIG_HOME": str(state / "config")})
    return env


@dataclass(frozen=True, slots=True)
class SplitTime:
    """A process's wall time, split."""

    engine_s: float
    """The model's first reply (first token) to session_finished, on the session clock."""
    startup_s: float
    """Process start to the first request being sent, plus the exit after session_finished."""
    first_ttft_s: float
    """The model's time to first token of the first request."""


def split_time(wall_s: float, events: Sequence[Mapping[str, Any]]) -> SplitTime:
    """Split a run's wall time (see the module docstring).

    Raises:
        ScenarioError: the run has no first token or no session_finished (it failed early).
    """
    first = next((e for e in events if e.get("type") == "first_token"), None)
    finished = next((e for e in reversed(events) if e.get("type") == "session_finished"), None)
    if first is None or finished is None:
        raise ScenarioError("the run ended before the model's first reply")
    sent = first["t"] - first["ttft"]
    return SplitTime(finished["t"] - first["t"], wall_s - (finished["t"] - sent), first["ttft"])


def run_http_case(bench: BenchScenario, profile: str, mode: str) -> CaseResult:
    """Play one case as its own ``asyncfc run`` process over HTTP and measure it. ``bench`` is one
    ``http_problem`` has nothing against (``asyncfc bench`` checks its suite before it starts).

    Raises:
        ScenarioError: the run did not finish (the benchmark times finished runs only).
    """
    prof = PROFILES[profile]
    scenario = with_this_python(bench.scenario)
    with tempfile.TemporaryDirectory(prefix="asyncfc-bench-http-") as tmp:
        root = make_fixture_repo(Path(tmp) / "shop")
        with PacedScenarioServer(scenario, prof) as server:
            run = _run_process(
                ["run", f"bench scenario {bench.name}", "--model", MODEL, "--api-base", server.base_url + "/v1",
                 "--mode", mode, "--output", "jsonl", "--cwd", str(root), "--max-turns", "200"],
                _env(Path(tmp)))
    finished: Mapping[str, Any] = next((e for e in reversed(run.events) if e.get("type") == "session_finished"), {})
    if run.returncode != 0:
        why = finished.get("message") or run.stderr.strip()[-400:]
        raise ScenarioError(f"{bench.name} ({mode}) over HTTP ended with exit code {run.returncode}: {why}")
    split = split_time(run.wall_s, run.events)
    typed = _typed(run.events)
    timed = with_measured_durations(bench.scenario, typed)
    # The bound's clock starts at the request, the engine's at the first token: drop one TTFT.
    bound = critical_path_bound(timed, prof, effect_function(bench_tools(bench.scenario))) - prof.ttft_s
    usage = finished.get("usage") or {}
    return CaseResult(
        bench.name, bench.group, profile, mode, split.engine_s, bound, int(finished.get("turns", 0)),
        int(usage.get("completion_tokens", 0)), int(usage.get("prompt_tokens", 0)), run.returncode,
        "http", "real", True, tuple(typed), startup_s=split.startup_s,
    )


def _typed(events: Sequence[Mapping[str, Any]]) -> list[Event]:
    """The run's JSON-lines events as records (any this version does not know are left out)."""
    out: list[Event] = []
    for data in events:
        try:
            out.append(event_from_dict(data))
        except ValueError:
            continue
    return out
