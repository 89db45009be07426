"""A vertical scroll that keeps its end in view as its content grows, until the user scrolls up."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.geometry import Size

__all__ = ["FollowScroll"]


class FollowScroll(VerticalScroll):
    """Follows the end while it grows; scrolling up stops that, scrolling back to the bottom
    resumes it.

    Following reacts to the virtual size the layout sets once it knows the new content's height,
    not to a scroll queued when content is added: on a slow machine such a scroll can run before
    the layout has grown, and leave the view short of the end. Content shorter than the view stays
    at the top (Textual's ``anchor()`` would push it to the bottom).
    """

    _follow = True
    """Whether the end is being followed; each instance sets its own as the user scrolls."""

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._follow = new_value >= self.max_scroll_y - 1  # only scrolling moves this, not growth

    def watch_virtual_size(self, size: Size) -> None:
        if self._follow:
            self.scroll_end(animate=False)  # after this refresh, to the end the layout now knows

    def follow(self) -> None:
        """Go to the end and follow it again (the user asked for something new)."""
        self._follow = True
        self.scroll_end(animate=False)
