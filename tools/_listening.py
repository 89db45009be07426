"""Which TCP addresses a command's processes listen on, from /proc (Linux).

A background server is up once it listens, which is a fact, not a guess from its output going
quiet: ``listening_addresses`` lets the start of a background command end at that moment and
tell the model the address. Each process is looked up in its own network namespace
(``/proc/PID/net/tcp``), so a sandboxed server is found too. Where /proc cannot be read (not
Linux, another user's process) the answer is empty and the quiet-output rule decides alone.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Iterable

__all__ = ["listening_addresses"]

_LISTEN = "0A"


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _address(hex_address: str) -> str:
    """``0100007F:1F40`` -> ``127.0.0.1:8000`` (/proc writes the address in host byte order)."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if sys.byteorder == "little":  # each 32-bit word is written in the machine's order
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(raw)
    shown = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"{shown}:{int(port, 16)}"


def _listening(pid: int, inodes: set[str]) -> list[str]:
    found = []
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == _LISTEN and fields[9] in inodes:
                found.append(_address(fields[1]))
    return found


def listening_addresses(pids: Iterable[int]) -> list[str]:
    """The addresses (``127.0.0.1:8000``, ``[::]:5173``) that any of ``pids`` listens on, in
    order, without repeats."""
    found: list[str] = []
    for pid in pids:
        inodes = _socket_inodes(pid)
        if inodes:
            found += [a for a in _listening(pid, inodes) if a not in found]
    return found
