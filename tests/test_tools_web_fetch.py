"""web_fetch: markdown from HTML, size and redirect limits, and no access to the local network
unless allowed (a loopback server is the local network here, so most tests allow it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from web_pages import PageServer

from asyncfc_tools import ToolContext, ToolError, ToolSettings
from asyncfc_tools.web_fetch import html_to_markdown, is_public_address, web_fetch

PAGE = b"""<html><head><title>T</title><style>p {color: red}</style></head>
<body><h1>Release notes</h1><script>alert('x')</script>
<p>Version <b>2.0</b> adds <a href="/docs">docs</a>.</p><ul><li>one</li><li>two</li></ul></body></html>"""


@pytest.fixture
def server():
    httpd = PageServer()
    base = f"http://127.0.0.1:{httpd.port}"
    httpd.routes = {
        "/page": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE),
        "/text": (200, {"Content-Type": "text/plain"}, b"plain text\n" * 3),
        "/big": (200, {"Content-Type": "text/plain"}, b"x" * 50_000),
        "/moved": (302, {"Location": "/page"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/binary": (200, {"Content-Type": "application/octet-stream"}, b"\0\1\2"),
        "/to-local": (302, {"Location": f"http://[::1]:{httpd.port}/page"}, b""),
    }
    with httpd.serving():
        yield base


def ctx(allow_local: bool = True) -> ToolContext:
    return ToolContext(Path.cwd(), settings=ToolSettings(web_allow_local=allow_local))


async def fetch(url, *, allow_local=True, **args):
    return await web_fetch.fn(ctx(allow_local), url=url, **args)


@pytest.mark.trio
async def test_html_becomes_markdown_without_scripts_or_styles(server):
    text = await fetch(f"{server}/page")
    assert text.splitlines()[0] == f"{server}/page"
    assert "# Release notes" in text and "Version **2.0** adds [docs](/docs)." in text
    assert "- one\n- two" in text
    assert "alert" not in text and "color" not in text


@pytest.mark.trio
async def test_text_comes_back_as_it_is_and_redirects_are_followed(server):
    assert (await fetch(f"{server}/text")).endswith("plain text\n" * 3)
    moved = await fetch(f"{server}/moved")
    assert moved.splitlines()[0] == f"{server}/page" and "# Release notes" in moved


@pytest.mark.trio
async def test_limits_in_words(server):
    big = await fetch(f"{server}/big", max_bytes=1000)
    assert big.endswith("[... cut at 1000 bytes: pass a larger max_bytes to see more ...]")
    assert big.splitlines()[2] == "x" * 1000
    with pytest.raises(ToolError, match="more than 5 redirects"):
        await fetch(f"{server}/loop")
    with pytest.raises(ToolError, match="application/octet-stream .* not text"):
        await fetch(f"{server}/binary")
    with pytest.raises(ToolError, match="answered HTTP 404: no such page"):
        await fetch(f"{server}/missing")
    with pytest.raises(ToolError, match="not an http:// or https:// address"):
        await fetch("file:///etc/passwd")


@pytest.mark.trio
async def test_the_local_network_is_refused_by_default(server):
    with pytest.raises(ToolError) as refused:
        await fetch(f"{server}/page", allow_local=False)
    assert "web_fetch refused 127.0.0.1: it resolves to 127.0.0.1" in str(refused.value)
    assert "web_allow_local" in str(refused.value)
    with pytest.raises(ToolError, match="refused localhost: it resolves to"):
        await fetch(f"{server.replace('127.0.0.1', 'localhost')}/page", allow_local=False)


@pytest.mark.trio
async def test_each_redirect_hop_is_checked_again(server, monkeypatch):
    import asyncfc_tools.web_fetch as module

    # Let the test server stand for a public host; its redirect to ::1 must still be refused.
    monkeypatch.setattr(module, "is_public_address", lambda address: address == "127.0.0.1")
    assert "# Release notes" in await fetch(f"{server}/page", allow_local=False)
    with pytest.raises(ToolError, match=r"refused ::1: it resolves to ::1"):
        await fetch(f"{server}/to-local", allow_local=False)


def test_public_addresses():
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.100.100.200",
                    "0.0.0.0", "::1", "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "224.0.0.1"):
        assert not is_public_address(address), address
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8"):
        assert is_public_address(address), address


def test_web_fetch_needs_approval_but_touches_nothing():
    effect = web_fetch.effect_of({"url": "https://example.com"}, None)
    assert effect.kind == "pure" and effect.needs_approval


def test_markdown_collapses_blank_runs():
    assert html_to_markdown("<p>a</p>\n\n\n<p>b</p>") == "a\n\nb"


def test_the_allow_local_setting_reaches_the_tool(tmp_path):
    from asyncfc_cli.config import Settings
    from asyncfc_cli.workspace import Workspace

    assert Workspace(tmp_path).tool_context(Settings()).settings.web_allow_local is False
    assert Workspace(tmp_path).tool_context(Settings(web_allow_local=True)).settings.web_allow_local is True
