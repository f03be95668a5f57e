"""Forwarded headers count only from trusted peers; the client is the right-most untrusted hop."""

import asyncio
import json
from typing import Any, Optional

import pytest
from raw_http import RawClient

from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.trusted_proxies import TrustedProxies, make_trusted_proxies


async def echo_origin(request: web.BaseRequest) -> web.Response:
    return web.json_response(
        {"remote": request.remote, "scheme": request.scheme, "host": request.host}
    )


async def get_origin(
    client: TestClient[web.BaseRequest, None], extra_headers: Optional[dict[str, str]] = None
) -> dict[str, Optional[str]]:
    resp = await client.get("/", headers={"Host": "app.internal", **(extra_headers or {})})
    assert resp.status == 200, resp
    return await resp.json()  # type: ignore[no-any-return]


FORGED = {
    "X-Forwarded-For": "6.6.6.6",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
}


async def test_nothing_is_trusted_by_default(raw_client: RawClient) -> None:
    client = await raw_client(echo_origin)
    origin = await get_origin(client, FORGED)
    assert origin == {"remote": "127.0.0.1", "scheme": "http", "host": "app.internal"}


async def test_untrusted_peer_cannot_forge_its_address(raw_client: RawClient) -> None:
    client = await raw_client(echo_origin, trusted_proxies=["10.0.0.0/8"])
    origin = await get_origin(client, FORGED)
    assert origin["remote"] == "127.0.0.1"
    assert origin["scheme"] == "http"


async def test_trusted_peer_speaks_for_the_client(raw_client: RawClient) -> None:
    client = await raw_client(echo_origin, trusted_proxies="127.0.0.1")
    origin = await get_origin(
        client,
        {
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "shop.example:8443",
        },
    )
    assert origin == {"remote": "203.0.113.7", "scheme": "https", "host": "shop.example:8443"}


async def test_rightmost_untrusted_hop_is_the_client(raw_client: RawClient) -> None:
    client = await raw_client(echo_origin, trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
    # The client prepended a forged hop; our edge proxy (10.1.2.3) appended the real one.
    origin = await get_origin(client, {"X-Forwarded-For": "6.6.6.6, 198.51.100.9, 10.1.2.3"})
    assert origin["remote"] == "198.51.100.9"


async def test_forwarded_header_rfc7239(raw_client: RawClient) -> None:
    client = await raw_client(echo_origin, trusted_proxies="127.0.0.1")
    origin = await get_origin(
        client,
        {"Forwarded": 'for=192.0.2.60;proto=http, for="[2001:db8::1]";proto=https;host="api.example"'},
    )
    assert origin == {"remote": "2001:db8::1", "scheme": "https", "host": "api.example"}


async def test_unix_socket_peer_trusted_only_when_listed(tmp_path: Any) -> None:
    path = str(tmp_path / "app.sock")
    for trusted, expected in ((None, None), ("unix", "203.0.113.5")):
        runner = web.ServerRunner(web.Server(echo_origin, trusted_proxies=trusted))
        await runner.setup()
        await web.UnixSite(runner, path).start()
        try:
            reader, writer = await asyncio.open_unix_connection(path)
            writer.write(
                b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.5\r\nConnection: close\r\n\r\n"
            )
            body = (await asyncio.wait_for(reader.read(), 5)).partition(b"\r\n\r\n")[2]
            writer.close()
            assert json.loads(body)["remote"] == expected
        finally:
            await runner.cleanup()


def test_bad_setting_names_the_entry() -> None:
    with pytest.raises(ValueError, match="'not-an-ip'"):
        TrustedProxies("127.0.0.1, not-an-ip")
    with pytest.raises(TypeError, match="trusted_proxies"):
        make_trusted_proxies(42)  # type: ignore[arg-type]
    assert make_trusted_proxies("") is None


def test_ipv4_mapped_ipv6_peer_matches_ipv4_network() -> None:
    proxies = TrustedProxies("127.0.0.0/8")
    assert proxies.trusts_peer(("::ffff:127.0.0.1", 1234, 0, 0))
    assert not proxies.trusts_peer(("::1", 1234, 0, 0))
    assert TrustedProxies("*").trusts_peer("")
