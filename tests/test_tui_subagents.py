"""Sub-agents in the TUI: their futures fold under the ``agent`` row that started them."""

from __future__ import annotations

from pathlib import Path

from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.futures_table import FuturesTable
from asyncfc_cli.tui.synthetic import subagent_events
from test_tui_snapshots import check_snapshot
from tui_helpers import run, settled, wait_for

FOLDED = ["f1", "f1/f1", "f1/f2", "f1/f3", "f2", "f2/f1", "f2/f2", "f2/f3", "f2/f4", "f3", "f4", "f5"]


async def fed(app: AsyncfcApp, pilot, t: float) -> None:
    for event in subagent_events():
        if event.t <= t:
            app.feed(event)
            app.refresh_views()  # one sync per event: rows arrive one by one, as they do live
    app.clock.freeze(t)
    app.refresh_views()
    await settled(pilot)


def test_sub_agent_rows_sit_under_their_agent_row_with_whole_ids() -> None:
    async def main() -> None:
        app = AsyncfcApp(None, wall=lambda: 0.0)
        async with app.run_test(size=(160, 44)) as pilot:
            await fed(app, pilot, 5.0)
            table = app.query_one(FuturesTable)
            assert [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)] == FOLDED
            assert table.columns["id"].width == len("f1/f1")  # the columns grew: shown whole
            assert table.columns["tool"].width == len("↳ await_future")
            assert table.get_cell("f2/f3", "tool").plain == "↳ shell" and table.get_cell("f2", "tool").plain == "agent"
            assert table.get_cell("f2/f4", "deps").plain == "f2/f3"  # the sub-agent's own f3, not the parent's
            assert table.selected_id() == "f5"  # following the newest still ends on the last row

    run(main)


def test_the_cursor_stays_on_its_future_when_a_sub_agent_row_folds_in_above() -> None:
    async def main() -> None:
        app = AsyncfcApp(None, wall=lambda: 0.0)
        async with app.run_test(size=(160, 44)) as pilot:
            await fed(app, pilot, 2.9)  # before f1's sub-agent reads at 3.0
            table = app.query_one(FuturesTable)
            table.focus()
            table.select("f3")
            await wait_for(pilot, lambda: table.selected_id() == "f3")
            for event in subagent_events():
                if 2.9 < event.t <= 3.1:
                    app.feed(event)
            app.refresh_views()
            await settled(pilot)
            assert table.get_row_index("f1/f3") == 3 and table.selected_id() == "f3"

    run(main)


def test_app_with_sub_agents_snapshot(tmp_path: Path) -> None:
    result: list[str] = []

    async def main() -> None:
        app = AsyncfcApp(None, wall=lambda: 0.0)
        async with app.run_test(size=(160, 44)) as pilot:
            await fed(app, pilot, 5.0)
            await pilot.press("ctrl+t")  # focus the timeline: no blinking cursor in the prompt
            result.append(await settled(pilot, title="asyncfc with sub-agents at t=5.0s"))

    run(main)
    check_snapshot("app_subagents_t5.0_160x44", result[0], tmp_path)
