"""The built-in tool set as the model sees it: names, required parameters, effects (a contract)."""

from __future__ import annotations

from pathlib import Path

from asyncfc_tools import UNRESOLVED, Effect, builtin_tools

CONTRACT = {  # DESIGN.md's table: name -> (required parameters, optional parameters at least)
    "read_file": (["path"], {"offset", "limit"}),
    "write_file": (["path", "content"], set()),
    "edit_file": (["path", "old", "new"], {"replace_all"}),
    "list_files": ([], {"path", "pattern"}),
    "grep": (["pattern"], {"path", "glob"}),
    "outline": (["path"], set()),
    "shell": (["command"], {"timeout_s"}),
    "run_tests": ([], {"paths", "args"}),
    "web_fetch": (["url"], {"max_bytes"}),
}


def test_names_order_and_parameters_follow_the_design_table():
    tools = builtin_tools()
    assert list(tools) == list(CONTRACT)
    for name, (required, optional) in CONTRACT.items():
        params = tools[name].parameters
        assert params["required"] == required, name
        assert optional <= set(params["properties"]), name
        assert tools[name].description, name
        assert all(p.get("description") for p in params["properties"].values()), name


def test_effects():
    tools = builtin_tools()
    root = Path("/repo")
    assert tools["read_file"].effect_of({"path": "a.py"}, root).kind == "reads"
    assert tools["read_file"].effect_of({"path": "a.py"}, root).paths == ("a.py",)
    assert tools["write_file"].effect_of({"path": "src/a.py", "content": ""}, root).paths == ("src/a.py",)
    assert tools["edit_file"].effect_of({"path": "a.py", "old": "", "new": ""}, root).kind == "writes"
    assert tools["list_files"].effect_of({}, root).paths == (".",)
    assert tools["grep"].effect_of({"pattern": "x", "path": "src"}, root).paths == ("src",)
    assert tools["outline"].effect_of({"path": "src"}, root).kind == "reads"
    assert tools["shell"].effect_of({"command": "ls"}, root).kind == "reads"
    assert tools["shell"].effect_of({"command": "make install"}, root).kind == "exclusive"
    assert tools["shell"].effect_of({"command": UNRESOLVED}, root).kind == "exclusive"
    assert tools["write_file"].effect_of({"path": UNRESOLVED}, root) == Effect("writes", (".",))
    assert tools["run_tests"].effect_of({}, root) == Effect("runs", ("tests",))
    assert tools["shell"].is_async and tools["run_tests"].is_async and not tools["read_file"].is_async


def test_schemas_are_openai_function_schemas():
    schema = builtin_tools()["edit_file"].schema()
    assert schema["type"] == "function"
    assert schema["function"]["parameters"]["properties"]["replace_all"]["type"] == "boolean"
    assert builtin_tools()["run_tests"].parameters["properties"]["paths"]["type"] == "array"
