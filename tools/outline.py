"""The outline tool: classes, functions and methods of a file or folder, with signatures."""

from __future__ import annotations

from pathlib import Path

from ._api import READ_AGAIN, ToolContext, ToolError, reads, tool
from ._commit import check_live
from ._fs import SNIFF_BYTES, looks_binary, open_regular, require_file
from ._listing import workspace_files
from ._text import cap_text
from .code_tags import SUPPORTED, Tag, extract_tags, language_for

__all__ = ["outline", "render_outline"]

MAX_OUTLINE_BYTES = 1024 * 1024
"""Files larger than this are not parsed (generated or vendored code, almost always)."""
_MEMBER_OF = frozenset({"class", "interface", "struct", "enum", "trait", "module"})


def render_outline(tags: list[Tag]) -> list[str]:
    """One line per definition, ``L<first>-<last>`` then the signature, indented by nesting.

    Definitions nested in functions (local helpers) are left out: an outline shows the shape of
    a file, not every closure.
    """
    lines: list[str] = []
    stack: list[Tag] = []
    for tag in (t for t in tags if t.is_definition):
        while stack and stack[-1].end_line < tag.line:
            stack.pop()
        if stack and stack[-1].kind not in _MEMBER_OF:
            continue
        span = f"L{tag.line}" if tag.end_line <= tag.line else f"L{tag.line}-{tag.end_line}"
        text = tag.signature or f"{tag.kind} {tag.name}"
        if tag.kind == "method" and not stack and tag.parent and tag.parent not in text:
            text += f"  (impl {tag.parent})"  # Rust: the impl block itself is not a definition
        lines.append(f"  {span:<11} {'  ' * len(stack)}{text}")
        stack.append(tag)
    return lines


def _outline_file(real: Path, shown: str) -> list[str]:
    size = require_file(real, shown).st_size
    if size > MAX_OUTLINE_BYTES:
        return [f"{shown}: skipped ({size:,} bytes, over the {MAX_OUTLINE_BYTES:,}-byte outline cap)"]
    with open_regular(real, shown) as handle:
        source = handle.read()
    if looks_binary(source[:SNIFF_BYTES]):
        return [f"{shown}: skipped (binary file)"]
    body = render_outline(extract_tags(shown, source))
    return [f"{shown}:", *(body or ["  (no classes or functions)"])]


@tool(effect=reads("path"), recall=READ_AGAIN, subject="path",
      duration_priors={"outline": "outline"})
def outline(ctx: ToolContext, path: str) -> str:
    """Show the classes, functions and methods of a source file or folder, with their signature
    lines and line ranges (L<first>-<last>), nested as in the code. Cheaper than read_file for
    finding your way around; then read_file with offset/limit for the part you need.

    Supports Python, JavaScript, TypeScript (and TSX), Go and Rust.

    Args:
        path: a source file, or a folder (every supported file under it, honouring .gitignore).
    """
    real = ctx.resolve(path)
    shown = ctx.relative(real)
    if not real.exists():
        raise ToolError(f"{shown}: no such file or folder (use list_files to see what exists)")
    if not real.is_dir():  # a file, or a special file that _outline_file refuses by type
        if language_for(real) is None:
            require_file(real, shown)
            raise ToolError(f"{shown}: outline does not support this language; supported: {SUPPORTED}. "
                            "Use read_file or grep for it.")
        return cap_text("\n".join(_outline_file(real, shown)), ctx.max_output_chars, what="outline")
    root = ctx.resolve(".")
    files = [f for f in workspace_files(real) if language_for(f) and f.resolve().is_relative_to(root)]
    if not files:
        return f"(no supported source files under {shown}; outline supports {SUPPORTED})"
    return _outline_folder(files, root, ctx.max_output_chars)


def _outline_folder(files: list[Path], root: Path, limit: int) -> str:
    """Sections for the files in order, stopping (with a note) once ``limit`` is reached, so a
    large repository is not parsed in full for an answer that could not be shown anyway."""
    sections: list[str] = []
    used = 0
    for done, file in enumerate(files):
        check_live()
        shown = file.relative_to(root).as_posix()
        try:
            section = "\n".join(_outline_file(file, shown))
        except ToolError as exc:  # changed since it was listed (now a FIFO, gone...)
            section = f"{shown}: skipped ({exc})"
        if sections and used + len(section) > limit - 200:
            rest = len(files) - done
            sections.append(f"[... {rest:,} more source files not outlined; outline a subfolder "
                            "or a single file to see them]")
            break
        sections.append(section)
        used += len(section) + 2
    return cap_text("\n\n".join(sections), limit, what="outline")
