"""The TUI is handed its engine: ``cli.py`` wires it (``app.build_engine``), the TUI only hosts it."""

from __future__ import annotations

import json
import subprocess

from asyncfc_cli.errors import EXIT_USAGE, ConfigError


def test_the_command_line_hands_the_tui_a_factory_of_interactive_engines(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from asyncfc_cli import cli, tui
    from asyncfc_cli.events import EventBus

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    scenario = tmp_path / "answer.json"
    scenario.write_text(json.dumps({"name": "answer", "steps": [{"answer": "Nothing to do."}]}))
    built = []

    def fake_run_tui(make_engine, task=None, earlier=()):
        bus = EventBus()
        engine = make_engine(bus)
        built.append((bus, engine, task, earlier))
        if engine.transcript is not None:
            engine.transcript.close()
        if engine.sandbox is not None:
            engine.sandbox.close()
        return 0

    monkeypatch.setattr(tui, "run_tui", fake_run_tui)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state")}
    result = CliRunner().invoke(cli.app, ["--cwd", str(repo), "--model", str(scenario)], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [(bus, engine, task, earlier)] = built
    assert task is None and earlier == ()  # a new session: nothing earlier to show
    assert engine.session.bus is bus  # the app's bus: it sees every event of the session
    assert engine.gate.policy == "ask"  # interactive: a mutating call waits for the user


def test_an_engine_that_cannot_be_built_is_reported_before_any_screen(capsys):
    from asyncfc_cli.tui import run_tui

    def make_engine(bus):
        raise ConfigError("no model configured")

    assert run_tui(make_engine, task="fix it") == EXIT_USAGE
    assert capsys.readouterr().err == "asyncfc: no model configured\n"
