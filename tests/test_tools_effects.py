"""Effects finer than "exclusive": shell command classification, the runs effect, and checks that
report the files they changed."""

from __future__ import annotations

import json
import shutil

import pytest

from asyncfc_tools import UNRESOLVED, Effect
from asyncfc_tools._commands import command_effect
from asyncfc_tools._watch import changed_files, changes_note
from asyncfc_tools.run_tests import run_tests
from asyncfc_tools.shell import shell
from test_tools_run_tests import fake_venv
from tools_repo import context, make_repo

READS = Effect("reads", (".",), unconfined=True)


@pytest.mark.parametrize("command", [
    "git status", "git --no-pager log --oneline -5", "git diff HEAD~1 -- src", "ls -la src",
    "grep -rn 'def total' shop | head -20", "sed -n 10,20p shop/money.py", "wc -l *.py",
    "find . -name '*.py'", "cat a.py 2>&1 | sort | uniq -c", "rg -o foo >/dev/null",
    "sleep 1; echo part3", "sleep 5", "env", "env -0 | sort", "printf '%s\\n' a b", "seq 3", "true",
    "yes | head -3", "printenv HOME",
])
def test_read_only_commands_read_the_tree(command):
    assert command_effect(command) == READS


@pytest.mark.parametrize("command, caches", [
    ("pytest -q", ("tests",)),
    ("python -m pytest tests/test_a.py -k login 2>&1 | tail -30", ("tests",)),
    (".venv/bin/python3 -m mypy src", ("mypy",)),
    ("PYTHONPATH=src pytest -x", ("tests",)),
    ("ruff check . && mypy src && pyflakes src", ("ruff", "mypy")),
    ("cargo test", ("tests", "cargo")),
    ("npx tsc --noEmit", ()),
    ("uv run pytest", ("tests",)),
    ("python -m compileall -q -f shop", ("pycache",)),
    ("python3 -m unittest -v", ("tests",)),
])
def test_checks_run_with_their_caches(command, caches):
    assert command_effect(command) == Effect("runs", caches, unconfined=True)


@pytest.mark.parametrize("command", [
    "make", "env rm -rf build", "env --split-string='rm -rf build'", "env -S 'rm x'", "sleep 1 &", "seq 3 > n.txt", "rm -rf build", "echo hi > notes.txt", "cat a && rm b", "git commit -am x",
    "git diff --output=patch.txt", "sed -i s/a/b/ x.py", "ruff check --fix .", "black src",
    "npm test -- -u", "pytest --snapshot-update", "find . -name '*.pyc' -delete", "echo $(rm x)",
    "ls `touch y`", "(cd src && make)", "pytest &", "cat 'unbalanced", "sort -o out.txt in.txt",
    "python script.py", "./tests/pytest", "scripts/python -m pytest",
    "PYTEST_ADDOPTS='--snapshot-update' pytest", "FOO=1", "",
])
def test_anything_else_is_exclusive(command):
    assert command_effect(command).kind == "exclusive"


def test_a_test_run_that_would_write_is_exclusive():
    from asyncfc_tools import builtin_tools

    run_tests_spec = builtin_tools()["run_tests"]
    assert run_tests_spec.effect_of({"paths": ["tests"], "args": ["-k", "login"]}) == Effect("runs", ("tests",))
    assert run_tests_spec.effect_of({"args": ["--snapshot-update"]}).kind == "exclusive"
    assert run_tests_spec.effect_of({"args": UNRESOLVED}).kind == "exclusive"  # not known yet


def test_runs_conflicts():
    tests, ruff = Effect("runs", ("tests",)), Effect("runs", ("ruff",))
    assert not tests.conflicts_with(Effect("reads", (".",))) and not tests.conflicts_with(ruff)
    assert tests.conflicts_with(Effect("runs", ("tests",)))
    assert tests.conflicts_with(Effect("writes", ("a.py",))) and Effect("writes", ("a.py",)).conflicts_with(tests)
    assert tests.conflicts_with(Effect("exclusive")) and not tests.conflicts_with(Effect("pure"))
    assert tests.mutates and READS.needs_approval and not READS.mutates
    assert not Effect("reads", ("a.py",)).needs_approval


def test_changed_files_and_the_note():
    before = {"a.py": (1, 10), "b.py": (1, 5)}
    after = {"a.py": (2, 10), "c.py": (3, 1)}
    assert changed_files(before, after) == ["a.py", "b.py", "c.py"]
    assert changes_note([]) == ""
    note = changes_note([f"f{i}.txt" for i in range(12)])
    assert "f0.txt, f1.txt" in note and "and 2 more" in note and "read them again" in note


@pytest.mark.trio
async def test_a_test_run_reports_the_files_it_changed(tmp_path):
    root = make_repo(tmp_path / "repo", {
        ".gitignore": ".venv/\n",
        "data.txt": "old\n",
        "tests/test_rewrites.py": "from pathlib import Path\n\ndef test_rewrite():\n"
                                  "    Path('data.txt').write_text('new')\n",
        "tests/test_clean.py": "def test_ok():\n    assert True\n",
    })
    fake_venv(root)
    out = await run_tests.fn(context(root, shell_timeout_s=60), paths=["tests/test_rewrites.py"])
    assert out.startswith("pytest: 1 passed")
    assert out.splitlines()[-1].startswith("note: these files changed while this ran") and "data.txt" in out
    # pytest's own caches (.pytest_cache, __pycache__) are not changes worth reporting.
    clean = await run_tests.fn(context(root, shell_timeout_s=60), paths=["tests/test_clean.py"])
    assert "note:" not in clean


@pytest.mark.trio
async def test_a_check_command_reports_changes_and_other_commands_are_not_watched(tmp_path):
    root = make_repo(tmp_path / "repo", {
        ".gitignore": ".venv/\n",
        "tests/test_rewrites.py": "from pathlib import Path\n\ndef test_rewrite():\n"
                                  "    Path('made.txt').write_text('x')\n",
    })
    fake_venv(root)
    ran = await shell.fn(context(root), command=".venv/bin/python -m pytest -q -p no:cacheprovider 2>&1 | tail -3")
    assert "1 passed" in ran and ran.splitlines()[-1].startswith("note: these files changed") and "made.txt" in ran
    again = await shell.fn(context(root), command="touch other.txt")
    assert "note:" not in again  # an exclusive command may change anything: nothing to report


@pytest.mark.trio
@pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None, reason="needs node and npm")
async def test_npm_test_runs_with_ci_set_so_runners_never_watch(tmp_path):
    script = "node -e \"process.exit(process.env.CI === 'true' ? 0 : 7)\""
    root = make_repo(tmp_path / "pkg", {"package.json": json.dumps({"name": "p", "scripts": {"test": script}})})
    out = await run_tests.fn(context(root, shell_timeout_s=60))
    assert "exit code 0" in out, out


def declared(*paths, background=False):
    return Effect("declared", paths, unconfined=True, background=background)


@pytest.mark.parametrize("other, conflicts", [
    (Effect("reads", ("src/app.py",)), False),          # reads of other files run beside it
    (Effect("reads", ("build/app.o",)), True),          # a read of what it writes waits
    (Effect("reads", (".",)), True),
    (Effect("writes", ("src/app.py",)), True),           # it reads the whole tree
    (Effect("runs", ("tests",)), True),                  # a run reads what it writes
    (declared(), True),                                  # the other reads what it writes
    (declared("dist/"), True),
    (Effect("exclusive"), True),
    (Effect("pure"), False),
])
def test_a_declared_command_reads_the_tree_and_writes_only_its_paths(other, conflicts):
    build = declared("build")
    assert build.conflicts_with(other) is conflicts and other.conflicts_with(build) is conflicts


@pytest.mark.parametrize("other, conflicts", [
    (Effect("reads", (".",)), False), (Effect("runs", ("tests",)), False), (declared(), False),
    (Effect("writes", ("a.py",)), True), (declared("build"), True), (Effect("exclusive"), True),
])
def test_a_command_declared_to_change_nothing_only_waits_for_writes(other, conflicts):
    assert declared().conflicts_with(other) is conflicts and other.conflicts_with(declared()) is conflicts
    assert not declared().mutates and declared().needs_approval and declared("build").mutates


def test_the_shell_effect_takes_the_models_declaration_over_the_classifier():
    from asyncfc_tools import builtin_tools
    shell_spec = builtin_tools()["shell"]
    assert shell_spec.effect_of({"command": "make", "writes": ["build/", "src/gen_*.py", "**/*.o"]}) == \
        declared("build", "src/gen_*.py", "**/*.o")
    assert shell_spec.effect_of({"command": "rm -rf x", "writes": []}) == declared()
    assert shell_spec.effect_of({"command": "npm run dev", "background": True}) == declared(background=True)
    assert shell_spec.effect_of({"command": "vite", "background": "true", "writes": "dist"}) == \
        declared("dist", background=True)
    assert shell_spec.effect_of({"command": "make", "writes": [3]}).paths == (".",)
    assert shell_spec.effect_of({"command": "make"}).kind == "exclusive"


@pytest.mark.parametrize("pattern, read, conflicts", [
    ("src/gen_*.py", "src/gen_api.py", True), ("src/gen_*.py", "src/app.py", False),
    ("src/gen_*.py", "src", True), ("src/gen_*.py", ".", True), ("src/gen_*.py", "docs", False),
    ("*.egg-info", "src/app.py", False), ("*.egg-info", "shop.egg-info/PKG-INFO", True),
    ("**/*.o", "src/a.c", False), ("**/*.o", "a.o", True), ("**/*.o", "src/lib/a.o", True),
])
def test_declared_globs_conflict_only_with_reads_they_can_share_a_file_with(pattern, read, conflicts):
    assert declared(pattern).conflicts_with(Effect("reads", (read,))) is conflicts


def test_a_declaration_covers_what_lies_under_its_paths_and_globs():
    from asyncfc_tools._watch import outside_declaration
    changed = ["build/x/a.o", "a.o", "src/lib/b.o", "src/gen_api.py", "src/app.py", "notes.txt"]
    assert outside_declaration(changed, ["build/", "**/*.o", "src/gen_*.py"]) == ["src/app.py", "notes.txt"]
    assert outside_declaration(changed, ["."]) == []
    assert outside_declaration(changed, []) == changed
