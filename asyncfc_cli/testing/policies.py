"""Policies for the local model servers: what the fake model answers, decided from the conversation.

A policy is any ``policy(messages, tools) -> Reply`` over OpenAI chat-form dicts (the Anthropic
server converts its requests first), so one policy drives every server format. Two ship here:
``scenario_policy`` plays a scripted scenario with the same decision logic as the scripted client
(the servers' default), and ``echo_policy`` just answers with text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model.scripted import PlannedResponse, Scenario, ScenarioPlayer

__all__ = [
    "BadRequest",
    "Policy",
    "Reply",
    "ReplyCall",
    "as_policy",
    "echo_policy",
    "estimate_tokens",
    "reply_tokens",
    "within_output_limit",
    "scenario_policy",
]


@dataclass(frozen=True, slots=True)
class ReplyCall:
    """One tool call a policy wants the model to make."""

    name: str
    arguments: str
    """The JSON text of the arguments, sent as is (so a test can send malformed JSON)."""
    id: str | None = None
    """The call id; None: the server makes one up."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What the fake model answers to one request."""

    text: str = ""
    tool_calls: tuple[ReplyCall, ...] = ()
    completion_tokens: int | None = None
    """None: estimated from the text and arguments."""
    cut_by_limit: bool = False
    """The reply was cut by the request's output limit (``max_tokens``): the servers finish it with
    ``length`` (OpenAI) or ``max_tokens`` (Anthropic), as real ones do."""
    plan: PlannedResponse | None = None
    """The scripted model's response this reply was played from (``scenario_policy``): its text and
    calls in the scenario's order, each with its tokens, for a server that paces its stream by them
    (the benchmark's). None for any other reply, and for one a fault or an output limit changed."""


Policy = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Reply]
"""``policy(messages, tools) -> Reply``: messages and tools in OpenAI chat form, whatever the server's
format (the Anthropic server converts), so one policy drives both servers."""


class BadRequest(Exception):
    """Raised by a policy or a request check: the server answers HTTP 400 with this message."""


def echo_policy(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Reply:
    """Answers every request with a short text naming how many messages it saw; calls no tool."""
    return Reply(text=f"ok ({len(messages)} messages)")


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters per token), never below 1."""
    return max(1, len(text) // 4)


def reply_tokens(reply: Reply) -> int:
    """The completion tokens a reply reports: the policy's count, or an estimate."""
    if reply.completion_tokens is not None:
        return reply.completion_tokens
    return estimate_tokens(reply.text + "".join(c.name + c.arguments for c in reply.tool_calls))


def within_output_limit(reply: Reply, max_tokens: object) -> Reply:
    """The reply as a server honouring ``max_tokens`` sends it: cut where the limit falls (text
    first, then each call's name and arguments, at 4 characters a token), marked ``cut_by_limit``.
    A call whose arguments the limit cuts is sent cut, as a real server would."""
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0 \
            or reply_tokens(reply) <= max_tokens:
        return reply
    room = max_tokens * 4
    text, room = reply.text[:room], room - len(reply.text[:room])
    calls: list[ReplyCall] = []
    for call in reply.tool_calls:
        if room <= len(call.name):
            break
        room -= len(call.name)
        calls.append(ReplyCall(call.name, call.arguments[:room], call.id))
        room -= len(calls[-1].arguments)
    return Reply(text, tuple(calls), max_tokens, cut_by_limit=True)


def scenario_policy(scenario: Scenario | str | Path) -> Policy:
    """A policy that plays ``scenario`` (a ``Scenario``, a built-in name or a file path).

    Each reply comes from ``ScenarioPlayer.respond`` on the conversation converted back to typed
    messages, so a run over HTTP sees placeholders and awaits exactly as the scripted client does.
    A scenario that cannot go on is answered with HTTP 400 naming the step. A conversation with no
    assistant message yet starts the script over, so one server serves run after run.

    Sub-agents: a conversation whose first user message is the ``task`` of one of the script's
    ``agent`` call steps is that sub-agent's, and plays the step's ``agent:`` script. Each
    conversation keeps its own place in its script, so the parent and its sub-agents may be served
    at once (the server answers requests in threads).

    Raises:
        ScenarioError: two ``agent`` steps have the same task (their conversations could not be
            told apart).
    """
    from ..model.scripted import Scenario as ScenarioType
    from ..model.scripted import ScenarioPlayer, load_scenario

    loaded = scenario if isinstance(scenario, ScenarioType) else load_scenario(scenario)
    scripts = _agent_scripts(loaded)
    players: dict[str, ScenarioPlayer] = {}
    """The player of each conversation: "" the parent's, else a sub-agent's task."""
    lock = threading.Lock()

    def play(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Reply:
        task = _first_user_text(messages)
        key = task if task in scripts else ""
        with lock:
            player = players.get(key)
            if player is None or not _continues(messages):
                player = players[key] = ScenarioPlayer(scripts.get(key, loaded))  # a new conversation
            return _respond(player, messages, tools)

    return play


def _agent_scripts(scenario: Scenario) -> dict[str, Scenario]:
    """The sub-agents' scripts of ``scenario``'s ``agent`` steps, by their task."""
    from ..errors import ScenarioError

    scripts: dict[str, Scenario] = {}
    for step in scenario.steps:
        task = step.args.get("task")
        if step.kind != "call" or step.agent is None or not isinstance(task, str):
            continue
        if task in scripts:
            raise ScenarioError(f"scenario {scenario.name!r}: two agent steps have the task {task!r}; "
                                "a server tells sub-agents apart by their task, so give each its own")
        scripts[task] = step.agent
    return scripts


def _continues(messages: list[dict[str, Any]]) -> bool:
    """Whether ``messages`` go on with a conversation already under way: they hold an assistant
    message, start from a compaction summary, or ask for one (the session compacting its
    history)."""
    from asyncfc_prompts import is_summary_request

    from ..summary import SUMMARY_HEADER

    if any(message.get("role") == "assistant" for message in messages):
        return True
    texts = [_text_of(m) for m in messages if m.get("role") == "user"]
    return bool(texts) and (SUMMARY_HEADER in texts[0][:600] or is_summary_request(texts[-1]))


def _first_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the conversation's first user message (its parts joined), or ''."""
    return next((_text_of(m) for m in messages if m.get("role") == "user"), "")


def _text_of(message: dict[str, Any]) -> str:
    """A wire message's text (its parts joined), or ''."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _respond(player: ScenarioPlayer, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Reply:
    """``player``'s next reply to the conversation ``messages`` offering ``tools`` (wire form)."""
    from ..errors import ScenarioError
    from ..model.scripted import Say
    from ..model.wire import message_from_wire

    typed = [message_from_wire(message) for message in messages]
    names = {tool.get("function", {}).get("name", "") for tool in tools}
    try:
        planned = player.respond(typed, names)
    except ScenarioError as exc:
        raise BadRequest(str(exc)) from None
    text = " ".join(s.text for s in planned.segments if isinstance(s, Say))
    calls = tuple(ReplyCall(c.name, c.arguments, c.call_id) for c in planned.calls)
    return Reply(text, calls, planned.tokens or None, plan=planned)


def as_policy(policy: Policy | Scenario | str | Path | None) -> Policy:
    """A policy from what a server was given: a policy, a scenario (or its name or path), or None
    for the built-in ``demo`` scenario."""
    if policy is None:
        return scenario_policy("demo")
    if callable(policy):
        return policy
    return scenario_policy(policy)
