"""Frame cost of the timeline with many futures in flight: ``python -m asyncfc_cli.tui.bench_frame``.

Times what one refresh of the live view costs with ``n`` futures in flight (default 200): folding
the events into the state, and drawing the timeline rows (every lane, not only the visible ones, so
the number is an upper bound for any terminal height) at a fresh ``now``. Real clock: a benchmark,
not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

from ..timeline_state import TimelineState
from .synthetic import many_futures
from .timeline_render import TimelineRenderer, fit_viewport

__all__ = ["FrameCost", "measure_frame_cost"]

BUDGET_MS = 16.0


@dataclass(frozen=True, slots=True)
class FrameCost:
    futures: int
    width: int
    lanes_drawn: int
    apply_ms: float
    """Folding every event of the run into a fresh state (once)."""
    frame_median_ms: float
    frame_p95_ms: float
    frame_max_ms: float

    def report(self) -> str:
        verdict = "within" if self.frame_p95_ms < BUDGET_MS else "OVER"
        return (
            f"{self.futures} futures in flight, {self.width} columns, {self.lanes_drawn} lanes drawn: "
            f"frame median {self.frame_median_ms:.2f} ms, p95 {self.frame_p95_ms:.2f} ms, "
            f"max {self.frame_max_ms:.2f} ms ({verdict} the {BUDGET_MS:.0f} ms budget); "
            f"folding all events {self.apply_ms:.2f} ms"
        )


def measure_frame_cost(futures: int = 200, width: int = 200, frames: int = 60, visible: int | None = None) -> FrameCost:
    """Draw ``frames`` frames, each at a later ``now`` (so no cache helps), and time them.

    Args:
        visible: lanes drawn per frame; None draws all of them.
    """
    events = many_futures(futures)
    started = time.perf_counter()
    state = TimelineState().apply_all(events)
    apply_ms = (time.perf_counter() - started) * 1000
    renderer = TimelineRenderer()
    label = max(16, min(30, width // 4))
    lanes = list(state.futures.values())[: visible if visible is not None else futures]
    times = []
    for i in range(frames):
        now = state.last_t + i / 15
        started = time.perf_counter()
        vp = fit_viewport(state, now, width - label)
        renderer.rows(state, vp, now, label, lanes)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return FrameCost(
        futures=futures, width=width, lanes_drawn=len(lanes), apply_ms=apply_ms,
        frame_median_ms=statistics.median(times), frame_p95_ms=times[int(0.95 * (len(times) - 1))],
        frame_max_ms=times[-1],
    )


def measure_app_frame_cost(futures: int = 200, size: tuple[int, int] = (200, 60), frames: int = 30) -> dict[str, float]:
    """Median ms of the app's live work per tick, headless, with ``futures`` in flight.

    ``tick``: the timeline and status bar re-rendered (every line) at a fresh ``now``, as on each
    15 fps tick. ``table``: a futures-table sync (every running time changes) plus re-rendering its
    visible lines, as at most 4 times a second. Textual's compositor is not included.
    """
    import asyncio

    from textual.geometry import Region

    from .app import AsyncfcApp
    from .futures_table import FuturesTable
    from .status_bar import StatusBar
    from .timeline import Timeline

    wall = [0.0]
    app = AsyncfcApp(None, wall=lambda: wall[0])
    ticks: list[float] = []
    tables: list[float] = []

    def render(widget: object) -> None:
        widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))  # type: ignore[attr-defined]

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            for event in many_futures(futures):
                app.feed(event)
            await pilot.pause()
            timeline, table, status = app.query_one(Timeline), app.query_one(FuturesTable), app.query_one(StatusBar)
            for _ in range(frames):
                wall[0] += 1 / 15
                started = time.perf_counter()
                render(timeline)
                render(status)
                ticks.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                table.sync(app.state, app.now())
                render(table)
                tables.append((time.perf_counter() - started) * 1000)

    asyncio.run(run())
    return {"tick": statistics.median(ticks), "table": statistics.median(tables)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--futures", type=int, default=200)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args(argv)
    for width, visible in ((200, None), (200, 56), (80, 18)):
        print(measure_frame_cost(args.futures, width, args.frames, visible).report())
    for size in ((200, 60), (80, 24)):
        ms = measure_app_frame_cost(args.futures, size)
        print(f"app at {size[0]}x{size[1]}, {args.futures} futures in flight: timeline + status tick "
              f"median {ms['tick']:.2f} ms; futures-table sync + render (<= 4/s) median {ms['table']:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
