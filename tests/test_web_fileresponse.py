"""FileResponse over real sockets: sendfile and chunked paths, ranges, conditionals, variants."""

import asyncio
import gzip
import mimetypes
import os
import pathlib
import ssl
from typing import Any

import brotli
import pytest
import trustme
from raw_http import RawResponse, Target, connect, pipelined, read_response, serve
from raw_http import get as http_get

from aiohttp import web, web_fileresponse

CONTENT = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def static_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "data.bin").write_bytes(CONTENT)
    (tmp_path / "page.html").write_text("<h1>hi</h1>")
    (tmp_path / "app.js").write_text("console.log(1)")
    (tmp_path / "app.js.gz").write_bytes(gzip.compress(b"console.log(1)"))
    (tmp_path / "app.js.br").write_bytes(brotli.compress(b"console.log(1)"))
    (tmp_path / "style.css").write_text("body{}")
    (tmp_path / "style.css.gz").write_bytes(gzip.compress(b"body{}"))
    (tmp_path / "backup.tar.gz").write_bytes(gzip.compress(b"tar"))
    (tmp_path / "subdir").mkdir()
    os.mkfifo(tmp_path / "pipe")
    return tmp_path


def file_handler(root: pathlib.Path, **kwargs: Any) -> Any:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.FileResponse(root / request.path.lstrip("/"), **kwargs)

    return handler


async def spy_sendfile(calls: list[int]) -> None:
    """Record the bytes each ``loop.sendfile`` call sends on this test's loop."""
    loop = asyncio.get_running_loop()
    real = loop.sendfile

    async def counting(transport: Any, file: Any, offset: int = 0, count: Any = None, **kw: Any) -> int:
        sent = await real(transport, file, offset, count, **kw)
        calls.append(sent)
        return sent

    loop.sendfile = counting  # type: ignore[method-assign]


async def test_whole_file_uses_sendfile(static_dir: pathlib.Path) -> None:
    calls: list[int] = []
    await spy_sendfile(calls)
    async with serve(file_handler(static_dir)) as server:
        resp = await http_get(server, "/data.bin")
    assert resp.status == 200
    assert resp.body == CONTENT
    assert resp.headers["Content-Length"] == str(len(CONTENT))
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Accept-Ranges"] == "bytes"
    st = (static_dir / "data.bin").stat()
    assert resp.headers["ETag"] == f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
    assert "Last-Modified" in resp.headers
    assert calls == [len(CONTENT)]


async def test_content_types_from_mimetypes(static_dir: pathlib.Path) -> None:
    async with serve(file_handler(static_dir)) as server:
        html = await http_get(server, "/page.html")
        archive = await http_get(server, "/backup.tar.gz", headers="Accept-Encoding: gzip\r\n")
    assert html.headers["Content-Type"] == "text/html; charset=utf-8"
    assert html.text() == "<h1>hi</h1>"
    # A compressed archive is sent as it is, never as a Content-Encoding to undo.
    assert archive.headers["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in archive.headers


async def test_keep_alive_after_sendfile(static_dir: pathlib.Path) -> None:
    async with serve(file_handler(static_dir)) as server:
        reader, writer = await connect(server)
        try:
            for _ in range(3):
                writer.write(b"GET /data.bin HTTP/1.1\r\nHost: t\r\n\r\n")
                resp = await read_response(reader)
                assert resp.body == CONTENT
        finally:
            writer.close()


async def test_no_sendfile_setting_reads_chunks(static_dir: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_fileresponse, "NOSENDFILE", True)
    calls: list[int] = []
    await spy_sendfile(calls)
    async with serve(file_handler(static_dir, chunk_size=1000)) as server:
        resp = await http_get(server, "/data.bin")
    assert resp.body == CONTENT
    assert calls == []


async def test_tls_falls_back_to_chunked_reads(static_dir: pathlib.Path) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    calls: list[int] = []
    await spy_sendfile(calls)
    async with serve(file_handler(static_dir, chunk_size=4096), ssl_context=server_ctx) as server:
        resp = await http_get(server, "/data.bin", ssl_context=client_ctx)
        ranged = await http_get(server, "/data.bin", headers="Range: bytes=100-5099\r\n", ssl_context=client_ctx)
    assert resp.body == CONTENT
    assert ranged.status == 206 and ranged.body == CONTENT[100:5100]
    assert calls == []


async def test_head_sends_headers_only(static_dir: pathlib.Path) -> None:
    async with serve(file_handler(static_dir)) as server:
        data = b"HEAD /data.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /page.html HTTP/1.1\r\nHost: t\r\n\r\n"
        head, follow = await pipelined(server, data, 2, heads=1)
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len(CONTENT))
    assert follow.text() == "<h1>hi</h1>"


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=10000-", 10000, 10240),
        ("bytes=-40", 10200, 10240),
        ("bytes=10200-99999", 10200, 10240),  # the end is clamped to the file
        ("bytes=-99999", 0, 10240),
    ],
)
async def test_single_ranges(static_dir: pathlib.Path, range_header: str, start: int, end: int) -> None:
    async with serve(file_handler(static_dir)) as server:
        resp = await http_get(server, "/data.bin", headers=f"Range: {range_header}\r\n")
    assert resp.status == 206
    assert resp.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(CONTENT)}"
    assert resp.headers["Content-Length"] == str(end - start)
    assert resp.body == CONTENT[start:end]


@pytest.mark.parametrize("range_header", ["bytes=20000-", "bytes=5-2", "bytes=-0", "bytes=abc"])
async def test_unsatisfiable_or_malformed_range_is_416(static_dir: pathlib.Path, range_header: str) -> None:
    async with serve(file_handler(static_dir)) as server:
        resp = await http_get(server, "/data.bin", headers=f"Range: {range_header}\r\n")
    assert resp.status == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(CONTENT)}"
    assert resp.body == b""


async def test_multi_range_answers_whole_file(static_dir: pathlib.Path) -> None:
    async with serve(file_handler(static_dir)) as server:
        resp = await http_get(server, "/data.bin", headers="Range: bytes=0-1,5-6\r\n")
    assert resp.status == 200
    assert resp.body == CONTENT


async def test_other_range_units_are_ignored(static_dir: pathlib.Path) -> None:
    async with serve(file_handler(static_dir)) as server:
        resp = await http_get(server, "/data.bin", headers="Range: items=0-1\r\n")
    assert resp.status == 200
    assert resp.body == CONTENT


async def etag_of(server: Target) -> str:
    return (await http_get(server, "/data.bin")).headers["ETag"]


async def test_if_range(static_dir: pathlib.Path) -> None:
    async with serve(file_handler(static_dir)) as server:
        etag = await etag_of(server)
        same = await http_get(server, "/data.bin", headers=f"Range: bytes=0-9\r\nIf-Range: {etag}\r\n")
        other = await http_get(server, "/data.bin", headers='Range: bytes=0-9\r\nIf-Range: "other"\r\n')
        old_date = await http_get(
            server, "/data.bin", headers="Range: bytes=0-9\r\nIf-Range: Mon, 01 Jan 2001 00:00:00 GMT\r\n"
        )
        new_date = await http_get(
            server, "/data.bin", headers="Range: bytes=0-9\r\nIf-Range: Fri, 01 Jan 2100 00:00:00 GMT\r\n"
        )
    assert (same.status, same.body) == (206, CONTENT[:10])
    assert (other.status, other.body) == (200, CONTENT)
    assert old_date.status == 200
    assert new_date.status == 206


async def test_conditional_requests(static_dir: pathlib.Path) -> None:
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    past = "Mon, 01 Jan 2001 00:00:00 GMT"
    async with serve(file_handler(static_dir)) as server:
        etag = await etag_of(server)
        not_modified = await http_get(server, "/data.bin", headers=f"If-Modified-Since: {future}\r\n")
        modified = await http_get(server, "/data.bin", headers=f"If-Modified-Since: {past}\r\n")
        inm_match = await http_get(server, "/data.bin", headers=f"If-None-Match: {etag}\r\n")
        inm_weak = await http_get(server, "/data.bin", headers=f"If-None-Match: W/{etag}\r\n")
        inm_star = await http_get(server, "/data.bin", headers="If-None-Match: *\r\n")
        inm_other = await http_get(server, "/data.bin", headers='If-None-Match: "nope"\r\n')
        # If-None-Match wins over If-Modified-Since when both are sent.
        inm_beats_ims = await http_get(
            server, "/data.bin", headers=f'If-None-Match: "nope"\r\nIf-Modified-Since: {future}\r\n'
        )
        ius_failed = await http_get(server, "/data.bin", headers=f"If-Unmodified-Since: {past}\r\n")
        ius_ok = await http_get(server, "/data.bin", headers=f"If-Unmodified-Since: {future}\r\n")
        im_failed = await http_get(server, "/data.bin", headers='If-Match: "nope"\r\n')
        im_ok = await http_get(server, "/data.bin", headers=f"If-Match: {etag}\r\n")
    for resp in (not_modified, inm_match, inm_weak, inm_star):
        assert resp.status == 304
        assert resp.body == b""
        assert resp.headers["ETag"] == etag
        assert "Content-Length" not in resp.headers
    for resp in (modified, inm_other, inm_beats_ims, ius_ok, im_ok):
        assert (resp.status, resp.body) == (200, CONTENT)
    for resp in (ius_failed, im_failed):
        assert resp.status == 412


async def check_variant(server: Target, path: str, accept: str) -> RawResponse:
    return await http_get(server, path, headers=f"Accept-Encoding: {accept}\r\n" if accept else "")


async def test_precompressed_siblings(static_dir: pathlib.Path) -> None:
    async with serve(file_handler(static_dir)) as server:
        br = await check_variant(server, "/app.js", "gzip, br")
        gz = await check_variant(server, "/app.js", "gzip")
        plain = await check_variant(server, "/app.js", "")
        refused = await check_variant(server, "/app.js", "gzip;q=0, identity")
        css_br_only = await check_variant(server, "/style.css", "br")
        no_sibling = await check_variant(server, "/page.html", "gzip")
    assert br.headers["Content-Encoding"] == "br"
    assert gz.headers["Content-Encoding"] == "gzip"
    for resp in (br, gz, plain, refused):
        assert resp.headers["Content-Type"] == f"{mimetypes.guess_type('app.js')[0]}; charset=utf-8"
        assert resp.headers["Vary"] == "Accept-Encoding"
        assert resp.decoded() == b"console.log(1)"
    assert "Content-Encoding" not in plain.headers and "Content-Encoding" not in refused.headers
    assert "Content-Encoding" not in css_br_only.headers  # only a .gz exists
    assert css_br_only.text() == "body{}"
    assert "Vary" not in no_sibling.headers


async def test_not_a_regular_file(static_dir: pathlib.Path) -> None:
    async with serve(file_handler(static_dir)) as server:
        missing = await http_get(server, "/missing.txt")
        directory = await http_get(server, "/subdir")
        fifo = await http_get(server, "/pipe")  # must not block on the open
        below_file = await http_get(server, "/page.html/x")
    assert missing.status == 404
    assert directory.status == 403
    assert fifo.status == 403
    assert below_file.status == 404


async def test_custom_status_and_headers(static_dir: pathlib.Path) -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.FileResponse(
            static_dir / "page.html",
            status=203,
            headers={"Cache-Control": "max-age=60", "Content-Type": "text/x-custom"},
        )

    async with serve(handler) as server:
        resp = await http_get(server)
    assert resp.status == 203
    assert resp.headers["Cache-Control"] == "max-age=60"
    assert resp.headers["Content-Type"] == "text/x-custom"


def test_chunk_size_must_be_positive(static_dir: pathlib.Path) -> None:
    with pytest.raises(ValueError):
        web.FileResponse(static_dir / "data.bin", chunk_size=0)


async def test_enable_compression_compresses_the_file(static_dir: pathlib.Path) -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.FileResponse(static_dir / "data.bin", chunk_size=4096)
        resp.enable_compression()
        return resp

    async with serve(handler) as server:
        whole = await http_get(server, headers="Accept-Encoding: gzip\r\n")
        ranged = await http_get(server, headers="Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n")
    assert whole.headers["Content-Encoding"] == "gzip"
    assert whole.decoded() == CONTENT
    # Range offsets refer to the stored bytes, so a range is never compressed.
    assert ranged.status == 206
    assert "Content-Encoding" not in ranged.headers
    assert ranged.body == CONTENT[:10]


async def test_precompressed_sibling_symlink_out_of_the_folder_is_not_served(
    tmp_path: pathlib.Path, aiohttp_client: Any
) -> None:
    public = tmp_path / "public"
    public.mkdir()
    secret = tmp_path / "secret.txt.gz"
    secret.write_bytes(gzip.compress(b"do not serve me"))
    (public / "page.txt").write_text("the page")
    (public / "page.txt.gz").symlink_to(secret)

    app = web.Application()
    app.router.add_static("/static", public)
    client = await aiohttp_client(app)
    resp = await client.get("/static/page.txt", headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.headers.get("Content-Encoding") is None
    assert await resp.text() == "the page"
