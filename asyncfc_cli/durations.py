"""How long a call will take, before it has run: the first guesses.

The scheduler predicts a call's duration from what calls with the same duration key
(``ToolSpec.duration_key``: the tool's name, refined as the tool declares) took in this session,
and before there are any from ``duration_priors``: the tool latencies the benchmark measured on its
fixture repository (``tool_latencies``, written by ``python -m asyncfc_cli.bench.measure``), for
the keys each tool declares a fair first guess of (``ToolFacts.duration_priors``). The session uses
the prediction for its early wait (hold a request briefly for a call about to finish). Pure: no
clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from asyncfc_tools import ToolSpec

__all__ = ["duration_priors"]


def duration_priors(tools: Iterable[ToolSpec]) -> dict[str, float]:
    """Typical seconds by duration key, as measured on the benchmark's fixture repository, for the
    keys ``tools`` declare measured (tools whose duration barely depends on their arguments, and
    test runs: the whole suite, or a selection), so the session can hold a request for a call
    about to finish from its first use (see ``early_wait.wait_if_about_to_finish``)."""
    from .tool_latencies import TOOL_LATENCIES

    return {key: TOOL_LATENCIES[measured] for spec in tools
            for key, measured in spec.facts.duration_priors.items() if measured in TOOL_LATENCIES}
