"""Session time for drawing "now" between events (the TUI's clock; the state it draws is
``timeline_state.TimelineState``)."""

from __future__ import annotations

__all__ = ["SessionClock"]


class SessionClock:
    """Maps the host's wall clock to session time, so views can draw "now" between events.

    Each observed event anchors the mapping (events are stamped on the session clock); in between,
    session time advances at ``rate`` session seconds per wall second (the replay speed, or 1). It
    never runs backwards, and ``freeze`` pins it (idle sessions and snapshot tests).
    """

    def __init__(self, rate: float = 1.0) -> None:
        self.rate = rate
        self._anchor_t: float | None = None
        self._anchor_wall = 0.0
        self._last = 0.0
        self._frozen: float | None = None

    def observe(self, t: float, wall: float) -> None:
        if self._anchor_t is None or self._frozen is not None or t >= self._project(wall):
            self._anchor_t, self._anchor_wall = t, wall
        self._frozen = None

    def freeze(self, t: float | None = None) -> None:
        """Stop the clock at ``t`` (default: where it is now); the next event starts it again."""
        self._frozen = self._last if t is None else t

    def _project(self, wall: float) -> float:
        if self._anchor_t is None:
            return 0.0
        return self._anchor_t + (wall - self._anchor_wall) * self.rate

    def now(self, wall: float) -> float:
        if self._frozen is not None:
            return self._frozen
        self._last = max(self._last, self._project(wall))
        return self._last
