"""Imports run one way: the layers of docs/ARCHITECTURE.md, read from the import graph with ``ast``.

DESIGN.md: "CLI -> Session -> ModelClient and Scheduler -> tools"; renderers only consume events;
tools know nothing of sessions or models; the scheduler knows nothing of models; the front ends
(TUI, bench) import the engine, never the reverse; ``testing`` ships fakes nothing in the engine
uses. ``LAYERS`` below is that sentence as data; docs/ARCHITECTURE.md draws the same picture.

Every import counts, also the lazy ones inside functions and those under ``TYPE_CHECKING``: an
import hidden in a function still makes the lower module know the upper one.

The known exceptions are in ``ALLOWED``, each with its reason and the issue it waits on. The list
can only shrink: an entry that no longer matches an import fails the test, so a fix removes it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"asyncfc_cli": ROOT / "asyncfc_cli", "asyncfc_tools": ROOT / "tools",
            "asyncfc_prompts": ROOT / "prompts"}
"""Import name -> source folder (``tools/`` and ``prompts/`` are installed under other names)."""

LAYERS: tuple[dict[str, tuple[str, ...]], ...] = (
    # Libraries the engine uses; they know nothing of asyncfc_cli.
    {"tools": ("asyncfc_tools",), "prompts": ("asyncfc_prompts",)},
    # The vocabulary every layer speaks: errors, events, the futures protocol, settings.
    {"vocabulary": ("asyncfc_cli.__init__", "asyncfc_cli.errors", "asyncfc_cli.redaction", "asyncfc_cli.events",
                    "asyncfc_cli.futures", "asyncfc_cli.config", "asyncfc_cli.trust",
                    "asyncfc_cli.output_limit")},
    # The two things a session drives, which know nothing of each other: the model client, and the
    # execution of tool calls (scheduler, workspace, checkpoints, the repository map). MCP servers
    # are a source of tools.
    {"model": ("asyncfc_cli.model",),
     "execution": ("asyncfc_cli.scheduler", "asyncfc_cli.admission", "asyncfc_cli.live_output", "asyncfc_cli.protocol_tools",
                   "asyncfc_cli.durations", "asyncfc_cli.tool_latencies", "asyncfc_cli.workspace",
                   "asyncfc_cli.checkpoint", "asyncfc_cli.repomap", "asyncfc_cli.repomap_tags"),
     "mcp": ("asyncfc_cli.mcp",)},
    # The turn loop and what it needs: context budget, approval, prompts, transcripts.
    {"session": ("asyncfc_cli.session", "asyncfc_cli.streaming", "asyncfc_cli.early_wait", "asyncfc_cli.delivery",
                 "asyncfc_cli.outcomes", "asyncfc_cli.context", "asyncfc_cli.compaction",
                 "asyncfc_cli.summary", "asyncfc_cli.approval",
                 "asyncfc_cli.allow_rules", "asyncfc_cli.prompting", "asyncfc_cli.transcript",
                 "asyncfc_cli.saved_sessions", "asyncfc_cli.simtools", "asyncfc_cli.subagent",
                 "asyncfc_cli.controls", "asyncfc_cli.mentions", "asyncfc_cli.memory",
                 "asyncfc_cli.custom_commands", "asyncfc_cli.task_commands", "asyncfc_cli.status_report",
                 "asyncfc_cli.prompt_history")},
    # Wiring: concrete model, tools, gate and transcript put together (and the tool commands).
    {"wiring": ("asyncfc_cli.app", "asyncfc_cli.scripted_subagents", "asyncfc_cli.tool_commands")},
    # Fakes shipped for users' tests (scripted harness, local model servers): nothing in the engine
    # imports them.
    {"testing": ("asyncfc_cli.testing",)},
    # The view model the front ends share: the timeline folded from events, which the TUI draws
    # live and the benchmark plots after the fact.
    {"timeline": ("asyncfc_cli.timeline_state",)},
    # Front ends: they consume the engine's events, and none knows another.
    {"render": ("asyncfc_cli.render",), "tui": ("asyncfc_cli.tui",), "bench": ("asyncfc_cli.bench",)},
    # The command line: parses flags and picks the front end.
    {"cli": ("asyncfc_cli.cli", "asyncfc_cli.__main__", "asyncfc_cli.demo")},
)
"""Lowest first. A module may import its own component and the components of lower layers; the
components of one layer are independent of each other. A component is a list of module prefixes
(the longest match wins); a listed module that does not exist yet is fine (code of other branches
is classified before it lands)."""

ONLY: dict[str, tuple[str, ...]] = {"render": ("vocabulary",), "timeline": ("vocabulary",)}
"""Components narrower than their layer: renderers and the timeline only consume events."""

ADAPTERS = ("asyncfc_cli.model.litellm_client", "asyncfc_cli.model.litellm_worker",
            "asyncfc_cli.model.scripted")
"""Concrete model clients. Below the wiring only the model package itself imports them: the
session and everything it uses see the ``ModelClient`` protocol and provider-neutral helpers."""
ADAPTER_USERS = ("model", "wiring", "testing", "render", "tui", "bench", "cli")

WIRING = "asyncfc_cli.app"
"""Only the command line builds engines (STYLE 1: ``cli.py`` is where concrete things meet)."""

TOOL_MODULES = ("asyncfc_tools.files", "asyncfc_tools.run_tests", "asyncfc_tools.shell",
                "asyncfc_tools.search", "asyncfc_tools.outline", "asyncfc_tools.web_fetch")
"""A tool's own module. The engine learns a tool's facts from its declaration (``ToolSpec``), never
by importing the tool; shared helpers (``asyncfc_tools._api``, ``_git``, ``_sandbox``) are fine."""


@dataclass(frozen=True)
class Allowed:
    importer: str
    imported: str
    reason: str


ALLOWED: tuple[Allowed, ...] = ()
"""Empty since issue 15 item 2 was done; a new entry needs its reason and the issue it waits on."""


# --------------------------------------------------------------------------------------------------
# Reading the graph


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def module_files() -> Iterator[tuple[str, Path]]:
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def imports_of(module: str, path: Path) -> Iterator[Import]:
    """The project modules ``module`` imports, wherever in the file (functions included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from pkg import name`` may name a submodule: count it when one exists.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                yield Import(module, target, node.lineno)


MODULES = dict(module_files())
GRAPH = [imp for module, path in MODULES.items() for imp in imports_of(module, path)]


def component_of(module: str) -> tuple[int, str]:
    """(layer index, component name) by the longest listed prefix (the package ``asyncfc_cli``
    itself is listed as ``asyncfc_cli.__init__``, so that its prefix does not cover the rest)."""
    module = f"{module}.__init__" if module == "asyncfc_cli" else module
    best: tuple[int, int, str] | None = None
    for index, layer in enumerate(LAYERS):
        for name, prefixes in layer.items():
            for prefix in prefixes:
                if (module == prefix or module.startswith(prefix + ".")) and (
                        best is None or len(prefix) > best[0]):
                    best = (len(prefix), index, name)
    if best is None:
        raise LookupError(f"{module} is in no layer: add it to LAYERS (and to docs/ARCHITECTURE.md)")
    return best[1], best[2]


def problem(imp: Import) -> str | None:
    """Why ``imp`` runs against the layers, or None."""
    (low, mine), (their_layer, theirs) = component_of(imp.importer), component_of(imp.imported)
    if mine != theirs:
        if their_layer > low:
            return f"{mine} may not import the {theirs} layer above it"
        if their_layer == low:
            return f"{mine} and {theirs} are independent parts of one layer"
        layer_names = {name for layer in LAYERS[: low] for name in layer}
        allowed = ONLY.get(mine, tuple(layer_names))
        if theirs not in allowed:
            return f"{mine} may import only {', '.join(allowed)}"
    if imp.imported.startswith(ADAPTERS) and mine not in ADAPTER_USERS:
        return "a concrete model client is picked by the wiring, not used below it"
    if imp.imported == WIRING and mine != "cli" and imp.importer != WIRING:
        return "only the command line builds engines"
    if imp.imported.startswith(TOOL_MODULES) and mine not in ("tools", "wiring", "testing", "bench", "cli"):
        return "the engine learns a tool's facts from its declaration, not its module"
    return None


def allowed(imp: Import) -> bool:
    return any(a.importer == imp.importer and a.imported == imp.imported for a in ALLOWED)


# --------------------------------------------------------------------------------------------------
# The rules


def test_every_module_is_in_a_layer():
    unplaced = []
    for module in [*MODULES, *(imp.imported for imp in GRAPH)]:
        try:
            component_of(module)
        except LookupError as exc:
            unplaced.append(str(exc))
    assert not unplaced, "\n".join(sorted(set(unplaced)))


def test_imports_run_down_the_layers():
    wrong = sorted({f"{imp.importer}:{imp.line} imports {imp.imported}: {why}"
                    for imp in GRAPH if (why := problem(imp)) and not allowed(imp)})
    assert not wrong, "\n".join(wrong)


def test_every_exception_is_still_needed():
    """The allowlist only shrinks: once an import is fixed its entry must go."""
    live = [a for a in ALLOWED if a.importer in MODULES or any(
        m.startswith(a.importer + ".") for m in MODULES)]
    stale = [a for a in live
             if not any(imp.importer == a.importer and imp.imported == a.imported and problem(imp)
                        for imp in GRAPH)]
    assert not stale, "\n".join(f"{a.importer} -> {a.imported} is fixed: remove it" for a in stale)


def test_the_architecture_page_names_every_part():
    """docs/ARCHITECTURE.md draws the same layers: a module placed here is placed there too."""
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    prefixes = [p for layer in LAYERS for part in layer.values() for p in part if p != "asyncfc_cli.__init__"]
    missing = [p for p in prefixes
               if not any(f"`{name}{end}" in page for name in (p.removeprefix("asyncfc_cli."), p)
                          for end in ("`", "/`", ".py`"))]
    assert not missing, f"not in docs/ARCHITECTURE.md: {', '.join(missing)}"


@pytest.mark.parametrize("importer, imported, why", [
    ("asyncfc_tools.files", "asyncfc_cli.session", "above"),
    ("asyncfc_cli.scheduler", "asyncfc_cli.model.base", "independent"),
    ("asyncfc_cli.context", "asyncfc_cli.model.litellm_worker", "concrete model client"),
    ("asyncfc_cli.bench.runner", "asyncfc_cli.app", "only the command line"),
    ("asyncfc_cli.events", "asyncfc_cli.session", "above"),
    ("asyncfc_cli.render.text", "asyncfc_cli.scheduler", "may import only vocabulary"),
    ("asyncfc_cli.bench.plot", "asyncfc_cli.tui.timeline", "independent"),
    ("asyncfc_cli.timeline_state", "asyncfc_cli.session", "may import only vocabulary"),
    ("asyncfc_cli.session", "asyncfc_cli.testing.harness", "above"),
    ("asyncfc_cli.approval", "asyncfc_tools.files", "declaration"),
])
def test_the_rules_catch_the_imports_they_forbid(importer, imported, why):
    """The test can fail: each rule names what it refuses (most of these were real imports)."""
    assert why in (problem(Import(importer, imported, 1)) or "")


@pytest.mark.parametrize("importer, imported", [
    ("asyncfc_cli.session", "asyncfc_cli.model.base"),
    ("asyncfc_cli.session", "asyncfc_cli.scheduler"),
    ("asyncfc_cli.cli", "asyncfc_cli.app"),
    ("asyncfc_cli.render.jsonl", "asyncfc_cli.events"),
    ("asyncfc_cli.bench.runner", "asyncfc_cli.testing.harness"),
    ("asyncfc_cli.scheduler", "asyncfc_tools"),
    ("asyncfc_cli.bench.plot", "asyncfc_cli.timeline_state"),
    ("asyncfc_cli.tui.timeline", "asyncfc_cli.timeline_state"),
])
def test_the_rules_let_the_design_through(importer, imported):
    assert problem(Import(importer, imported, 1)) is None
