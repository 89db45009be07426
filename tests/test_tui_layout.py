"""The layout from 80x24 up, checked as geometry (the SVG snapshots show the looks): the status
bar always fits, the futures table never scrolls sideways and shows its time column, the transcript
keeps room at 80x24 (the futures table folds away there; Ctrl-F swaps it in), and the palette's
Screenshot saves even where ~/Downloads does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.futures_table import FuturesTable
from asyncfc_cli.tui.status_bar import StatusBar, status_text
from asyncfc_cli.tui.synthetic import demo_events
from asyncfc_cli.tui.timeline import Timeline
from asyncfc_cli.tui.transcript_view import TranscriptView
from tui_helpers import run, settled, wait_for


async def fed(pilot, app: AsyncfcApp, t: float = 9.0) -> None:
    for event in demo_events():
        if event.t <= t:
            app.feed(event)
    app.clock.freeze(t)
    app.refresh_views()
    await settled(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 60)])
def test_every_part_fits_its_width(size: tuple[int, int]) -> None:
    async def main() -> None:
        app = AsyncfcApp(None, wall=lambda: 0.0)
        async with app.run_test(size=size) as pilot:
            await fed(pilot, app)
            bar = app.query_one(StatusBar)
            shown = status_text(app.state, 9.0, bar.size.width).plain
            assert len(shown) <= size[0] and shown.rstrip().endswith("9.0s"), shown  # nothing clipped
            table = app.query_one(FuturesTable)
            if table.display:
                assert table.virtual_size.width <= table.scrollable_content_region.width, size
                assert table.max_scroll_x == 0
                time_column = table.columns["time"]
                assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.size.width
                assert time_column.width == 6
            transcript = app.query_one(TranscriptView)
            assert transcript.size.height >= 10, transcript.size
            assert app.query_one(Timeline).size.height >= 6
    run(main)


def test_at_80x24_the_futures_table_folds_away_and_ctrl_f_swaps_it_in() -> None:
    async def main() -> None:
        app = AsyncfcApp(None, wall=lambda: 0.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await fed(pilot, app)
            assert not app.query_one(FuturesTable).display and app.query_one(Timeline).display
            await pilot.press("ctrl+f")
            await wait_for(pilot, lambda: app.query_one(FuturesTable).display and not app.query_one(Timeline).display)
            assert app.focused is app.query_one(FuturesTable)
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: app.query_one(Timeline).display and not app.query_one(FuturesTable).display)
            assert app.focused is app.query_one(Timeline)
    run(main)


def test_the_screenshot_is_saved_where_downloads_is_missing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path / "Downloads"))  # absent

    async def main() -> None:
        app = AsyncfcApp(None, wall=lambda: 0.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await fed(pilot, app)
            app.action_screenshot()
            folder = tmp_path / "state" / "asyncfc" / "screenshots"
            # written by a worker: wait for the whole file, not its name
            await wait_for(pilot, lambda: any("</svg>" in path.read_text() for path in folder.glob("*.svg")))
            [saved] = list(folder.glob("*.svg"))
            assert "<svg" in saved.read_text()
    run(main)


def test_at_80x24_the_footer_shows_every_key_that_matters_unclipped() -> None:
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    async def main() -> None:
        app = AsyncfcApp(None, wall=lambda: 0.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            keys = sorted(app.query(FooterKey), key=lambda k: k.region.x)
            shown = {k.key for k in keys}
            assert {"ctrl+c", "escape", "ctrl+t", "ctrl+f", "ctrl+b", "ctrl+p"} <= shown, shown
            assert app.query_one(Footer).max_scroll_x == 0
            for key, following in zip(keys, keys[1:]):
                assert key.region.right <= following.region.x, (key.key, following.key)  # no overlap
            assert all(k.region.right <= 80 and k.region.width == k.outer_size.width for k in keys)
    run(main)
