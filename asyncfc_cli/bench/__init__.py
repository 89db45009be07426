"""``asyncfc bench``: serial, sync and async side by side, against the critical-path limit.

- ``scenarios/*.yaml``: the suite (coding sessions, BFCL shapes, adversarial), scripted-model data;
  ``suite`` loads it and fills unscripted tool durations from ``asyncfc_cli.tool_latencies`` (measured by
  ``python -m asyncfc_cli.bench.measure`` on the ``fixture`` repository).
- ``bound``: the critical-path lower bound, a pure function of a scenario and a profile.
- ``runner``: one case through the real engine, virtual or real clock, simulated (``simulate``) or
  real tools. ``report``: speedups, efficiency, targets, table and JSON. ``plot``: SVG Gantt charts.
- ``overhead``: the scheduler's futures per second and dispatch latency. ``command``: the CLI entry.
"""
