"""``web_fetch``: a web page as markdown (HTML) or text, within time and size limits, never from the
user's own network unless the user allows it.

This module stands on the model's side of the trust boundary: the URL (and every redirect a
server answers with) is hostile. So:

- only ``http``/``https``; at most ``MAX_REDIRECTS`` redirects, each one checked like the first;
- every hop resolves the host itself and refuses it unless every address is public
  (``is_global``: no loopback, private ranges, link-local or cloud metadata addresses, no shared
  or reserved space; an IPv4 address inside IPv6 judged as itself; numeric forms such as
  ``2130706433`` resolve like any name), then sends the request to the address it checked, with
  the name in the Host header and TLS SNI (httpx's documented ``sni_hostname`` extension), so a
  name that resolves differently a moment later (DNS rebinding) cannot slip past.
  ``allow_local`` (``Settings.web_allow_local``, passed in ``ToolSettings.web_allow_local``)
  lifts the check;
- no proxy from the environment, no cookies kept; the body is read up to ``max_bytes`` and the
  whole fetch is limited to ``TIMEOUT_S``.

HTML becomes markdown with markdownify (scripts, styles and other invisible elements removed);
text, JSON and XML come back as they are; anything else is refused in words. Its effect is pure (it
touches nothing in the workspace) but unconfined: it reaches the network, so it needs approval
under ``ask``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import trio

from ._api import Effect, ToolContext, ToolError, tool

if TYPE_CHECKING:
    import httpx

__all__ = ["fetch_page", "html_to_markdown", "is_public_address", "resolve_host", "web_client", "web_fetch"]

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
    carried in IPv6 is judged as itself: mapped (``::ffff:a.b.c.d``), compatible (``::a.b.c.d``)
    or translated by NAT64 (``64:ff9b::a.b.c.d``, which a NAT64 gateway forwards to that IPv4
    address, private ones on its network included)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in network for network in _CARRYING_IPV4):
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not ip.is_multicast


_CARRYING_IPV4 = ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96")


Resolve = Callable[[str, int], Awaitable[list[str]]]
"""Finds the addresses of a host name (and port): ``resolve_host``, or a test's own."""


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order, without repeats.

    Raises:
        ToolError: it does not resolve.
    """
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ToolError(f"web_fetch: cannot resolve {host!r}: {exc.strerror or exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ToolError(f"web_fetch: cannot resolve {host!r}: it has no address")
    return addresses


def web_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The client a fetch goes through: no proxy or settings from the environment, no redirects
    followed by httpx (``fetch_page`` follows them, checking each), no compression.

    Args:
        transport: where requests go; by default the network (a test passes ``httpx.MockTransport``).
    """
    import httpx

    return httpx.AsyncClient(transport=transport or httpx.AsyncHTTPTransport(trust_env=False, retries=0),
                             follow_redirects=False, trust_env=False, timeout=httpx.Timeout(TIMEOUT_S),
                             # identity: max_bytes then bounds what is read, not a compressed size
                             headers={"User-Agent": "asyncfc-web-fetch/0.1", "Accept-Encoding": "identity",
                                      "Accept": "text/html, text/*;q=0.9, */*;q=0.5"})


def _checked_url(url: str) -> httpx.URL:
    import httpx

    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise ToolError(f"web_fetch: {url!r} is not a valid address: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise ToolError(f"web_fetch: {url!r} is not an http:// or https:// address")
    return parsed


async def _vetted_addresses(url: httpx.URL, allow_local: bool, resolve: Resolve) -> list[str]:
    """The addresses ``url``'s host resolves to, refused unless every one is public (or the user
    allows local ones): a name with one local address among public ones could be rebound to it."""
    host = url.raw_host.decode("ascii")
    addresses = await resolve(host, url.port or (443 if url.scheme == "https" else 80))
    local = [a for a in addresses if not is_public_address(a)]
    if local and not allow_local:
        raise LocalAddressRefused(
            f"web_fetch refused {host}: it resolves to {local[0]}, an address on this machine "
            "or its local network; only public addresses may be fetched (the user can allow "
            "local ones with web_allow_local = true in their config)")
    return addresses


async def _send_pinned(client: httpx.AsyncClient, url: httpx.URL, addresses: list[str]) -> httpx.Response:
    """GET ``url`` from the first of the vetted ``addresses`` that accepts a connection.

    The request names the address itself, so nothing resolves the host again (a name that answers
    differently a moment later, DNS rebinding, cannot slip past); the host goes in the ``Host``
    header and, for https, in TLS's SNI, against which the certificate is checked (httpx's
    documented ``sni_hostname`` request extension). The response is open: the caller closes it.
    """
    import httpx

    failure: httpx.HTTPError | None = None
    for address in addresses:
        # A scope (fe80::1%eth0) cannot stand in a URL; without it the connection may fail: next.
        request = client.build_request("GET", url.copy_with(host=address.split("%", 1)[0]),
                                       headers={"Host": url.netloc.decode("ascii")},
                                       extensions={"sni_hostname": url.raw_host.decode("ascii")})
        try:
            return await client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            failure = exc
    assert failure is not None
    raise failure


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


async def fetch_page(client: httpx.AsyncClient, url: str, max_bytes: int, *, allow_local: bool,
                     resolve: Resolve = resolve_host) -> str:
    """``url`` as the model sees it: the address it finally came from, then its content.

    Every hop (the first request and each redirect) is checked and pinned again
    (``_vetted_addresses``, ``_send_pinned``).

    Raises:
        ToolError: a refused or unresolvable host, too many redirects, an HTTP error status, a
            page that is not text.
        httpx.HTTPError: the connection or the exchange failed.
    """
    for _ in range(MAX_REDIRECTS + 1):
        target = _checked_url(url)
        response = await _send_pinned(client, target, await _vetted_addresses(target, allow_local, resolve))
        try:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                continue
            return await _read_page(response, url, max_bytes)
        finally:
            await response.aclose()
    raise ToolError(f"web_fetch: more than {MAX_REDIRECTS} redirects, stopped at {url}")


async def _read_page(response: httpx.Response, url: str, max_bytes: int) -> str:
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


def _reason(exc: BaseException) -> str:
    """What went wrong, in words: the first message along the exception's causes (httpx's own is
    empty when the trio backend fails a TLS handshake; the ssl error underneath says why)."""
    seen: BaseException | None = exc
    while seen is not None:
        if str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


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

    url = url.strip()
    if not 1 <= max_bytes <= MAX_BYTES:
        raise ToolError(f"web_fetch: max_bytes must be between 1 and {MAX_BYTES}")
    async with web_client() as client:
        with trio.move_on_after(TIMEOUT_S) as scope:
            try:
                return await fetch_page(client, url, max_bytes, allow_local=ctx.settings.web_allow_local)
            except httpx.HTTPError as exc:
                raise ToolError(f"web_fetch: cannot fetch {url}: {_reason(exc)}{_proxy_note()}") from None
    assert scope.cancelled_caught
    raise ToolError(f"web_fetch: {url} did not finish within {TIMEOUT_S:g}s{_proxy_note()}")


def _proxy_note() -> str:
    """Why a fetch may fail where the user's browser and pip work: a proxy set in the environment,
    which web_fetch does not use (a proxy resolves names itself, past the check of addresses)."""
    named = sorted({v.upper() for v in os.environ if v.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")})
    if not named:
        return ""
    return (f" (web_fetch connects directly, not through the proxy {' or '.join(named)} names: "
            "on a network reached only through it, web_fetch cannot fetch)")
