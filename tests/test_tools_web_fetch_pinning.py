"""web_fetch sends each request to the address it vetted, naming the host in the Host header and
TLS SNI (httpx's documented ``sni_hostname`` extension), so no later lookup can lead it elsewhere;
numeric and IPv6 forms of this machine's addresses stay refused.

The seams are ``fetch_page``'s client (``web_client(transport)``) and its resolver."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trustme
from web_pages import PageServer

from asyncfc_tools import ToolContext, ToolError, ToolSettings
from asyncfc_tools.web_fetch import fetch_page, web_client, web_fetch

PUBLIC, OTHER_PUBLIC = "93.184.216.34", "93.184.216.35"


def resolver(*answers: list[str]):
    """A resolver that gives each answer in turn (the last one from then on), and counts lookups."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


def recording(routes: dict[str, httpx.Response]):
    """A MockTransport answering by path, and the requests it was sent."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "10.255.255.1":
            raise httpx.ConnectError("connection refused", request=request)
        return routes.get(request.url.path, httpx.Response(404, text="no such page"))

    return httpx.MockTransport(handle), seen


PAGE = httpx.Response(200, headers={"Content-Type": "text/plain"}, text="the page")


@pytest.mark.trio
async def test_the_request_goes_to_the_vetted_address_with_the_name_in_host_and_sni() -> None:
    transport, seen = recording({"/guide": PAGE})
    async with web_client(transport) as client:
        text = await fetch_page(client, "https://docs.example:8443/guide", 1000, allow_local=False,
                                resolve=resolver([PUBLIC]))
    assert text == "https://docs.example:8443/guide\n\nthe page"
    [request] = seen
    assert str(request.url) == f"https://{PUBLIC}:8443/guide"
    assert request.headers["host"] == "docs.example:8443"
    assert request.extensions["sni_hostname"] == "docs.example"


@pytest.mark.trio
async def test_an_ipv6_address_is_written_as_a_url_host() -> None:
    transport, seen = recording({"/": PAGE})
    async with web_client(transport) as client:
        await fetch_page(client, "http://docs.example/", 1000, allow_local=False,
                         resolve=resolver(["2606:2800:220:1:248:1893:25c8:1946"]))
    assert str(seen[0].url) == "http://[2606:2800:220:1:248:1893:25c8:1946]/"
    assert seen[0].headers["host"] == "docs.example"


@pytest.mark.trio
async def test_a_name_rebound_to_this_machine_is_refused_on_the_next_hop() -> None:
    transport, seen = recording({"/a": httpx.Response(302, headers={"Location": "/b"}), "/b": PAGE})
    resolve = resolver([PUBLIC], ["127.0.0.1"])
    async with web_client(transport) as client:
        with pytest.raises(ToolError, match="refused docs.example: it resolves to 127.0.0.1"):
            await fetch_page(client, "http://docs.example/a", 1000, allow_local=False, resolve=resolve)
    assert resolve.asked == ["docs.example", "docs.example"]
    assert [str(r.url) for r in seen] == [f"http://{PUBLIC}/a"]


@pytest.mark.trio
async def test_one_local_address_among_public_ones_refuses_the_host() -> None:
    transport, seen = recording({"/": PAGE})
    async with web_client(transport) as client:
        with pytest.raises(ToolError, match="refused docs.example: it resolves to 10.0.0.5"):
            await fetch_page(client, "http://docs.example/", 1000, allow_local=False,
                             resolve=resolver([PUBLIC, "10.0.0.5"]))
    assert seen == []


@pytest.mark.trio
async def test_an_address_that_refuses_the_connection_gives_way_to_the_next_vetted_one() -> None:
    transport, seen = recording({"/": PAGE})
    async with web_client(transport) as client:
        text = await fetch_page(client, "http://docs.example/", 1000, allow_local=True,
                                resolve=resolver(["10.255.255.1", OTHER_PUBLIC]))
    assert text.endswith("the page")
    assert [r.url.host for r in seen] == ["10.255.255.1", OTHER_PUBLIC]


@pytest.mark.trio
@pytest.mark.parametrize("url", [
    "http://2130706433/", "http://017700000001/", "http://0177.1/", "http://0x7f.1/", "http://127.1/", "http://0/",
    "http://[::1]/", "http://[::]/",
    "http://[::ffff:127.0.0.1]/", "http://[0:0:0:0:0:0:0:1]:8080/", "http://[::ffff:7f00:1]/",
    "http://[fe80::1]/", "http://169.254.169.254/latest/meta-data/",
])
async def test_numeric_and_ipv6_forms_of_local_addresses_are_refused(url: str) -> None:
    context = ToolContext(Path.cwd(), settings=ToolSettings(web_allow_local=False))
    with pytest.raises(ToolError, match=r"web_fetch refused .*: it resolves to .*only public addresses"):
        await web_fetch.fn(context, url=url)


@pytest.mark.trio
async def test_a_name_with_a_trailing_dot_is_checked_like_any_other() -> None:
    transport, seen = recording({"/": PAGE})
    async with web_client(transport) as client:
        with pytest.raises(ToolError, match=r"refused localhost\.: it resolves to ::1"):
            await fetch_page(client, "http://localhost./", 1000, allow_local=False,
                             resolve=resolver(["::1", "127.0.0.1"]))
    assert seen == []


@pytest.mark.trio
async def test_an_octal_address_is_refused_in_words() -> None:
    context = ToolContext(Path.cwd(), settings=ToolSettings(web_allow_local=False))
    with pytest.raises(ToolError, match="is not a valid address"):
        await web_fetch.fn(context, url="http://0177.0.0.1/")


# Over real TLS: the certificate is checked against the name, not the address connected to.

@pytest.fixture
def tls_server():
    """An https server on loopback with a certificate for docs.example only; yields it, the
    client's context trusting its authority, and the SNI names it was sent."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("docs.example").configure_cert(server_context)
    names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, context: names.append(name)
    httpd = PageServer({"/": (200, {"Content-Type": "text/plain"}, b"the page")})
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    with httpd.serving():
        yield httpd, client_context, names


@pytest.mark.trio
async def test_tls_verifies_the_name_while_connecting_to_the_vetted_address(tls_server) -> None:
    httpd, trust, names = tls_server
    port = httpd.port
    transport = httpx.AsyncHTTPTransport(verify=trust, trust_env=False)
    async with web_client(transport) as client:
        text = await fetch_page(client, f"https://docs.example:{port}/", 1000, allow_local=True,
                                resolve=resolver(["127.0.0.1"]))
        assert text == f"https://docs.example:{port}/\n\nthe page"
        assert names == ["docs.example"] and httpd.hosts == [f"docs.example:{port}"]
        with pytest.raises(httpx.ConnectError) as wrong_name:
            await fetch_page(client, f"https://elsewhere.example:{port}/", 1000, allow_local=True,
                             resolve=resolver(["127.0.0.1"]))
    assert "not valid for 'elsewhere.example'" in str(causes(wrong_name.value)[-1])


@pytest.mark.trio
async def test_a_failed_handshake_is_explained_in_words(tls_server) -> None:
    port = tls_server[0].port
    context = ToolContext(Path.cwd(), settings=ToolSettings(web_allow_local=True))
    with pytest.raises(ToolError, match=rf"cannot fetch https://127.0.0.1:{port}/: .*certificate verify failed"):
        await web_fetch.fn(context, url=f"https://127.0.0.1:{port}/")


def causes(exc: BaseException | None) -> list[BaseException]:
    found = []
    while exc is not None:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


@pytest.mark.trio
async def test_a_failure_says_the_proxy_of_the_environment_is_not_used(monkeypatch) -> None:
    """Behind a proxy (HTTPS_PROXY) the direct connection fails: the error says why in words."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    context = ToolContext(Path.cwd(), settings=ToolSettings(web_allow_local=True))
    with pytest.raises(ToolError, match=r"cannot fetch .*not through the proxy HTTPS_PROXY names"):
        await web_fetch.fn(context, url=f"http://127.0.0.1:{port}/")
