"""Connectors: keep-alive pooling, limits, TLS (trustme certificates), unix sockets."""

import asyncio
import socket
import ssl
import sys

import pytest
from client_servers import LoopbackServer, Reply, Request, serve

import aiohttp
from aiohttp.connector import TCPConnector, UnixConnector

trustme = pytest.importorskip("trustme")


def ok(req: Request) -> Reply:
    return Reply(200, f"{req.peer[1] if req.peer else ''}".encode())


async def test_keep_alive_reuses_one_connection() -> None:
    async with serve(ok) as srv, aiohttp.ClientSession() as session:
        ports = set()
        for _ in range(5):
            async with session.get(srv.url()) as resp:
                ports.add(await resp.text())
        assert len(ports) == 1
        assert srv.connections == 1


async def test_connection_returns_to_pool_when_body_is_read_without_release() -> None:
    async with serve(ok) as srv, aiohttp.ClientSession() as session:
        resp = await session.get(srv.url())
        await resp.read()
        resp2 = await session.get(srv.url())
        await resp2.read()
        assert srv.connections == 1


async def test_force_close_opens_a_connection_per_request() -> None:
    requests: list[Request] = []
    async with serve(ok, requests) as srv:
        connector = TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(3):
                async with session.get(srv.url()) as resp:
                    await resp.read()
        assert srv.connections == 3
        assert all(r.headers["Connection"] == "close" for r in requests)


async def test_keepalive_timeout_drops_idle_connections() -> None:
    async with serve(ok) as srv:
        connector = TCPConnector(keepalive_timeout=0.1)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(srv.url()) as resp:
                await resp.read()
            await asyncio.sleep(0.3)
            async with session.get(srv.url()) as resp:
                await resp.read()
        assert srv.connections == 2


async def test_limit_bounds_concurrent_connections() -> None:
    active = 0
    peak = 0

    async def slow(req: Request) -> Reply:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        active -= 1
        return Reply(200, b"ok")

    async with serve(slow) as srv:
        connector = TCPConnector(limit=2)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one() -> bytes:
                async with session.get(srv.url()) as resp:
                    return await resp.read()

            results = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(8))), 10)
        assert results == [b"ok"] * 8
        assert peak == 2
        assert srv.connections == 2


async def test_limit_per_host_is_per_host() -> None:
    peaks: dict[str, int] = {}
    active: dict[str, int] = {}

    def make(name: str):
        async def slow(req: Request) -> Reply:
            active[name] = active.get(name, 0) + 1
            peaks[name] = max(peaks.get(name, 0), active[name])
            await asyncio.sleep(0.05)
            active[name] -= 1
            return Reply(200, name.encode())

        return slow

    async with serve(make("a")) as a, serve(make("b")) as b:
        connector = TCPConnector(limit_per_host=1, limit=10)
        assert connector.limit_per_host == 1
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(url: str) -> bytes:
                async with session.get(url) as resp:
                    return await resp.read()

            urls = [a.url(), b.url()] * 3
            await asyncio.wait_for(asyncio.gather(*(one(u) for u in urls)), 10)
        assert peaks == {"a": 1, "b": 1}


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    gate = asyncio.Event()

    async def held(req: Request) -> Reply:
        if req.path == "/hold":
            await asyncio.wait_for(gate.wait(), 10)
        return Reply(200, b"ok")

    async with serve(held) as srv:
        connector = TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            holder = asyncio.ensure_future(session.get(srv.url("/hold")))
            await asyncio.sleep(0.05)
            waiter = asyncio.ensure_future(session.get(srv.url()))
            await asyncio.sleep(0.05)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            gate.set()
            resp = await asyncio.wait_for(holder, 10)
            await resp.read()
            async with session.get(srv.url()) as resp:
                assert await resp.read() == b"ok"


async def test_connector_validation_and_close() -> None:
    with pytest.raises(ValueError, match="keepalive_timeout"):
        TCPConnector(force_close=True, keepalive_timeout=10)
    with pytest.raises(ValueError, match="limit"):
        TCPConnector(limit=-1)
    with pytest.raises(TypeError, match="ssl"):
        TCPConnector(ssl="yes")  # type: ignore[arg-type]
    connector = TCPConnector()
    await connector.close()
    assert connector.closed
    async with aiohttp.ClientSession(connector=connector) as session:
        assert session.closed


async def test_shared_connector_outlives_a_session_that_does_not_own_it() -> None:
    async with serve(ok) as srv:
        connector = TCPConnector()
        async with aiohttp.ClientSession(connector=connector, connector_owner=False) as session:
            async with session.get(srv.url()) as resp:
                await resp.read()
        assert not connector.closed
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(srv.url()) as resp:
                await resp.read()
        assert connector.closed
        assert srv.connections == 1


async def test_dns_cache_and_localhost_resolution() -> None:
    async with serve(ok) as srv:
        connector = TCPConnector(ttl_dns_cache=60, family=socket.AF_INET)
        async with aiohttp.ClientSession(connector=connector) as session:
            url = srv.url().replace("127.0.0.1", "localhost")
            async with session.get(url) as resp:
                assert resp.status == 200
            assert ("localhost", srv.port) in connector._dns_cache
            connector.clear_dns_cache("localhost", srv.port)
            assert ("localhost", srv.port) not in connector._dns_cache
            with pytest.raises(ValueError):
                connector.clear_dns_cache("localhost")


async def test_unresolvable_host_is_dns_error() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorDNSError):
            await session.get("http://does-not-exist.invalid/")


async def test_local_addr_binds_the_client_socket() -> None:
    async with serve(lambda r: Reply(200, f"{r.peer[0]}".encode())) as srv:
        connector = TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(srv.url()) as resp:
                assert await resp.text() == "127.0.0.2"


async def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 support in this Python")
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("::1 is not available on this machine")
    async with serve(ok, host="::1") as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url()) as resp:
            assert resp.status == 200


@pytest.mark.skipif(sys.platform == "win32", reason="unix sockets")
async def test_unix_connector(tmp_path) -> None:
    path = str(tmp_path / "app.sock")
    requests: list[Request] = []
    async with serve(lambda r: Reply(200, b"over unix"), requests, unix_path=path):
        connector = UnixConnector(path=path)
        assert connector.path == path
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(2):
                async with session.get("http://app.local/x") as resp:
                    assert await resp.text() == "over unix"
        assert requests[0].headers["Host"] == "app.local"


async def test_unix_connector_missing_socket(tmp_path) -> None:
    connector = UnixConnector(path=str(tmp_path / "nothing.sock"))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.UnixClientConnectorError) as info:
            await session.get("http://app.local/")
        assert isinstance(info.value, aiohttp.ClientConnectorError)


# -- TLS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ssl(tls_ca) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ssl(tls_ca) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    tls_ca.configure_trust(ctx)
    return ctx


async def test_tls_with_trusted_certificate(server_ssl, client_ssl) -> None:
    async with serve(lambda r: Reply(200, b"secure"), ssl_context=server_ssl) as srv:
        async with aiohttp.ClientSession(connector=TCPConnector(ssl=client_ssl)) as session:
            for _ in range(2):
                async with session.get(srv.url()) as resp:
                    assert await resp.text() == "secure"
            url = srv.url().replace("127.0.0.1", "localhost")
            async with session.get(url) as resp:
                assert await resp.text() == "secure"
        assert srv.connections == 2  # one per host name, each reused


async def test_tls_per_request_ssl_context(server_ssl, client_ssl) -> None:
    async with serve(lambda r: Reply(200, b"secure"), ssl_context=server_ssl) as srv:
        async with aiohttp.ClientSession() as session:
            async with session.get(srv.url(), ssl=client_ssl) as resp:
                assert await resp.text() == "secure"


async def test_tls_untrusted_certificate_is_refused_by_default(server_ssl) -> None:
    async with serve(lambda r: Reply(200, b"secure"), ssl_context=server_ssl) as srv:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError) as info:
                await session.get(srv.url())
            assert isinstance(info.value, aiohttp.ClientSSLError)
            assert isinstance(info.value.certificate_error, ssl.SSLCertVerificationError)


async def test_tls_verification_off_with_ssl_false(server_ssl) -> None:
    async with serve(lambda r: Reply(200, b"secure"), ssl_context=server_ssl) as srv:
        async with aiohttp.ClientSession() as session:
            async with session.get(srv.url(), ssl=False) as resp:
                assert await resp.text() == "secure"
        async with aiohttp.ClientSession(connector=TCPConnector(ssl=False)) as session:
            async with session.get(srv.url()) as resp:
                assert await resp.text() == "secure"


async def test_tls_hostname_mismatch_is_refused(tls_ca, client_ssl) -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("other.example").configure_cert(ctx)
    async with serve(lambda r: Reply(200, b"x"), ssl_context=ctx) as srv:
        async with aiohttp.ClientSession(connector=TCPConnector(ssl=client_ssl)) as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(srv.url())
            # server_hostname makes the name we verify explicit
            async with session.get(srv.url(), server_hostname="other.example") as resp:
                assert await resp.read() == b"x"


async def test_tls_handshake_with_plain_http_server_fails_cleanly(client_ssl) -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)  # the ClientHello, read as if it were a request
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with LoopbackServer(plain) as srv:
        async with aiohttp.ClientSession(connector=TCPConnector(ssl=client_ssl)) as session:
            url = srv.url().replace("http://", "https://")
            with pytest.raises(aiohttp.ClientConnectorSSLError):
                await session.get(url)


def test_client_on_uvloop(server_ssl, client_ssl) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        async with serve(lambda r: Reply(200, b"x" * 300_000)) as srv, aiohttp.ClientSession() as session:
            for _ in range(3):
                async with session.get(srv.url()) as resp:
                    assert len(await resp.read()) == 300_000
            assert srv.connections == 1
        async with serve(lambda r: Reply(200, b"tls"), ssl_context=server_ssl) as srv:
            async with aiohttp.ClientSession() as session, session.get(srv.url(), ssl=client_ssl) as resp:
                assert await resp.text() == "tls"

    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(main(), 20))
    finally:
        loop.close()
