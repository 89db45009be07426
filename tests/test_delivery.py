"""The delivery ledger on plain records, without an event loop: placeholders handed out, values
delivered once each and said how, nothing owed left behind."""

from asyncfc_tools import Effect

from asyncfc_cli.delivery import Deliveries
from asyncfc_cli.events import EventBus
from asyncfc_cli.futures import State, ToolCall
from asyncfc_cli.protocol_tools import Awaited
from asyncfc_cli.scheduler import FutureRecord


def record(fid, state=State.RUNNING, text=None, **fields):
    rec = FutureRecord(fid, ToolCall(f"call_{fid}", "shell", "{}"), 1, {}, None, Effect("exclusive"), **fields)
    rec.state, rec.text = state, text
    return rec


def ledger():
    events = []
    bus = EventBus(clock=lambda: 0.0)
    bus.subscribe(events.append)
    return Deliveries(bus), events


def test_a_finished_call_gets_its_value_and_a_running_one_its_placeholder():
    deliveries, events = ledger()
    done, running = record("f1", State.DONE, "ok"), record("f2")
    messages = deliveries.tool_messages([done, running], turn=2)
    assert [m.content for m in messages][0] == "ok" and "f2" in messages[1].content
    assert messages[1].content != "ok" and [m.call_id for m in messages] == ["call_f1", "call_f2"]
    assert [(e.type, e.id, getattr(e, "via", None)) for e in events] == [
        ("future_delivered", "f1", "tool"), ("future_placeholder", "f2", None)]
    assert deliveries.outstanding({"f1": done, "f2": running}) == ["f2"]


def test_a_placeholder_is_delivered_once_when_it_finishes_in_id_order():
    deliveries, events = ledger()
    recs = {fid: record(fid) for fid in ("f9", "f10", "f11")}
    deliveries.tool_messages(list(recs.values()), turn=2)
    assert deliveries.due(recs.get, turn=3) is None  # nothing finished yet
    for fid in ("f10", "f9"):
        recs[fid].state, recs[fid].text = State.DONE, f"value of {fid}"
    message = deliveries.due(recs.get, turn=3)
    assert message.delivery and message.text.index("value of f9") < message.text.index("value of f10")
    assert deliveries.due(recs.get, turn=4) is None  # once only
    assert deliveries.outstanding(recs) == ["f11"]
    assert [(e.id, e.via, e.turn) for e in events if e.type == "future_delivered"] == [
        ("f9", "delivery", 3), ("f10", "delivery", 3)]


def test_what_an_await_carried_counts_as_delivered_and_a_model_cancel_is_never_delivered():
    deliveries, events = ledger()
    waited, cancelled = record("f1"), record("f2")
    deliveries.tool_messages([waited, cancelled], turn=2)
    waited.state, waited.text = State.DONE, "v"
    cancelled.state, cancelled.cancelled_by = State.CANCELLED, "f4"
    awaiting = record("f3", State.DONE, "<future id=f1>", returned=Awaited("<future id=f1>", ("f1",)))
    deliveries.tool_messages([awaiting], turn=3)
    recs = {"f1": waited, "f2": cancelled, "f3": awaiting}
    assert deliveries.due(recs.get, turn=4) is None and deliveries.outstanding(recs) == []
    assert [(e.id, e.via) for e in events if e.type == "future_delivered"] == [("f3", "tool"), ("f1", "await")]


def test_a_background_call_is_never_owed():
    deliveries, _ = ledger()
    server = record("f1", started_text="started in the background")
    server.effect = Effect("exclusive", background=True)
    assert deliveries.tool_messages([server], turn=2)[0].content == "started in the background"
    assert deliveries.outstanding({"f1": server}) == []
