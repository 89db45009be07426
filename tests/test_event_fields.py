"""``EventBus.emit`` is typed: a type checker reads ``bus.emit(EventClass, field=...)`` like a call
of the event's constructor without ``t`` (the bus's own stamp), so ``.ci/typecheck`` checks the
fields of every event the package emits. This test keeps the signature that does it: it type-checks
a few calls with mypy and expects each wrong one to be refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncfc_cli.events import EventBus, Notice, SessionResumed, SessionStarted

ROOT = Path(__file__).resolve().parent.parent

CALLS = {
    'bus.emit(Notice, level="info", message="fine")': None,
    'bus.emit(Notice, level="info", message="x", parent="f1")': None,
    'bus.emit(Notice, levle="info", message="x")': 'Unexpected keyword argument "levle"',
    'bus.emit(Notice, message="x")': 'Missing named argument "level"',
    'bus.emit(FutureDelivered, id="f1", via="await", turn="2")': 'Argument "turn" to "emit"',
    'bus.emit(Notice, t=1.0, level="info", message="x")': 'Unexpected keyword argument "t"',
    'n: Notice = bus.emit(FutureDelivered, id="f1", via="await", turn=2)': "Incompatible types in assignment",
}
"""A call -> what mypy says of it (None: nothing)."""


def test_the_type_checker_checks_the_fields_of_every_emitted_event(tmp_path):
    api = pytest.importorskip("mypy.api")
    lines = ["from asyncfc_cli.events import EventBus, FutureDelivered, Notice", "bus = EventBus()", *CALLS]
    source = tmp_path / "emits.py"
    source.write_text("\n".join(lines) + "\n")
    (tmp_path / "mypy.ini").write_text("[mypy]\n")
    out, err, _ = api.run(["--config-file", str(tmp_path / "mypy.ini"), "--cache-dir", str(tmp_path / "cache"),
                           "--follow-imports", "silent", "--no-error-summary", "--hide-error-context",
                           str(source)])
    assert not err
    said: dict[int, list[str]] = {}
    for line in out.splitlines():
        where, _, message = line.partition(": error: ")
        if message:
            said.setdefault(int(where.rsplit(":", 1)[1]), []).append(message)
    for number, (call, expected) in enumerate(CALLS.items(), start=len(lines) - len(CALLS) + 1):
        messages = " | ".join(said.get(number, []))
        if expected is None:
            assert not messages, f"{call}: {messages}"
        else:
            assert expected in messages, f"{call}: mypy said {messages or 'nothing'}"


def test_the_bus_stamps_its_own_time_and_tells_a_resumed_start_apart():
    bus = EventBus(lambda: 5.0)
    bus.start_clock()
    assert bus.emit(Notice, level="info", message="x") == Notice(0.0, level="info", message="x")
    bus.resume_at(continues_at=12.0, prior_turns=3)
    start = bus.emit(SessionStarted, session_id="s", model="m", mode="async")
    assert start == SessionResumed(12.0, session_id="s", model="m", mode="async", continues_at=12.0,
                                   prior_turns=3)


def test_an_event_a_subscriber_emits_reaches_everyone_after_the_one_being_handed_out():
    """The start's notices (held until ``session_started``) must not reach a view subscribed later
    before the start itself."""
    bus = EventBus(lambda: 0.0)
    seen: dict[str, list[str]] = {"first": [], "second": []}

    def first(event) -> None:
        seen["first"].append(event.type)
        if isinstance(event, SessionStarted):
            bus.emit(Notice, level="warning", message="held until the start")
            bus.emit(Notice, level="info", message="and another")

    bus.subscribe(first)
    bus.subscribe(lambda event: seen["second"].append(event.type))
    bus.emit(SessionStarted, session_id="s", model="m", mode="async")
    assert seen["first"] == seen["second"] == ["session_started", "notice", "notice"]


def test_an_aborted_delivery_leaves_no_event_to_go_out_later_out_of_order():
    bus = EventBus(lambda: 0.0)
    seen: list[str] = []

    def first(event) -> None:
        if isinstance(event, SessionStarted):
            bus.emit(Notice, level="info", message="one")
            bus.emit(Notice, level="info", message="two")

    def second(event) -> None:
        seen.append(getattr(event, "message", event.type))
        if getattr(event, "message", "") == "one":
            raise KeyboardInterrupt  # an abort, not a broken view: it propagates

    bus.subscribe(first)
    bus.subscribe(second)
    with pytest.raises(KeyboardInterrupt):
        bus.emit(SessionStarted, session_id="s", model="m", mode="async")
    bus.emit(Notice, level="info", message="later")
    assert seen == ["session_started", "one", "later"]


class _ClosedOutput:
    def __call__(self, event) -> None:
        raise BrokenPipeError(32, "Broken pipe")


class _BrokenView:
    def __call__(self, event) -> None:
        raise ValueError("bad width")


@pytest.mark.parametrize(("view", "said"), [
    (_ClosedOutput(), "standard output was closed: _ClosedOutput stopped showing the session, which goes on"),
    (_BrokenView(), "_BrokenView failed (ValueError: bad width) and stopped showing the session"),
])
def test_a_view_that_fails_is_dropped_with_words_and_the_others_go_on(view, said, capsys):
    """``asyncfc run ... | head``: the text view's writes fail once head exits; the user reads why
    in words (no object repr), and the other subscribers (the transcript) keep every event."""
    bus = EventBus(lambda: 0.0)
    kept: list[str] = []
    bus.subscribe(view)
    bus.subscribe(lambda event: kept.append(event.message))
    for message in ("one", "two"):
        bus.emit(Notice, level="info", message=message)
    err = capsys.readouterr().err
    assert err.count("asyncfc: ") == 1 and said in err and " at 0x" not in err, err
    assert kept == ["one", "two"]
