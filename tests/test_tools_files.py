"""read_file, write_file, edit_file on real files in a temporary git repository."""

from __future__ import annotations

import os
import stat

import pytest

from asyncfc_tools import PathOutsideWorkspace, ToolError
from asyncfc_tools.files import edit_file, preview_change, read_file, write_file
from tools_repo import context, make_repo


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo", {
        "src/app.py": "def main():\n    print('hello')\n    return 0\n",
        "README.md": "# Demo\n",
    })


@pytest.fixture
def ctx(repo):
    return context(repo)


# ---- read_file


def test_read_file_numbers_lines(ctx):
    out = read_file.fn(ctx, "src/app.py")
    assert out.splitlines() == ["     1\tdef main():", "     2\t    print('hello')", "     3\t    return 0"]


def test_read_file_offset_and_limit_note_how_to_continue(ctx, repo):
    (repo / "many.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    out = read_file.fn(ctx, "many.txt", offset=10, limit=5)
    assert [line.split("\t")[1] for line in out.splitlines()[:5]] == [f"line {i}" for i in range(10, 15)]
    assert "showing lines 10-14 of 100; continue with offset=15" in out


def test_read_file_missing_file(ctx):
    with pytest.raises(ToolError, match="nope.py: no such file"):
        read_file.fn(ctx, "nope.py")


def test_read_file_folder_is_refused(ctx):
    with pytest.raises(ToolError, match="is a folder"):
        read_file.fn(ctx, "src")


def test_read_file_binary_file_gets_a_note(ctx, repo):
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    with pytest.raises(ToolError, match=r"logo.png is a binary file \(2\d\d bytes\)"):
        read_file.fn(ctx, "logo.png")


def test_read_file_replaces_bad_encoding(ctx, repo):
    (repo / "latin.txt").write_bytes(b"caf\xe9 ok\n")
    assert read_file.fn(ctx, "latin.txt") == "     1\tcaf\ufffd ok"


def test_read_file_huge_file_is_shown_in_part_with_how_to_read_a_range(ctx, repo):
    (repo / "big.log").write_text("".join(f"entry {i:07d} " + "x" * 60 + "\n" for i in range(100_000)))
    out = read_file.fn(ctx, "big.log")
    assert len(out) <= ctx.max_output_chars
    assert "big.log is large (7.2 MB, over the 256.0 KB cap" in out
    assert "of 100,000; continue with offset=" in out
    last = int(out.split("continue with offset=")[1].split()[0])
    nxt = read_file.fn(ctx, "big.log", offset=last, limit=2)
    assert nxt.splitlines()[0] == f"{last:>6}\tentry {last - 1:07d} " + "x" * 60


def test_read_file_offset_past_end(ctx):
    with pytest.raises(ToolError, match="offset 50 is past the end of src/app.py \\(3 lines\\)"):
        read_file.fn(ctx, "src/app.py", offset=50)


def test_read_file_empty_file(ctx, repo):
    (repo / "empty.txt").write_text("")
    assert read_file.fn(ctx, "empty.txt") == "(empty.txt is empty)"


@pytest.mark.parametrize("path", ["../outside.txt", "src/../../outside.txt"])
def test_dotdot_escape_is_refused(ctx, repo, path):
    (repo.parent / "outside.txt").write_text("secret")
    with pytest.raises(PathOutsideWorkspace, match="outside the workspace"):
        read_file.fn(ctx, path)


def test_absolute_path_outside_is_refused_inside_is_allowed(ctx, repo, tmp_path):
    (tmp_path / "other.txt").write_text("secret")
    with pytest.raises(PathOutsideWorkspace):
        read_file.fn(ctx, str(tmp_path / "other.txt"))
    assert "hello" in read_file.fn(ctx, str(repo / "src" / "app.py"))


def test_symlink_pointing_out_is_refused_for_read_write_and_edit(ctx, repo, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("token = 1\n")
    os.symlink(secret, repo / "link.txt")
    os.symlink(tmp_path, repo / "linkdir")
    for call in (lambda: read_file.fn(ctx, "link.txt"),
                 lambda: write_file.fn(ctx, "link.txt", "pwned"),
                 lambda: edit_file.fn(ctx, "link.txt", "token = 1", "token = 2"),
                 lambda: write_file.fn(ctx, "linkdir/new.txt", "pwned")):
        with pytest.raises(PathOutsideWorkspace):
            call()
    assert secret.read_text() == "token = 1\n"
    assert not (tmp_path / "new.txt").exists()


# ---- write_file


def test_write_file_creates_parents(ctx, repo):
    out = write_file.fn(ctx, "deep/er/new.txt", "a\nb\n")
    assert (repo / "deep/er/new.txt").read_text() == "a\nb\n"
    assert out == "created deep/er/new.txt (2 lines, 4 bytes)"


def test_write_file_overwrite_shows_diff_and_keeps_mode(ctx, repo):
    script = repo / "run.sh"
    script.write_text("echo 1\n")
    script.chmod(0o751)
    out = write_file.fn(ctx, "run.sh", "echo 2\n")
    assert script.read_text() == "echo 2\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o751
    assert "-echo 1\n+echo 2" in out
    assert not [p for p in repo.iterdir() if "asyncfc-tmp" in p.name]


def test_write_file_new_file_mode_follows_umask(ctx, repo):
    write_file.fn(ctx, "plain.txt", "x")
    assert stat.S_IMODE((repo / "plain.txt").stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_file_onto_folder_is_refused(ctx):
    with pytest.raises(ToolError, match="src is a folder"):
        write_file.fn(ctx, "src", "x")


# ---- edit_file


def test_edit_file_replaces_once_and_returns_diff(ctx, repo):
    out = edit_file.fn(ctx, "src/app.py", "print('hello')", "print('bye')")
    assert (repo / "src/app.py").read_text() == "def main():\n    print('bye')\n    return 0\n"
    assert out.startswith("edited src/app.py: 1 replacement\n--- a/src/app.py\n+++ b/src/app.py")
    assert "-    print('hello')\n+    print('bye')" in out


def test_edit_file_no_match_shows_closest_candidates(ctx, repo):
    with pytest.raises(ToolError) as err:
        edit_file.fn(ctx, "src/app.py", "print('helo')\n  return 0", "x")
    message = str(err.value)
    assert "`old` was not found" in message
    assert "near line 2" in message and "     2\t    print('hello')" in message
    assert (repo / "src/app.py").read_text().count("hello") == 1


def test_edit_file_two_matches_lists_them_and_changes_nothing(ctx, repo):
    (repo / "dup.py").write_text("x = 1\ny = 2\nx = 1\n")
    with pytest.raises(ToolError) as err:
        edit_file.fn(ctx, "dup.py", "x = 1", "x = 9")
    message = str(err.value)
    assert "matches 2 times" in message and "replace_all=true" in message
    assert "     1\tx = 1" in message and "     3\tx = 1" in message
    assert (repo / "dup.py").read_text() == "x = 1\ny = 2\nx = 1\n"


def test_edit_file_replace_all(ctx, repo):
    (repo / "dup.py").write_text("x = 1\ny = 2\nx = 1\n")
    assert "2 replacements" in edit_file.fn(ctx, "dup.py", "x = 1", "x = 9", replace_all=True)
    assert (repo / "dup.py").read_text() == "x = 9\ny = 2\nx = 9\n"


def test_edit_file_keeps_crlf_and_non_utf8_bytes(ctx, repo):
    (repo / "win.txt").write_bytes(b"caf\xe9\r\nold line\r\nend\r\n")
    edit_file.fn(ctx, "win.txt", "old line\nend", "new line\nend")
    assert (repo / "win.txt").read_bytes() == b"caf\xe9\r\nnew line\r\nend\r\n"


def test_edit_file_missing_binary_empty_and_identical(ctx, repo):
    (repo / "blob.bin").write_bytes(b"\0\1\2")
    with pytest.raises(ToolError, match="no such file"):
        edit_file.fn(ctx, "missing.py", "a", "b")
    with pytest.raises(ToolError, match="binary file"):
        edit_file.fn(ctx, "blob.bin", "a", "b")
    with pytest.raises(ToolError, match="`old` is empty"):
        edit_file.fn(ctx, "src/app.py", "", "b")
    with pytest.raises(ToolError, match="the same"):
        edit_file.fn(ctx, "src/app.py", "main", "main")


def test_preview_change_is_the_diff_and_touches_nothing(ctx, repo):
    before = (repo / "src/app.py").read_text()
    diff = preview_change(ctx, "edit_file", {"path": "src/app.py", "old": "return 0", "new": "return 1"})
    assert diff is not None and "-    return 0\n+    return 1" in diff
    assert "+hi" in (preview_change(ctx, "write_file", {"path": "n.txt", "content": "hi\n"}) or "")
    assert "will fail" in (preview_change(ctx, "edit_file", {"path": "src/app.py", "old": "zzz", "new": "y"}) or "")
    assert preview_change(ctx, "shell", {"command": "ls"}) is None
    assert (repo / "src/app.py").read_text() == before and not (repo / "n.txt").exists()


def test_write_file_under_a_file_is_a_clear_error(ctx):
    with pytest.raises(ToolError, match="cannot write README.md/sub.txt: README.md on its path is a file, not a folder"):
        write_file.fn(ctx, "README.md/sub.txt", "x")


def test_unreadable_file_is_a_clear_error(ctx, repo):
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    (repo / "secret.txt").write_text("x")
    (repo / "secret.txt").chmod(0)
    with pytest.raises(ToolError, match="cannot be read"):
        edit_file.fn(ctx, "secret.txt", "x", "y")
