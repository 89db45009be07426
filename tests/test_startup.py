"""Start-up and exit of a run: litellm is imported once, in the background, only for real models,
and the process settles for a prompt exit.

A real ``import litellm`` takes seconds, so most of these tests put a stand-in ``litellm`` package
first on the path of a subprocess: it records which thread imported it and streams one canned reply.
No timing is asserted; the tests check who imported what, how often, and what the run produced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FAKE_LITELLM = '''"""A stand-in for litellm: who imported it, and one canned streamed reply."""
import gc
import threading
from types import SimpleNamespace

import fake_gate

IMPORTED_BY = [threading.current_thread().name]
COLLECTING = gc.isenabled()  # whether the garbage collector ran during the import
fake_gate.started.set()
fake_gate.release.wait(30)  # a test may hold the import here to call in while it is running

suppress_debug_info = False
REQUESTS = []


class _Stream:
    def __init__(self, chunks):
        self._chunks = iter(chunks)

    def __iter__(self):
        return self._chunks

    def close(self):
        pass


def _chunk(text, finish, usage=None):
    delta = SimpleNamespace(content=text, tool_calls=None)
    return SimpleNamespace(choices=[SimpleNamespace(delta=delta, finish_reason=finish)], usage=usage)


def completion(**request):
    REQUESTS.append(request)
    if "mock_response" in request:  # the background warm-up
        return _Stream([])
    usage = SimpleNamespace(prompt_tokens=12, completion_tokens=3)
    return _Stream([_chunk("Done: nothing to change.", None), _chunk("", "stop", usage)])
'''

FAKE_GATE = '''import os
import threading

started = threading.Event()
release = threading.Event()
if not os.environ.get("FAKE_LITELLM_HOLD"):
    release.set()
'''


@pytest.fixture()
def fake_litellm(tmp_path: Path) -> dict[str, str]:
    """The environment of a subprocess that imports the stand-in instead of litellm."""
    folder = tmp_path / "fake"
    (folder / "litellm").mkdir(parents=True)
    (folder / "litellm" / "__init__.py").write_text(FAKE_LITELLM)
    (folder / "fake_gate.py").write_text(FAKE_GATE)
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hello.py").write_text("def hello():\n    return 'hi'\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def run_main(args: list[str], env: dict[str, str], cwd: Path, after: str) -> subprocess.CompletedProcess:
    """``asyncfc ARGS`` through ``cli.main`` in a subprocess; ``after`` runs once main has
    returned and prints what the test asserts on (its last line of stdout)."""
    code = (
        "import sys\n"
        f"sys.argv = ['asyncfc', *{args!r}]\n"
        "from asyncfc_cli.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"{after}\n"
    )
    env = {**env, "XDG_STATE_HOME": str(cwd / ".state"), "XDG_CACHE_HOME": str(cwd / ".cache")}
    env.pop("ASYNCFC_MODEL", None)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def last_json(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_headless_litellm_run_imports_litellm_once_in_the_background(fake_litellm, repo, tmp_path):
    transcript = tmp_path / "run.jsonl"
    args = ["run", "--headless", "--output", "jsonl", "--model", "openai/test-model",
            "--api-base", "http://127.0.0.1:9/v1", "--transcript", str(transcript), "say done"]
    after = (
        "import json, litellm\n"
        "real = [r for r in litellm.REQUESTS if 'mock_response' not in r]\n"
        "print(json.dumps({'code': code, 'imported_by': litellm.IMPORTED_BY, 'requests': len(real)}))"
    )
    result = run_main(args, {**fake_litellm, "OPENAI_API_KEY": "sk-test"}, repo, after)
    summary = last_json(result)
    assert summary == {"code": 0, "imported_by": ["asyncfc-litellm-import"], "requests": 1}, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()[:-1]]
    assert "".join(e.get("text", "") for e in events if e["type"] == "text_delta") == "Done: nothing to change."
    assert events[-1]["type"] == "session_finished" and events[-1]["exit_code"] == 0
    recorded = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert recorded[-1]["type"] == "session_finished"


def test_the_client_waits_for_the_background_import_instead_of_importing_again(fake_litellm):
    """The import is held half-way; the client's first request must wait for it, then stream."""
    code = """
import threading, trio, fake_gate
from asyncfc_cli.model import litellm_worker as worker
from asyncfc_cli.model.base import TextChunk, UserMessage
from asyncfc_cli.model.litellm_client import open_litellm

client = open_litellm("openai/test-model", "http://127.0.0.1:9/v1", env={})  # starts the import
assert fake_gate.started.wait(30)
held = worker._import_lock.locked()  # so anyone else asking for litellm now must wait

async def first_request():
    return [item.text async for item in client.stream([UserMessage("hi")], [])
            if isinstance(item, TextChunk)]

texts = []
requester = threading.Thread(target=lambda: texts.extend(trio.run(first_request)))
requester.start()
fake_gate.release.set()
requester.join(30)
worker._prewarm_thread.join(30)
import litellm
print(held, litellm.IMPORTED_BY, "".join(texts))
"""
    env = {**fake_litellm, "FAKE_LITELLM_HOLD": "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True ['asyncfc-litellm-import'] Done: nothing to change.", result.stderr


def test_the_cli_starts_the_import_before_the_engine_is_even_loaded(fake_litellm):
    code = """
import sys
from asyncfc_cli.cli import _start_model_import
from asyncfc_cli.config import Settings
from asyncfc_cli.model import litellm_worker as worker
_start_model_import(Settings(model="openai/test-model"))
worker._prewarm_thread.join(30)
import litellm
print(litellm.IMPORTED_BY, "asyncfc_cli.app" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], env=fake_litellm, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "['asyncfc-litellm-import'] False", result.stderr


SCENARIO = """
name: startup-check
profile: instant
steps:
  - answer: "Nothing to do."
"""


@pytest.mark.parametrize("form", ["file", "name"])
def test_a_scripted_run_never_starts_the_litellm_import(fake_litellm, repo, form):
    (repo / "scenario.yaml").write_text(SCENARIO)
    model = str(repo / "scenario.yaml") if form == "file" else "scripted:demo"
    args = ["run", "--headless", "--output", "jsonl", "--model", model, "--profile", "instant",
            "--simulate-tools", "say done"]
    after = (
        "import json\n"
        "from asyncfc_cli.model import litellm_worker as worker\n"
        "print(json.dumps({'code': code, 'started': worker._prewarm_thread is not None,"
        " 'imported': 'litellm' in sys.modules}))"
    )
    result = run_main(args, fake_litellm, repo, after)
    assert last_json(result) == {"code": 0, "started": False, "imported": False}, result.stderr


def test_main_freezes_what_is_alive_so_the_interpreter_exits_at_once(fake_litellm, repo):
    """The final garbage collections skip frozen objects; after litellm they took over a second."""
    (repo / "scenario.yaml").write_text(SCENARIO)
    args = ["run", "--headless", "--model", str(repo / "scenario.yaml"), "say done"]
    after = "import gc, json\nprint(json.dumps({'code': code, 'frozen': gc.get_freeze_count() > 1000}))"
    result = run_main(args, fake_litellm, repo, after)
    assert last_json(result) == {"code": 0, "frozen": True}, result.stderr


def test_litellm_imports_without_garbage_collection_and_its_objects_are_frozen(fake_litellm):
    """The import's ~390,000 long-lived objects cost a fifth of its CPU in collector passes, and
    every later full pass again: it runs with collection off, then they are frozen and collection
    is back on; had the program switched collection off itself, it stays off."""
    code = """
import gc, json, sys
from asyncfc_cli.model import litellm_worker
if sys.argv[1] == "off":
    gc.disable()
litellm = litellm_worker.import_litellm()
print(json.dumps({"during": litellm.COLLECTING, "after": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""
    for before in ("on", "off"):
        result = subprocess.run([sys.executable, "-c", code, before], env=fake_litellm, capture_output=True,
                                text=True, timeout=60)
        summary = last_json(result)
        assert summary["during"] is False and summary["after"] is (before == "on"), result.stderr
        assert summary["frozen"] > 1000  # everything alive then: the interpreter's, ours, litellm's
