"""The client against a real nginx on loopback: keep-alive, limits, redirects, cookies,
compression, streaming, timeouts, disconnects and TLS with trustme certificates.

nginx runs unprivileged (as ``nobody`` when the tests run as root) from its own prefix
in a temporary directory, on 127.0.0.1 ports picked at start-up.
"""

import asyncio
import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from client_servers import LoopbackServer, Reply, Request, serve

import aiohttp

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.access(NGINX, os.X_OK),
        reason="nginx is not installed (apt-get install nginx-light); skipping nginx client tests",
    ),
]

CONFIG = """
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    default_type text/plain;
    types {{ text/plain txt; application/octet-stream bin; }}
    keepalive_timeout 30s;
    keepalive_requests 1000;
    gzip on;
    gzip_min_length 20;
    gzip_types text/plain;

    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl;
        server_name localhost;
        ssl_certificate {prefix}/cert.pem;
        ssl_certificate_key {prefix}/key.pem;
        root {prefix}/www;

        location = /conn {{ return 200 "$connection $connection_requests\\n"; }}
        location = /redirect {{ return 302 /files/hello.txt; }}
        location = /see-other {{ return 303 /conn; }}
        location = /set-cookie {{
            add_header Set-Cookie "flavour=oatmeal; Path=/";
            return 200 "set\\n";
        }}
        location = /show-cookie {{ return 200 "[$http_cookie]\\n"; }}
        location = /drop {{ return 444; }}
        location /slow/ {{ alias {prefix}/www/files/; limit_rate 2k; }}
        location /files/ {{ }}
        location /upstream/ {{
            proxy_pass http://127.0.0.1:{upstream_port}/;
            proxy_read_timeout 10s;
            add_header X-Conn $connection always;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port} in time")


@dataclass
class Nginx:
    port: int
    tls_port: int
    upstream_port: int
    prefix: str
    big_sha: str

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def tls_url(self, path: str, host: str = "localhost") -> str:
        return f"https://{host}:{self.tls_port}{path}"


@pytest.fixture(scope="module")
def tls_ca():
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture(scope="module")
def nginx(tls_ca) -> Iterator[Nginx]:
    prefix = tempfile.mkdtemp(prefix="client-nginx-")
    os.chmod(prefix, 0o755)
    try:
        os.makedirs(f"{prefix}/www/files")
        os.makedirs(f"{prefix}/tmp")
        with open(f"{prefix}/www/files/hello.txt", "w") as f:
            f.write("hello from nginx\n")
        with open(f"{prefix}/www/files/text.txt", "w") as f:
            f.write("compressible line of text\n" * 5000)
        big = os.urandom(3 * 2**20)
        with open(f"{prefix}/www/files/big.bin", "wb") as f:
            f.write(big)
        cert = tls_ca.issue_cert("localhost", "127.0.0.1")
        cert.private_key_pem.write_to_path(f"{prefix}/key.pem")
        cert.cert_chain_pems[0].write_to_path(f"{prefix}/cert.pem")
        server = Nginx(free_port(), free_port(), free_port(), prefix, hashlib.sha256(big).hexdigest())
        with open(f"{prefix}/nginx.conf", "w") as f:
            f.write(
                CONFIG.format(
                    prefix=prefix,
                    port=server.port,
                    tls_port=server.tls_port,
                    upstream_port=server.upstream_port,
                )
            )
        kwargs: dict = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            for root, dirs, files in os.walk(prefix):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(root, name), nobody.pw_uid, nobody.pw_gid)
            os.chown(prefix, nobody.pw_uid, nobody.pw_gid)
            kwargs = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        proc = subprocess.Popen(
            [NGINX, "-p", prefix, "-c", f"{prefix}/nginx.conf", "-e", f"{prefix}/error.log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **kwargs,
        )
        try:
            deadline = time.monotonic() + 15
            wait_for_port(server.port, proc, deadline)
            wait_for_port(server.tls_port, proc, deadline)
            yield server
        finally:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            if proc.stderr is not None:
                proc.stderr.close()
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


async def test_keep_alive_reuses_the_nginx_connection(nginx: Nginx) -> None:
    async with aiohttp.ClientSession() as session:
        answers = []
        for _ in range(3):
            async with session.get(nginx.url("/conn")) as resp:
                answers.append((await resp.text()).split())
        conn_ids = {a[0] for a in answers}
        assert len(conn_ids) == 1
        assert [a[1] for a in answers] == ["1", "2", "3"]


async def test_pool_limit_holds_against_nginx(nginx: Nginx) -> None:
    async def delayed(req: Request) -> Reply:
        await asyncio.sleep(0.05)
        return Reply(200, b"upstream")

    # nginx proxies to our upstream on the port reserved when nginx started
    async with serve(delayed, port=nginx.upstream_port):
        connector = aiohttp.TCPConnector(limit=2)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one() -> str:
                async with session.get(nginx.url("/upstream/x")) as resp:
                    assert await resp.text() == "upstream"
                    return resp.headers["X-Conn"]

            conns = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(8))), 20)
        assert len(set(conns)) <= 2


async def test_redirects_through_nginx(nginx: Nginx) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(nginx.url("/redirect")) as resp:
            assert resp.status == 200
            assert await resp.text() == "hello from nginx\n"
            assert [r.status for r in resp.history] == [302]
        async with session.post(nginx.url("/see-other"), data=b"x") as resp:
            assert resp.status == 200
            assert resp.method == "GET"
            assert resp.history[0].status == 303


async def test_cookies_from_nginx(nginx: Nginx) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(nginx.url("/set-cookie", host="localhost")) as resp:
            assert resp.cookies["flavour"].value == "oatmeal"
        async with session.get(nginx.url("/show-cookie", host="localhost")) as resp:
            assert await resp.text() == "[flavour=oatmeal]\n"


async def test_gzip_chunked_response_from_nginx(nginx: Nginx) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(nginx.url("/files/text.txt")) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert await resp.text() == "compressible line of text\n" * 5000
        async with session.get(nginx.url("/files/text.txt"), auto_decompress=False) as resp:
            raw = await resp.read()
            assert raw[:2] == b"\x1f\x8b"


async def test_streaming_a_large_file_from_nginx(nginx: Nginx) -> None:
    async with aiohttp.ClientSession(read_bufsize=2**15) as session:
        async with session.get(nginx.url("/files/big.bin")) as resp:
            assert resp.content_length == 3 * 2**20
            digest = hashlib.sha256()
            async for chunk in resp.content.iter_chunked(2**16):
                digest.update(chunk)
            assert digest.hexdigest() == nginx.big_sha


async def test_total_timeout_on_a_rate_limited_download(nginx: Nginx) -> None:
    timeout = aiohttp.ClientTimeout(total=0.5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(nginx.url("/slow/big.bin")) as resp:
                await resp.read()


async def test_sock_read_timeout_when_upstream_stalls(nginx: Nginx) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(10)

    async with LoopbackServer(stall, port=nginx.upstream_port):
        timeout = aiohttp.ClientTimeout(sock_read=0.3)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            with pytest.raises(aiohttp.SocketTimeoutError):
                await session.get(nginx.url("/upstream/stall"))


async def test_nginx_dropping_the_connection_is_server_disconnected(nginx: Nginx) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.get(nginx.url("/drop"))
        async with session.get(nginx.url("/conn")) as resp:
            assert resp.status == 200  # the session recovers with a fresh connection


async def test_tls_to_nginx_with_trustme_certificate(nginx: Nginx, tls_ca) -> None:
    ctx = ssl.create_default_context()
    tls_ca.configure_trust(ctx)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session:
        ids = set()
        for host in ("localhost", "localhost", "127.0.0.1"):
            async with session.get(nginx.tls_url("/conn", host=host)) as resp:
                ids.add((host, (await resp.text()).split()[0]))
        assert len(ids) == 2  # reused per host
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(nginx.tls_url("/conn"))
        async with session.get(nginx.tls_url("/conn"), ssl=False) as resp:
            assert resp.status == 200
