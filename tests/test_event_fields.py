"""Every ``bus.emit(EventClass, field=...)`` names fields its event has, and all it requires.

``EventBus.emit(cls, **fields)`` builds the event at run time, so a type checker cannot see a
misspelt or missing field there; this test reads every ``emit`` call of the package with ``ast``
and checks its keywords against the event's dataclass fields (``t`` is the bus's own stamp).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from asyncfc_cli import events

ROOT = Path(__file__).resolve().parent.parent / "asyncfc_cli"


def _event_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> event class name, for the events a module imports (``as`` aliases too);
    ``ev.X`` through ``from .. import events as ev`` is read at the call."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("events"):
            for alias in node.names:
                if isinstance(getattr(events, alias.name, None), type):
                    names[alias.asname or alias.name] = alias.name
    return names


def _emitted_class(call: ast.Call, names: dict[str, str]) -> type[events.Event] | None:
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Name) and first.id in names:
        name = names[first.id]
    elif isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name) and first.value.id == "ev":
        name = first.attr
    else:
        return None
    cls = getattr(events, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, events.Event) else None


def emit_calls() -> list[tuple[str, type[events.Event], ast.Call]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _event_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit":
                cls = _emitted_class(node, names)
                if cls is not None:
                    found.append((f"{path.relative_to(ROOT.parent)}:{node.lineno}", cls, node))
    return found


def problems(where: str, cls: type[events.Event], call: ast.Call) -> list[str]:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    given = {k.arg for k in call.keywords if k.arg is not None}
    splat = any(k.arg is None for k in call.keywords)  # **fields: only the names written are checked
    wrong = [f"{where}: {cls.__name__} has no field {name!r}" for name in sorted(given - fields.keys())]
    if "t" in given:
        wrong.append(f"{where}: t is the bus's clock, not the caller's")
    required = {name for name, f in fields.items() if name != "t"
                and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    if not splat:
        wrong += [f"{where}: {cls.__name__} needs {name!r}" for name in sorted(required - given)]
    return wrong


def test_the_package_emits_events():
    """The scan finds the calls it checks (the session alone emits a dozen kinds)."""
    kinds = {cls for _, cls, _ in emit_calls()}
    assert {events.FutureCreated, events.SessionFinished, events.TextDelta} <= kinds
    assert len(kinds) >= 20


def test_every_emit_names_real_fields_and_all_required_ones():
    wrong = [p for where, cls, call in emit_calls() for p in problems(where, cls, call)]
    assert not wrong, "\n".join(wrong)


def test_a_misspelt_or_missing_field_is_caught():
    call = ast.parse('bus.emit(Notice, levle="info")').body[0].value
    assert problems("x.py:1", events.Notice, call) == [
        "x.py:1: Notice has no field 'levle'", "x.py:1: Notice needs 'level'", "x.py:1: Notice needs 'message'"]
