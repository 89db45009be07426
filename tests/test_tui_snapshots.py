"""SVG snapshots of the timeline and the whole app (futures table included) at fixed virtual times.

Deterministic: events are fed by hand and the clock is frozen, no engine runs. To accept a change,
regenerate with ``ASYNCFC_UPDATE_SNAPSHOTS=1`` and review the SVGs under tests/snapshots/ (open them
in a browser) before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.approval_dialog import ApprovalDialog
from asyncfc_cli.timeline_state import TimelineState
from asyncfc_cli.tui.synthetic import demo_events
from asyncfc_cli.tui.timeline_render import TimelineRenderer, fit_viewport
from tui_helpers import run, settled

SNAPSHOTS = Path(__file__).parent / "snapshots"


def check_snapshot(name: str, svg: str, tmp_path: Path) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("ASYNCFC_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        if os.environ.get("ASYNCFC_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"no snapshot {path.name} yet: wrote it; review it and run again")
        return
    if path.read_text(encoding="utf-8") != svg:
        actual = tmp_path / f"{name}.actual.svg"
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"{name} differs from {path}; see {actual} (ASYNCFC_UPDATE_SNAPSHOTS=1 accepts it)")


def timeline_svg(t: float, width: int = 120, spc: float | None = None) -> str:
    state = TimelineState().apply_all(e for e in demo_events() if e.t <= t)
    label = 24
    vp = fit_viewport(state, t, width - label, spc)
    console = Console(width=width, record=True, color_system="truecolor", file=open(os.devnull, "w"))
    for row in TimelineRenderer().rows(state, vp, t, label, list(state.futures.values()), highlight="f4"):
        console.print(Text.assemble(*((s.text, s.style) for s in row)), no_wrap=True, crop=True)
    return console.export_svg(title=f"timeline at t={t}s")


@pytest.mark.parametrize("t", [2.0, 4.5, 9.0])
def test_timeline_snapshot(t: float, tmp_path: Path) -> None:
    check_snapshot(f"timeline_t{t}", timeline_svg(t), tmp_path)


def test_timeline_zoomed_in_follows_the_present(tmp_path: Path) -> None:
    check_snapshot("timeline_t9.0_zoomed", timeline_svg(9.0, spc=0.04), tmp_path)


async def app_svg(t: float, size: tuple[int, int], dialog: bool = False, typed: str = "",
                  network_dialog: bool = False) -> str:
    app = AsyncfcApp(None, wall=lambda: 0.0)
    async with app.run_test(size=size) as pilot:
        for event in demo_events():
            if event.t <= t:
                app.feed(event)
        app.clock.freeze(t)
        if typed:  # what the prompt's completion menu shows for it
            await pilot.click("#prompt")
            await pilot.press(*typed)
        else:
            await pilot.press("ctrl+t")  # focus the timeline: no blinking cursor in the prompt
        if dialog:  # what an approval request shows (the app only opens it for a live engine)
            lane = app.state.futures["f4"]
            app.push_screen(ApprovalDialog(lane.id, lane.tool, lane.approval_preview, lane.args, rule=lane.tool))
        if network_dialog:  # a command the sandbox keeps off the network: "w" runs it with network
            lane = app.state.futures["f6"]
            app.push_screen(ApprovalDialog(lane.id, lane.tool, "$ make docs", lane.args, network=True,
                                           rule="shell(make docs)"))
        app.refresh_views()
        return await settled(pilot, title=f"asyncfc at t={t}s")


@pytest.mark.parametrize(("t", "size"), [(3.0, (160, 44)), (9.0, (80, 24)), (9.0, (120, 36)), (9.0, (200, 60))])
def test_app_snapshot(t: float, size: tuple[int, int], tmp_path: Path) -> None:
    result: list[str] = []

    async def main() -> None:
        result.append(await app_svg(t, size))

    run(main)
    check_snapshot(f"app_t{t}_{size[0]}x{size[1]}", result[0], tmp_path)


def test_approval_dialog_snapshot(tmp_path: Path) -> None:
    result: list[str] = []

    async def main() -> None:
        result.append(await app_svg(3.0, (120, 36), dialog=True))

    run(main)
    check_snapshot("approval_t3.0_120x36", result[0], tmp_path)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_approval_dialog_with_the_network_option_snapshot(size: tuple[int, int], tmp_path: Path) -> None:
    result: list[str] = []

    async def main() -> None:
        result.append(await app_svg(3.0, size, network_dialog=True))

    run(main)
    check_snapshot(f"approval_network_t3.0_{size[0]}x{size[1]}", result[0], tmp_path)


def test_slash_menu_snapshot_at_80x24(tmp_path: Path) -> None:
    result: list[str] = []

    async def main() -> None:
        result.append(await app_svg(9.0, (80, 24), typed="/"))

    run(main)
    check_snapshot("slash_menu_t9.0_80x24", result[0], tmp_path)
