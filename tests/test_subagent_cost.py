"""The parent's --max-cost bounds the parent and all its sub-agents together, on trio's MockClock.

Each sub-agent request costs 0.02 USD (a scripted model priced as litellm would report it); the
parent's own requests cost nothing, so every cent spent below is a sub-agent's.
"""

from dataclasses import replace

import pytest

from asyncfc_cli.config import Settings
from asyncfc_cli.events import EventBus
from asyncfc_cli.model.base import ResponseEnd
from asyncfc_cli.model.scripted import ScriptedClient, parse_scenario
from asyncfc_cli.session import Session
from asyncfc_cli.scripted_subagents import scripted_kit
from asyncfc_cli.subagent import SubAgentKit, attach_subagents
from asyncfc_cli.workspace import Workspace

from engine_tools import TOOLS
from test_session import answer, call, scenario

PRICE = 0.02


class Priced:
    """A model whose every response costs ``cost`` USD."""

    def __init__(self, inner, cost: float) -> None:
        self.inner, self.cost = inner, cost
        self.name, self.scripted = inner.name, True

    async def wait_ready(self):
        await self.inner.wait_ready()

    async def stream(self, messages, tools):
        async for item in self.inner.stream(messages, tools):
            yield replace(item, usage=replace(item.usage, cost=self.cost)) if isinstance(
                item, ResponseEnd) else item


def busy(label):
    """A sub-agent that works for ten turns (one second of tool each) before answering."""
    steps = [s for n in range(10) for s in (call("sleep", f"s{n}", seconds=1), {"need": [f"s{n}"]})]
    return {**call("agent", label, task=f"investigate {label}"), "agent": {"steps": [*steps, answer(label)]}}


async def run_parent(tmp_path, settings, *steps):
    parent = parse_scenario(scenario(*steps))
    bus = EventBus()
    events = []
    bus.subscribe(events.append, nested=True)
    session = Session(model=ScriptedClient(parent), tools=TOOLS, bus=bus,
                      settings=settings.replace(model="scripted:t"), workspace=Workspace(tmp_path))
    scripted = scripted_kit(session.model, lambda: session.tools)

    def kit(agent_call):
        plain = scripted(agent_call)
        return SubAgentKit(Priced(plain.model, PRICE), plain.tools)

    attach_subagents(session, kit)
    outcome = await session.run("investigate")
    return outcome, events


def sub_agent_requests(events):
    return [e for e in events if e.type == "request_finished" and e.parent]


@pytest.mark.trio
async def test_two_sub_agents_share_the_parents_cost_limit(tmp_path, autojump_clock):
    outcome, events = await run_parent(tmp_path, Settings(max_cost=0.05), busy("a"), busy("b"),
                                       {"need": ["a", "b"]}, answer())
    # Each request of either sub-agent counts against the one limit: the third one (0.06 USD in
    # all) reaches it and stops both, where each alone would have gone on to 0.06 (0.12 together).
    assert len(sub_agent_requests(events)) == 3
    finished = {e.id: e for e in events if e.type == "future_finished" and e.parent is None}
    for fid in ("f1", "f2"):
        assert finished[fid].status == "failed"
        assert "the sub-agent stopped without finishing (cost_limit)" in finished[fid].output
        assert "of $0.05" in finished[fid].output
    nested_ends = [e for e in events if e.type == "session_finished" and e.parent]
    assert [e.outcome for e in nested_ends] == ["cost_limit", "cost_limit"]
    assert (outcome.outcome, outcome.exit_code) == ("cost_limit", 1)
    assert events[-1].cost == pytest.approx(3 * PRICE)


@pytest.mark.trio
async def test_no_sub_agent_starts_once_the_task_has_spent_its_limit(tmp_path, autojump_clock):
    # The first sub-agent reaches the limit while the parent is still decoding the response that
    # goes on to start the second one.
    outcome, events = await run_parent(tmp_path, Settings(max_cost=0.03), busy("a"),
                                       {"say": "while a works I plan the next step", "tokens": 32},
                                       busy("b"), {"need": ["a", "b"]}, answer())
    assert {e.parent for e in sub_agent_requests(events)} == {"f1"}
    second = next(e for e in events if e.type == "future_finished" and e.id == "f2" and e.parent is None)
    assert second.status == "failed"
    assert second.output.startswith("the sub-agent was not started: stopped: the cost limit was reached")
    assert (outcome.outcome, outcome.exit_code) == ("cost_limit", 1)


@pytest.mark.trio
async def test_sub_agents_under_the_limit_are_not_stopped(tmp_path, autojump_clock):
    outcome, events = await run_parent(tmp_path, Settings(max_cost=1.0), busy("a"), busy("b"),
                                       {"need": ["a", "b"]}, answer("both"))
    assert (outcome.outcome, outcome.message) == ("finished", "both")
    assert len(sub_agent_requests(events)) == 22
