"""A vertical scroll that follows its end as its content grows, until the user scrolls up."""

from __future__ import annotations

from textual import events
from textual.containers import VerticalScroll
from textual.geometry import Size

__all__ = ["FollowingScroll"]


class FollowingScroll(VerticalScroll):
    """Stays at the bottom while the content grows, unless the user has scrolled up; scrolling
    back to the bottom follows again.

    The scroll to the end is taken when the layout has measured the content anew (its virtual
    size changed, or the view itself was resized), never queued when something is mounted: a
    mount is laid out later, and a scroll taken before that (on a slow machine, easily) would end
    at the old bottom. Not Textual's ``anchor()``: in Textual 8.2 it sets a negative offset while
    the content is shorter than the view (the content then hangs at the bottom with a void above,
    Textualize/textual#6652), and scrolling back down re-anchors only on the exact bottom row.
    """

    def __init__(self, *children, **kwargs) -> None:
        super().__init__(*children, **kwargs)
        self.following = True
        """Whether the view keeps to the end; only the user's scrolling (or ``follow``) changes it."""

    def follow(self) -> None:
        """Go to the end and keep to it (something the user asked to see was added)."""
        self.following = True
        self.scroll_end(animate=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Growth moves max_scroll_y, not scroll_y: only a scroll (the user's, or ours to the end) lands here.
        self.following = new_value >= self.max_scroll_y - 1

    def watch_virtual_size(self, size: Size) -> None:
        self._keep_to_the_end()

    def on_resize(self, event: events.Resize) -> None:
        self._keep_to_the_end()

    def _keep_to_the_end(self) -> None:
        if self.following:
            # After this layout pass has also set the container's size: max_scroll_y is then final.
            self.call_later(self.scroll_end, animate=False, immediate=True)
