"""The request parser: bytes of typical requests in, messages out."""

from __future__ import annotations

import pytest
from conftest import FakeProtocol

http_parser = pytest.importorskip("aiohttp.http_parser")

SMALL_GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
BROWSER_GET = (
    b"GET /user/12345?tab=posts&page=2 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Referer: https://example.com/users\r\n"
    b"Cookie: session=0123456789abcdef; theme=dark\r\n"
    b"Connection: keep-alive\r\n"
    b"X-Request-ID: 3f2a9c1e7b6d4e58\r\n"
    b"\r\n"
)
JSON_POST = (
    b"POST /api/items HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 27\r\n"
    b"\r\n"
    b'{"name": "x", "count": 123}'
)
PIPELINED = SMALL_GET * 16


def make_parser(loop):
    return http_parser.HttpRequestParser(FakeProtocol(), loop)


@pytest.mark.parametrize(
    "data",
    [SMALL_GET, BROWSER_GET, JSON_POST, PIPELINED],
    ids=["small-get", "browser-get", "json-post", "16-pipelined"],
)
def test_parse_request(benchmark, loop, data: bytes) -> None:
    parser = make_parser(loop)
    expected = data.count(b" HTTP/1.1\r\n")

    def parse() -> int:
        messages, _upgraded, _tail = parser.feed_data(data)
        return len(messages)

    assert benchmark(parse) == expected
