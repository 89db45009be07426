"""File I/O shared by the file tools: binary detection, lossless text reads, atomic writes.

Only regular files are ever read. A FIFO blocks its reader until someone writes to it, a device
may never end, a socket cannot be opened: each is refused by its type (``special_kind``), checked
with stat before opening and again on the opened descriptor, which is opened with O_NONBLOCK so
that even a file swapped for a FIFO in between cannot block the open.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

from ._api import ToolError
from ._commit import commit_point

__all__ = ["SNIFF_BYTES", "LinkOnPath", "atomic_write", "open_path_no_links", "is_binary", "is_regular", "looks_binary", "open_regular",
           "read_regular_text", "read_text", "require_file", "special_kind"]

SNIFF_BYTES = 8192
"""How much of a file is looked at to decide whether it is binary (as git does)."""


def looks_binary(head: bytes) -> bool:
    """True if these leading bytes look like a binary file: a NUL byte, as git and ripgrep decide."""
    return b"\0" in head


def is_binary(path: Path) -> bool:
    with open_regular(path, path.name) as handle:
        return looks_binary(handle.read(SNIFF_BYTES))


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_kind(mode: int) -> str | None:
    """What a file of this mode is in words, if it is not a regular file or a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "not a regular file")


def _refuse_special(info: os.stat_result, shown: str) -> None:
    kind = special_kind(info.st_mode)
    if kind is not None:
        raise ToolError(f"{shown} is {kind}, not a regular file; reading it could block forever, "
                        "so the file tools do not open it")


def is_regular(path: Path) -> bool:
    """Whether ``path`` (symlinks followed) is a regular file; False if it cannot be stat'ed."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def require_file(path: Path, shown: str) -> os.stat_result:
    """Stat ``path``, refusing missing paths, folders and special files (FIFOs, sockets, devices)
    with messages the model can act on."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ToolError(f"{shown}: no such file (use list_files to see what exists)") from None
    except OSError as exc:
        raise ToolError(f"{shown}: cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{shown} is a folder, not a file (use list_files to see inside it)")
    _refuse_special(info, shown)
    return info


def open_regular(path: Path, shown: str) -> BinaryIO:
    """Open a regular file for reading in binary mode, never blocking on a special file.

    Raises:
        ToolError: missing, a folder, a special file, or unreadable (named by ``shown``).
    """
    require_file(path, shown)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ToolError(f"{shown}: cannot be read: {exc.strerror}") from None
    try:
        _refuse_special(os.fstat(fd), shown)  # swapped for a FIFO after the stat
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular_text(path: Path) -> str | None:
    """The text of a regular file (undecodable bytes replaced); None if it is missing, special (a
    FIFO would block) or unreadable. For files the tools only consult: configs, test reports."""
    try:
        with open_regular(path, path.name) as handle:
            return handle.read().decode("utf-8", "replace")
    except (OSError, ToolError):
        return None


def read_text(path: Path, shown: str) -> str:
    """The whole text of a file, for editing: bytes that are not UTF-8 survive a round trip.

    Undecodable bytes become lone surrogates (``surrogateescape``) and are written back unchanged
    by ``atomic_write``, so editing one line never corrupts the rest of a Latin-1 file.

    Raises:
        ToolError: missing, a folder, or binary.
    """
    try:
        with open_regular(path, shown) as handle:
            data = handle.read()
    except OSError as exc:
        raise ToolError(f"{shown}: cannot be read: {exc.strerror}") from None
    if looks_binary(data[:SNIFF_BYTES]):
        raise ToolError(f"{shown} is a binary file ({len(data):,} bytes); only text files can be edited")
    return data.decode("utf-8", errors="surrogateescape")


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, text: str, shown: str, *, root: Path) -> bool:
    """Write ``text`` to ``path`` (a real path inside the folder ``root``) through a temporary file
    and a rename; returns True if created.

    Readers never see a half-written file; an existing file keeps its permission bits; missing
    parent folders are created. The folders are reached from ``root`` one name at a time through
    descriptors, following no symlink: ``path`` was resolved and checked before, and a command
    running beside the write (a background one, a sandboxed one allowed to write a sibling) could
    turn a folder on it into a link out of the workspace in between.

    Raises:
        ToolError: the file or a parent folder cannot be created or written (named by ``shown``), or
            a folder on its path has become a link.
    """
    base = Path(os.path.realpath(root))
    try:
        folders = path.parent.relative_to(base).parts
    except ValueError:
        raise ToolError(f"cannot write {shown}: it is not inside the workspace {base}") from None
    opened = [os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)]
    try:
        missing = _open_existing(opened, folders, shown)
        return _write_replace(opened, missing, path.name, text)
    except OSError as exc:
        raise ToolError(f"cannot write {shown}: {exc.strerror or exc}") from None
    finally:
        for fd in opened:
            os.close(fd)


_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class LinkOnPath(OSError):
    """A name on a path that was resolved and checked is now a symbolic link."""


def open_path_no_links(path: Path) -> int:
    """An ``O_PATH`` descriptor of ``path`` (an absolute real path), reached from ``/`` one name at
    a time, following no symbolic link: what to hand bubblewrap (``--bind-fd``) instead of the path,
    which it would follow, so a folder a command running beside turned into a link since the path
    was checked cannot open anything else. The caller closes it.

    Raises:
        LinkOnPath: a name on the path is a link now.
        OSError: a name on it is missing or cannot be opened.
    """
    fd = os.open("/", os.O_PATH | os.O_CLOEXEC)
    try:
        for name in path.parts[1:]:
            opened = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = opened
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                raise LinkOnPath(f"{path}: {name} on it is now a symbolic link")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_existing(opened: list[int], folders: tuple[str, ...], shown: str) -> tuple[str, ...]:
    """Open the folders that exist, each beneath the last (descriptors appended to ``opened``);
    the names still missing after them."""
    for index, name in enumerate(folders):
        try:
            opened.append(os.open(name, _FOLDER, dir_fd=opened[-1]))
        except FileNotFoundError:
            return folders[index:]
        except OSError as exc:
            if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                raise
            if stat.S_ISLNK(os.stat(name, dir_fd=opened[-1], follow_symlinks=False).st_mode):
                raise ToolError(f"cannot write {shown}: the folder {name} on its path is now a symbolic "
                                "link (it changed after the path was checked)") from None
            raise ToolError(f"cannot write {shown}: {name} on its path is a file, not a folder") from None
    return ()


def _write_replace(opened: list[int], missing: tuple[str, ...], name: str, text: str) -> bool:
    """Write the text to a temporary file in the last folder of ``opened`` (the nearest that
    exists), then, at the commit point, create the ``missing`` folders and rename it into place: a
    call stopped before the commit leaves nothing behind."""
    existing = opened[-1]
    temp = f".{name[:40]}.{secrets.token_hex(4)}.asyncfc-tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                 dir_fd=existing)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8", errors="surrogateescape"))
            handle.flush()
            os.fsync(handle.fileno())
            with commit_point():
                for folder in missing:
                    os.mkdir(folder, dir_fd=opened[-1])
                    opened.append(os.open(folder, _FOLDER, dir_fd=opened[-1]))
                try:
                    info = os.stat(name, dir_fd=opened[-1], follow_symlinks=False)
                    mode, created = stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else _default_mode(), False
                except FileNotFoundError:
                    mode, created = _default_mode(), True
                os.fchmod(handle.fileno(), mode)
                os.replace(temp, name, src_dir_fd=existing, dst_dir_fd=opened[-1])
    except BaseException:
        try:
            os.unlink(temp, dir_fd=existing)
        except OSError:
            pass
        raise
    return created
