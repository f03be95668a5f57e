"""The request parser on its own: bytes in, messages or refusals out (no sockets)."""

import asyncio
import gzip
import zlib
from typing import Any

import pytest

from aiohttp.http_exceptions import (
    BadHttpMessage,
    HttpVersionNotSupported,
    LineTooLong,
    RequestTargetTooLong,
    TooManyHeaders,
)
from aiohttp.http_parser import HttpRequestParser, RawRequestMessage
from aiohttp.http_writer import HttpVersion10, HttpVersion11
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader


class Flow:
    """Records the parser's flow-control calls."""

    def __init__(self) -> None:
        self.paused = 0
        self.resumed = 0

    def pause_reading(self) -> None:
        self.paused += 1

    def resume_reading(self) -> None:
        self.resumed += 1


def make_parser(loop: asyncio.AbstractEventLoop, **kwargs: Any) -> HttpRequestParser:
    return HttpRequestParser(Flow(), loop, **kwargs)


def parse_all(
    loop: asyncio.AbstractEventLoop, data: bytes, **kwargs: Any
) -> list[tuple[RawRequestMessage, StreamReader]]:
    messages, upgraded, tail = make_parser(loop, **kwargs).feed_data(data)
    assert not upgraded and tail == b""
    return messages


def parse_one(loop: asyncio.AbstractEventLoop, data: bytes, **kwargs: Any) -> RawRequestMessage:
    messages = parse_all(loop, data, **kwargs)
    assert len(messages) == 1
    return messages[0][0]


def refusal(loop: asyncio.AbstractEventLoop, data: bytes, **kwargs: Any) -> BadHttpMessage:
    with pytest.raises(BadHttpMessage) as info:
        make_parser(loop, **kwargs).feed_data(data)
    return info.value


def body_of(payload: StreamReader) -> bytes:
    assert payload.is_eof()
    return payload.read_nowait()


# -- well-formed requests -----------------------------------------------------


def test_simple_get(loop: asyncio.AbstractEventLoop) -> None:
    msg = parse_one(loop, b"GET /path?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nX-Thing: one\r\n\r\n")
    assert msg.method == "GET"
    assert msg.path == "/path?a=1&b=2"
    assert msg.version == HttpVersion11
    assert msg.headers["host"] == "example.com"
    assert msg.headers["X-THING"] == "one"
    assert msg.raw_headers == ((b"Host", b"example.com"), (b"X-Thing", b"one"))
    assert msg.url.path == "/path"
    assert msg.url.query_string == "a=1&b=2"
    assert not msg.should_close
    assert not msg.chunked
    assert msg.compression is None
    assert not msg.upgrade


def test_repeated_headers_are_kept_in_order(loop: asyncio.AbstractEventLoop) -> None:
    msg = parse_one(loop, b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nAccept: b\r\n\r\n")
    assert msg.headers.getall("accept") == ["a", "b"]


def test_header_value_whitespace_is_trimmed(loop: asyncio.AbstractEventLoop) -> None:
    msg = parse_one(loop, b"GET / HTTP/1.1\r\nHost: h\r\nX-A:   padded \t \r\nX-B:tight\r\n\r\n")
    assert msg.headers["X-A"] == "padded"
    assert msg.headers["X-B"] == "tight"


def test_utf8_header_values_are_decoded(loop: asyncio.AbstractEventLoop) -> None:
    msg = parse_one(loop, "GET / HTTP/1.1\r\nHost: h\r\nX-Name: café\r\n\r\n".encode())
    assert msg.headers["X-Name"] == "café"


def test_empty_host_is_allowed(loop: asyncio.AbstractEventLoop) -> None:
    assert parse_one(loop, b"GET / HTTP/1.1\r\nHost:\r\n\r\n").headers["Host"] == ""


@pytest.mark.parametrize("host", [b"example.com:8080", b"127.0.0.1", b"[::1]:80", b"xn--caf-dma.example"])
def test_valid_hosts(loop: asyncio.AbstractEventLoop, host: bytes) -> None:
    assert parse_one(loop, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n").headers["Host"] == host.decode()


def test_absolute_form_target(loop: asyncio.AbstractEventLoop) -> None:
    msg = parse_one(loop, b"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert msg.url.host == "example.com"
    assert msg.url.path == "/p"


def test_authority_form_for_connect(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    [(msg, _)], upgraded, _ = parser.feed_data(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert upgraded  # a tunnel: the server answers and closes, it does not tunnel
    assert (msg.url.host, msg.url.port) == ("example.com", 443)


def test_asterisk_form_for_options(loop: asyncio.AbstractEventLoop) -> None:
    assert parse_one(loop, b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").path == "*"


def test_fragment_is_not_part_of_the_query(loop: asyncio.AbstractEventLoop) -> None:
    msg = parse_one(loop, b"GET /p?q=1#frag HTTP/1.1\r\nHost: h\r\n\r\n")
    assert msg.url.query_string == "q=1"


# -- keep-alive rules ---------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "should_close"),
    [
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: something-else\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", True),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", True),
    ],
)
def test_keep_alive_rules(loop: asyncio.AbstractEventLoop, head: bytes, should_close: bool) -> None:
    assert parse_one(loop, head).should_close is should_close


def test_http10_without_host_is_fine(loop: asyncio.AbstractEventLoop) -> None:
    assert parse_one(loop, b"GET / HTTP/1.0\r\n\r\n").version == HttpVersion10


def test_upgrade_hands_back_the_rest(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    data = b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nframes"
    messages, upgraded, tail = parser.feed_data(data)
    assert upgraded and tail == b"frames"
    msg = messages[0][0]
    assert msg.upgrade and msg.should_close
    assert parser.feed_data(b"more") == ([], True, b"more")


# -- bodies -------------------------------------------------------------------


def test_content_length_body(loop: asyncio.AbstractEventLoop) -> None:
    [(_, payload)] = parse_all(loop, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
    assert body_of(payload) == b"hello"


def test_no_body_gives_the_empty_payload(loop: asyncio.AbstractEventLoop) -> None:
    [(_, payload)] = parse_all(loop, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    assert payload is EMPTY_PAYLOAD


def test_body_arrives_in_pieces(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    [(_, payload)], _, _ = parser.feed_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nab")
    assert not payload.is_eof()
    assert parser.feed_data(b"cd") == ([], False, b"")
    parser.feed_data(b"ef")
    assert body_of(payload) == b"abcdef"


def test_chunked_body_with_extensions_and_trailers(loop: asyncio.AbstractEventLoop) -> None:
    data = (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"6\r\n world\r\n"
        b"0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    )
    [(msg, payload)] = parse_all(loop, data)
    assert msg.chunked
    assert "X-Checksum" not in msg.headers  # trailers are read and dropped
    assert body_of(payload) == b"hello world"


async def test_chunk_boundaries_are_visible_to_readchunk(loop: asyncio.AbstractEventLoop) -> None:
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    [(_, payload)] = parse_all(loop, data)
    assert await payload.readchunk() == (b"abc", True)
    assert await payload.readchunk() == (b"de", True)
    assert await payload.readchunk() == (b"", False)


def test_chunked_transfer_coding_name_is_case_insensitive(loop: asyncio.AbstractEventLoop) -> None:
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
    [(msg, payload)] = parse_all(loop, data)
    assert msg.chunked and body_of(payload) == b"x"


def test_gzip_request_body_is_decoded(loop: asyncio.AbstractEventLoop) -> None:
    packed = gzip.compress(b"squeezed " * 100)
    head = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
    [(msg, payload)] = parse_all(loop, head + packed)
    assert msg.compression == "gzip"
    assert body_of(payload) == b"squeezed " * 100


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_request_body_is_decoded(loop: asyncio.AbstractEventLoop, wbits: int) -> None:
    obj = zlib.compressobj(wbits=wbits)
    packed = obj.compress(b"deflated!" * 50) + obj.flush()
    head = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(packed)
    [(_, payload)] = parse_all(loop, head + packed)
    assert body_of(payload) == b"deflated!" * 50


def test_compressed_body_is_left_alone_without_auto_decompress(loop: asyncio.AbstractEventLoop) -> None:
    packed = gzip.compress(b"raw")
    head = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
    [(_, payload)] = parse_all(loop, head + packed, auto_decompress=False)
    assert body_of(payload) == packed


def test_broken_gzip_body_is_refused(loop: asyncio.AbstractEventLoop) -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\n"
    assert refusal(loop, head + b"not gzip!").code == 400


def test_body_over_the_buffer_limit_pauses_the_feeder(loop: asyncio.AbstractEventLoop) -> None:
    flow = Flow()
    parser = HttpRequestParser(flow, loop, limit=16)
    [(_, payload)], _, _ = parser.feed_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" + b"x" * 40)
    assert flow.paused == 1
    payload.read_nowait()
    assert flow.resumed == 1


def test_eof_inside_a_body_fails_the_body(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    [(_, payload)], _, _ = parser.feed_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
    parser.feed_eof()
    assert isinstance(payload.exception(), ConnectionResetError)


# -- pipelining and split feeds ------------------------------------------------


def test_pipelined_messages_in_one_feed(loop: asyncio.AbstractEventLoop) -> None:
    data = (
        b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
        b"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        b"POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
        b"GET /4 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    )
    messages = parse_all(loop, data)
    assert [m.path for m, _ in messages] == ["/1", "/2", "/3", "/4"]
    assert body_of(messages[1][1]) == b"abc"
    assert body_of(messages[2][1]) == b"de"
    assert [m.should_close for m, _ in messages] == [False, False, False, True]


def test_byte_by_byte_feed_gives_the_same_messages(loop: asyncio.AbstractEventLoop) -> None:
    data = (
        b"POST /a?x=1 HTTP/1.1\r\nHost: h\r\nX-Long: " + b"v" * 50 + b"\r\nContent-Length: 4\r\n\r\nbody"
        b"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nT: 1\r\n\r\n"
    )
    parser = make_parser(loop)
    got: list[tuple[RawRequestMessage, StreamReader]] = []
    for i in range(len(data)):
        messages, _, _ = parser.feed_data(data[i : i + 1])
        got.extend(messages)
    assert [m.path for m, _ in got] == ["/a?x=1", "/b"]
    assert got[0][0].headers["X-Long"] == "v" * 50
    assert body_of(got[0][1]) == b"body"
    assert body_of(got[1][1]) == b"abc"
    assert [m for m, _ in got] == [m for m, _ in parse_all(loop, data)]


def test_in_head_tracks_an_unfinished_head(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    assert not parser.in_head
    parser.feed_data(b"GET / HT")
    assert parser.in_head
    parser.feed_data(b"TP/1.1\r\nHost: h\r\n\r\n")
    assert not parser.in_head


# -- refusals (RFC 9112) -------------------------------------------------------

REFUSED_400 = {
    "content-length with transfer-encoding": (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
    ),
    "transfer-encoding then content-length": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
    ),
    "duplicate content-length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "conflicting content-length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    "content-length list": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc",
    "negative content-length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
    "signed content-length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc",
    "hex content-length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\nabc",
    "overflowing content-length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + b"9" * 30 + b"\r\n\r\n",
    "transfer-encoding gzip": b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
    "transfer-encoding identity": b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
    "chunked not last": b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "gzip then chunked": b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "chunked twice": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    ),
    "transfer-encoding on 1.0": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bare CR in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
    "bare CR ending the request line": b"GET / HTTP/1.1\rHost: h\r\n\r\n",
    "bare LF line ends": b"GET / HTTP/1.1\nHost: h\n\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n",
    "space before colon": b"GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n",
    "tab before colon": b"GET / HTTP/1.1\r\nHost: h\r\nX\t: a\r\n\r\n",
    "space before the first header": b"GET / HTTP/1.1\r\n Host: h\r\n\r\n",
    "empty header name": b"GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n",
    "control byte in a name": b"GET / HTTP/1.1\r\nHost: h\r\nX\x01Y: a\r\n\r\n",
    "control byte in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n",
    "NUL in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n",
    "DEL in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n",
    "control byte in the method": b"G\x01T / HTTP/1.1\r\nHost: h\r\n\r\n",
    "unknown method": b"BREW / HTTP/1.1\r\nHost: h\r\n\r\n",
    "control byte in the target": b"GET /a\x01b HTTP/1.1\r\nHost: h\r\n\r\n",
    "DEL in the target": b"GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
    "non-ASCII target": b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
    "space in the target": b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
    "missing host on 1.1": b"GET / HTTP/1.1\r\n\r\n",
    "duplicate host": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "host with a space": b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    "host with a slash": b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    "host with two ports": b"GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n",
    "HTTP/0.9 request line": b"GET /\r\n",
    "HTTP/0.9 version": b"GET / HTTP/0.9\r\n\r\n",
    "lower-case version": b"GET / http/1.1\r\nHost: h\r\n\r\n",
    "bad chunk size": b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "chunk longer than its size": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"
    ),
    "content-length in trailers": (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n"
    ),
    "relative target": b"GET path HTTP/1.1\r\nHost: h\r\n\r\n",
    "broken IPv6 authority": b"GET http://[ HTTP/1.1\r\nHost: h\r\n\r\n",
    "port out of range": b"GET http://a:99999/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "CONNECT to a non-authority": b"CONNECT mailto:x HTTP/1.1\r\nHost: h\r\n\r\n",
}


@pytest.mark.parametrize("data", list(REFUSED_400.values()), ids=list(REFUSED_400))
def test_refused_with_400(loop: asyncio.AbstractEventLoop, data: bytes) -> None:
    exc = refusal(loop, data)
    assert exc.code == 400, exc


@pytest.mark.parametrize("data", list(REFUSED_400.values()), ids=list(REFUSED_400))
def test_refused_byte_by_byte_too(loop: asyncio.AbstractEventLoop, data: bytes) -> None:
    parser = make_parser(loop)
    with pytest.raises(BadHttpMessage) as info:
        for i in range(len(data)):
            parser.feed_data(data[i : i + 1])
    assert info.value.code == 400


@pytest.mark.parametrize("version", [b"2.0", b"1.2", b"3.0", b"1.9"])
def test_other_versions_get_505(loop: asyncio.AbstractEventLoop, version: bytes) -> None:
    exc = refusal(loop, b"GET / HTTP/" + version + b"\r\nHost: h\r\n\r\n")
    assert isinstance(exc, HttpVersionNotSupported) and exc.code == 505


def test_http2_preface_gets_505(loop: asyncio.AbstractEventLoop) -> None:
    assert refusal(loop, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").code == 505


def test_messages_before_a_refusal_are_kept(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    with pytest.raises(BadHttpMessage):
        parser.feed_data(b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/1.1\r\n\r\n")
    assert [m.path for m, _ in parser.take_messages()] == ["/ok"]


def test_broken_chunk_fails_the_body_in_progress(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    [(_, payload)], _, _ = parser.feed_data(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    )
    with pytest.raises(BadHttpMessage) as info:
        parser.feed_data(b"zz\r\n")
    assert payload.exception() is info.value


# -- limits ----------------------------------------------------------------------


def test_target_at_the_limit_is_fine(loop: asyncio.AbstractEventLoop) -> None:
    target = b"/" + b"a" * 8189
    assert parse_one(loop, b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n\r\n").path == target.decode()


def test_target_over_the_limit_gets_414(loop: asyncio.AbstractEventLoop) -> None:
    exc = refusal(loop, b"GET /" + b"a" * 8190 + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    assert isinstance(exc, RequestTargetTooLong) and exc.code == 414


def test_target_limit_is_configurable(loop: asyncio.AbstractEventLoop) -> None:
    assert refusal(loop, b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: h\r\n\r\n", max_line_size=64).code == 414


def test_long_target_fed_in_pieces_gets_414(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    parser.feed_data(b"GET /")
    with pytest.raises(RequestTargetTooLong):
        for _ in range(100):
            parser.feed_data(b"a" * 100)


def test_header_field_at_the_limit_is_fine(loop: asyncio.AbstractEventLoop) -> None:
    value = b"v" * (8190 - len(b"X-Big"))
    assert parse_one(loop, b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + value + b"\r\n\r\n").headers["X-Big"]


def test_header_field_over_the_limit_gets_431(loop: asyncio.AbstractEventLoop) -> None:
    exc = refusal(loop, b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"v" * 8190 + b"\r\n\r\n")
    assert isinstance(exc, LineTooLong) and exc.code == 431


def test_header_field_limit_is_configurable(loop: asyncio.AbstractEventLoop) -> None:
    assert refusal(loop, b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"v" * 100 + b"\r\n\r\n", max_field_size=50).code == 431


def test_endless_header_value_is_refused_before_it_ends(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    parser.feed_data(b"GET / HTTP/1.1\r\nHost: h\r\nX: ")
    with pytest.raises(LineTooLong) as info:
        for _ in range(10_000):
            parser.feed_data(b"v" * 10)
    assert info.value.code == 431


def test_too_many_headers_get_431(loop: asyncio.AbstractEventLoop) -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(128))
    exc = refusal(loop, b"GET / HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\n")
    assert isinstance(exc, TooManyHeaders) and exc.code == 431


def test_header_count_limit_is_configurable(loop: asyncio.AbstractEventLoop) -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(9))
    assert parse_one(loop, b"GET / HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\n", max_headers=10)
    fields += b"X-last: v\r\n"
    assert refusal(loop, b"GET / HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\n", max_headers=10).code == 431


def test_endless_header_section_gets_431(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop, max_headers=1000)
    parser.feed_data(b"GET / HTTP/1.1\r\nHost: h\r\n")
    with pytest.raises(BadHttpMessage) as info:
        for i in range(100_000):
            parser.feed_data(b"X-%d: %s\r\n" % (i, b"v" * 8000))
    assert info.value.code == 431


def test_trailers_count_against_the_field_limit(loop: asyncio.AbstractEventLoop) -> None:
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + b"v" * 9000 + b"\r\n\r\n"
    assert refusal(loop, data).code == 431


def test_endless_trailer_is_refused_before_it_ends(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop)
    [(_, payload)], _, _ = parser.feed_data(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: "
    )
    with pytest.raises(LineTooLong):
        for _ in range(10_000):
            parser.feed_data(b"v" * 100)
    assert isinstance(payload.exception(), LineTooLong)


def test_long_body_in_small_pieces_is_fine(loop: asyncio.AbstractEventLoop) -> None:
    parser = make_parser(loop, limit=2**20)
    [(_, payload)], _, _ = parser.feed_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(1000):
        parser.feed_data(b"b" * 100)
    assert len(body_of(payload)) == 100_000
