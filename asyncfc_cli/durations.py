"""How long a call will take, before it has run: the key calls are known by, and the first guesses.

The scheduler predicts a call's duration from what calls with the same ``duration_key`` took in
this session, and before there are any from ``duration_priors``: the tool latencies the benchmark
measured on its fixture repository (``tool_latencies``, written by ``python -m
asyncfc_cli.bench.measure``). The session uses the prediction for its early wait (hold a request
briefly for a call about to finish). Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PREDICTABLE_TOOLS", "duration_key", "duration_priors"]

PREDICTABLE_TOOLS = ("read_file", "write_file", "edit_file", "list_files", "grep", "outline")
"""Tools whose duration barely depends on their arguments. Shell commands vary too much for a prior:
the session learns theirs as it goes, per command (``duration_key``); test runs get a first guess
from the fixture (whole suite, or a selection), replaced by what the session sees."""


def duration_key(tool: str, args: Any) -> str:
    """What predicts a call's duration: its tool, refined by the shape of its arguments. A command
    is known by its first two words that are not flags (``git diff`` and ``python -m pytest`` take
    very different times); a call given ``paths`` (a selection of tests) apart from one without."""
    key = tool
    if isinstance(args, Mapping):
        command = args.get("command")
        if isinstance(command, str):
            key += ":" + " ".join([w for w in command.split() if not w.startswith("-")][:2])
        if args.get("paths"):
            key += ":some"
    return key


def duration_priors() -> dict[str, float]:
    """Typical seconds per predictable tool and per test-run key, as measured on the benchmark's
    fixture repository, so the session can hold a request for a call about to finish from its
    first use (see ``Session._wait_if_about_to_finish``)."""
    from .tool_latencies import TOOL_LATENCIES

    priors = {name: TOOL_LATENCIES[name] for name in PREDICTABLE_TOOLS if name in TOOL_LATENCIES}
    # A first guess for test runs, by duration key: the whole suite, or a selection (one file).
    priors.update({"run_tests": TOOL_LATENCIES["run_tests"], "run_tests:some": TOOL_LATENCIES["run_tests_file"]})
    return priors
