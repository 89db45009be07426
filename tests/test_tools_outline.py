"""The outline tool over files and folders of a temporary repository."""

from __future__ import annotations

import pytest

from asyncfc_tools import PathOutsideWorkspace, ToolError
from asyncfc_tools.outline import outline
from tools_repo import context, make_repo

PY = '''class Store:
    """Keeps things."""

    def get(self, key: str) -> bytes:
        def local():
            pass
        return b""

    async def put(self, key: str,
                  value: bytes) -> None:
        pass


def main() -> int:
    return 0
'''


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {
        "store.py": PY,
        "web/app.ts": "export class App {\n  run(port: number): void {}\n}\n",
        "svc/main.go": "package main\n\nfunc main() {}\n",
        "core/lib.rs": "pub struct P;\nimpl P {\n    pub fn new() -> Self { P }\n}\n",
        "main.c": "int main(void) { return 0; }\n",
        "vendor/.gitignore": "*\n",
        "vendor/skip.py": "def hidden(): pass\n",
    }, commit=False)


def test_outline_of_a_python_file(repo):
    assert outline.fn(context(repo), "store.py").splitlines() == [
        "store.py:",
        "  L1-11       class Store",
        "  L4-7          def get(self, key: str) -> bytes",
        "  L9-11         async def put(self, key: str, value: bytes) -> None",
        "  L14-15      def main() -> int",
    ]


def test_outline_of_a_folder_covers_every_language_and_honours_gitignore(repo):
    out = outline.fn(context(repo), ".")
    assert "web/app.ts:\n  L1-3        class App\n  L2            run(port: number): void" in out
    assert "svc/main.go:\n  L3          func main()" in out
    assert "core/lib.rs:\n  L1          pub struct P\n  L3          pub fn new() -> Self  (impl P)" in out
    assert "store.py:" in out and "main.c" not in out and "hidden" not in out


def test_outline_unsupported_language_is_a_clear_message(repo):
    with pytest.raises(ToolError, match=r"main.c: outline does not support this language; supported: Python"):
        outline.fn(context(repo), "main.c")


def test_outline_missing_binary_and_outside(repo):
    (repo / "blob.py").write_bytes(b"\0\0\0")
    with pytest.raises(ToolError, match="no such file"):
        outline.fn(context(repo), "gone.py")
    assert outline.fn(context(repo), "blob.py") == "blob.py: skipped (binary file)"
    with pytest.raises(PathOutsideWorkspace):
        outline.fn(context(repo), "../")


def test_outline_of_a_large_folder_stops_at_the_cap_with_a_note(tmp_path):
    files = {f"pkg/mod{i:03d}.py": "".join(f"def function_number_{j}(a, b):\n    pass\n" for j in range(30))
             for i in range(100)}
    root = make_repo(tmp_path / "big", files, commit=False)
    out = outline.fn(context(root, max_output_chars=5_000), "pkg")
    assert len(out) <= 5_000
    assert out.startswith("pkg/mod000.py:\n  L1-2        def function_number_0(a, b)")
    assert out.endswith("more source files not outlined; outline a subfolder or a single file to see them]")
