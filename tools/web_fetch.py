"""``web_fetch``: a web page as markdown (HTML) or text, within time and size limits, never from the
user's own network unless the user allows it.

This module stands on the model's side of the trust boundary: the URL (and every redirect a
server answers with) is hostile. So:

- only ``http``/``https``; at most ``MAX_REDIRECTS`` redirects, each one checked like the first;
- every connection goes through ``_PublicOnly``, a network backend that resolves the host itself,
  refuses it unless every address is public (``is_global``: no loopback, private ranges, link-local
  or cloud metadata addresses, no shared or reserved space) and connects to the address it checked,
  so a name that resolves differently a moment later (DNS rebinding) cannot slip past; redirects
  go through the same backend. ``allow_local`` (``Settings.web_allow_local``, passed in
  ``ToolSettings.web_allow_local``) lifts the check;
- no proxy from the environment, no cookies kept; the body is read up to ``max_bytes`` and the
  whole fetch is limited to ``TIMEOUT_S``.

HTML becomes markdown with markdownify (scripts, styles and other invisible elements removed);
text, JSON and XML come back as they are; anything else is refused in words. Its effect is pure (it
touches nothing in the workspace) but unconfined: it reaches the network, so it needs approval
under ``ask``.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

import trio

from ._api import Effect, ToolContext, ToolError, tool

__all__ = ["html_to_markdown", "is_public_address", "web_fetch"]

MAX_REDIRECTS = 5
TIMEOUT_S = 30.0
DEFAULT_MAX_BYTES = 100_000
MAX_BYTES = 2_000_000
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-yaml", "application/yaml", "application/toml")
_INVISIBLE = ("script", "style", "noscript", "template", "svg", "iframe", "head")


class LocalAddressRefused(ToolError):
    """The host resolves to an address on the user's own network (or the machine itself)."""


def is_public_address(address: str) -> bool:
    """Whether ``address`` (an IP) is on the public internet: not loopback, private, link-local
    (cloud metadata lives there), shared, multicast, reserved or unspecified. An IPv4 address
    mapped into IPv6 is judged as itself."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ToolError(f"web_fetch: cannot resolve {host!r}: {exc.strerror or exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _public_only_backend(allow_local: bool) -> Any:
    import httpcore

    class _PublicOnly(httpcore.AsyncNetworkBackend):
        """Connects only to public addresses, and only to the address it checked."""

        def __init__(self) -> None:
            self._inner = httpcore.AnyIOBackend()

        async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                              local_address: str | None = None, socket_options: Any = None) -> Any:
            addresses = await _resolve(host, port)
            local = [a for a in addresses if not is_public_address(a)]
            if local and not allow_local:
                raise LocalAddressRefused(
                    f"web_fetch refused {host}: it resolves to {local[0]}, an address on this machine "
                    "or its local network; only public addresses may be fetched (the user can allow "
                    "local ones with web_allow_local = true in their config)")
            failure: Exception | None = None
            for address in addresses:  # the checked addresses, in the resolver's order
                try:
                    return await self._inner.connect_tcp(address, port, timeout=timeout,
                                                         local_address=local_address, socket_options=socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    failure = exc
            assert failure is not None
            raise failure

        async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                      socket_options: Any = None) -> Any:
            raise LocalAddressRefused("web_fetch does not connect to local sockets")

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    return _PublicOnly()


def _client(allow_local: bool) -> Any:
    import httpcore
    import httpx

    transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
    # httpx takes no network backend, so its pool is replaced by one with the same TLS context
    # that connects through _PublicOnly (every hop of every redirect goes through it).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=transport._pool._ssl_context, network_backend=_public_only_backend(allow_local))
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False,
                             timeout=httpx.Timeout(TIMEOUT_S),
                             # identity: max_bytes then bounds what is read, not a compressed size
                             headers={"User-Agent": "asyncfc-web-fetch/0.1", "Accept-Encoding": "identity",
                                      "Accept": "text/html, text/*;q=0.9, */*;q=0.5"})


def _checked_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"web_fetch: {url!r} is not an http:// or https:// address")
    return url.strip()


def html_to_markdown(html: str) -> str:
    """The page's visible content as markdown (ATX headings, no scripts or styles)."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    for element in soup(list(_INVISIBLE)):
        element.decompose()
    text = MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(soup)
    lines = [line.rstrip() for line in text.splitlines()]
    # markdownify keeps the source's blank runs; more than one blank line only costs tokens.
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _render(body: bytes, content_type: str, charset: str | None) -> str:
    kind = content_type.split(";", 1)[0].strip().lower()
    text = body.decode(charset or "utf-8", errors="replace")
    if kind in ("text/html", "application/xhtml+xml") or (not kind and "<html" in text[:1000].lower()):
        return html_to_markdown(text)
    if kind.startswith(_TEXT_TYPES) or kind.endswith(("+json", "+xml")) or not kind:
        return text
    raise ToolError(f"web_fetch: the page is {kind} ({len(body)} bytes or more), not text; it cannot be shown")


async def _fetch(client: Any, url: str, max_bytes: int) -> str:
    for _ in range(MAX_REDIRECTS + 1):
        async with client.stream("GET", url) as response:
            if response.is_redirect:
                location = response.headers.get("location", "")
                url = _checked_url(urljoin(url, location))
                continue
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    break
            cut = len(body) > max_bytes
            # Parsing a hostile page is CPU work: in a thread, so it never stalls the other calls.
            content = await trio.to_thread.run_sync(
                _render, bytes(body[:max_bytes]), response.headers.get("content-type", ""),
                response.charset_encoding, abandon_on_cancel=True)
            if response.status_code >= 400:
                raise ToolError(f"web_fetch: {url} answered HTTP {response.status_code}: "
                                f"{content[:500] or response.reason_phrase}")
            note = f"\n[... cut at {max_bytes} bytes: pass a larger max_bytes to see more ...]" if cut else ""
            return f"{url}\n\n{content}{note}"
    raise ToolError(f"web_fetch: more than {MAX_REDIRECTS} redirects, stopped at {url}")


@tool(effect=lambda args, root: Effect("pure", unconfined=True), subject="url")
async def web_fetch(ctx: ToolContext, url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Fetch a web page: HTML comes back as markdown, text files as they are.

    For documentation, issues, changelogs and other public pages. The first line of the result is
    the address the page finally came from (after redirects).

    Args:
        url: an http:// or https:// address.
        max_bytes: read at most this many bytes of the page (default 100000, at most 2000000).
    """
    import httpx

    url = _checked_url(url)
    if not 1 <= max_bytes <= MAX_BYTES:
        raise ToolError(f"web_fetch: max_bytes must be between 1 and {MAX_BYTES}")
    async with _client(ctx.settings.web_allow_local) as client:
        with trio.move_on_after(TIMEOUT_S) as scope:
            try:
                return await _fetch(client, url, max_bytes)
            except httpx.HTTPError as exc:
                raise ToolError(f"web_fetch: cannot fetch {url}: {exc or type(exc).__name__}") from None
    assert scope.cancelled_caught
    raise ToolError(f"web_fetch: {url} did not finish within {TIMEOUT_S:g}s")
