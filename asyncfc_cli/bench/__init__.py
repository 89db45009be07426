"""``asyncfc bench``: serial, sync and async side by side, against the critical-path limit.

- ``scenarios/*.yaml``: the suite (coding sessions, the calibrated family, BFCL shapes,
  adversarial, compound tasks), scripted-model data;
  ``suite`` loads it and fills unscripted tool durations from ``asyncfc_cli.tool_latencies`` (measured by
  ``python -m asyncfc_cli.bench.measure`` on the ``fixture`` repository).
- ``bound``: the critical-path lower bound, a pure function of a scenario and a profile.
- ``runner``: one case through the real engine, virtual or real clock, simulated (``simulate``) or
  real tools; ``http``: one case as a user runs it, a process through litellm over HTTP against the
  paced local server. ``report``: speedups, efficiency, targets, table, Markdown and JSON;
  ``calibration``: the calibrated family against public figures. ``plot``: SVG Gantt charts.
- ``overhead``: the scheduler's futures per second and dispatch latency. ``command``: the CLI entry.
"""
