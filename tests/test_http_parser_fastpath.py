"""The parser's memo of whole bodiless heads changes nothing a client can observe.

A chunk that held only whole bodiless keep-alive requests is remembered, and the same
bytes at a message boundary are then answered without parsing. These tests feed the same
chunks with the memo on (``http_parser.FAST_PATH``) and off and compare everything the
connection sees: messages, refusals, ``in_head``, ``body_failed`` and upgrades.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiohttp import http_parser
from aiohttp.http_exceptions import BadHttpMessage, TooManyHeaders
from aiohttp.http_parser import HttpRequestParser, RawRequestMessage
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader

WRK_GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
BROWSER_GET = (
    b"GET /user/12345?tab=posts&page=2 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    b"Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Cookie: session=0123456789abcdef; theme=dark\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
)


class Flow:
    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@pytest.fixture(scope="module")
def shared_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@contextmanager
def fast_path(enabled: bool) -> Iterator[None]:
    saved = http_parser.FAST_PATH
    http_parser.FAST_PATH = enabled
    try:
        yield
    finally:
        http_parser.FAST_PATH = saved


def describe(entries: list[tuple[RawRequestMessage, StreamReader]]) -> list[tuple[Any, ...]]:
    """Everything a handler could learn from the messages and what their bodies hold so far."""
    seen = []
    for message, payload in entries:
        if payload is EMPTY_PAYLOAD:
            body: Any = "empty"
        elif payload.exception() is not None:
            body = type(payload.exception())
        else:
            body = (payload.read_nowait(), payload.is_eof())
        seen.append(
            (
                *message[:3],
                list(message.headers.items()),
                *message[4:9],
                message.url,
                str(message.url),
                body,
            )
        )
    return seen


def replay(
    loop: asyncio.AbstractEventLoop, chunks: list[bytes], fast: bool, **limits: int
) -> list[Any]:
    """What one connection sees when ``chunks`` arrive in turn."""
    parser = HttpRequestParser(Flow(), loop, **limits)
    seen: list[Any] = []
    with fast_path(fast):
        for chunk in chunks:
            try:
                messages, upgraded, tail = parser.feed_data(chunk)
            except BadHttpMessage as exc:
                taken = describe(parser.take_messages())
                seen.append(
                    ("refused", type(exc), str(exc), taken, parser.body_failed, parser.in_head)
                )
                return seen
            seen.append(("ok", describe(messages), upgraded, tail, parser.in_head))
            if upgraded:
                return seen
    return seen


def assert_same(loop: asyncio.AbstractEventLoop, chunks: list[bytes], **limits: int) -> None:
    expected = replay(loop, chunks, False, **limits)
    # The memo notes a chunk the first time, keeps its messages the second, answers the third.
    for _ in range(3):
        assert replay(loop, chunks, True, **limits) == expected


# -- examples ------------------------------------------------------------------


def test_a_repeated_head_gets_the_same_message_without_parsing(
    shared_loop: asyncio.AbstractEventLoop,
) -> None:
    parser = HttpRequestParser(Flow(), shared_loop)
    first, second, third = ([m for m, _ in parser.feed_data(WRK_GET)[0]] for _ in range(3))
    assert first == second == third
    assert third[0] is second[0]  # handed out again, not parsed again
    assert third[0].headers["host"] == "127.0.0.1:8080" and not third[0].should_close


def test_pipelined_heads_are_remembered_together(shared_loop: asyncio.AbstractEventLoop) -> None:
    parser = HttpRequestParser(Flow(), shared_loop)
    for _ in range(3):
        messages, upgraded, tail = parser.feed_data(BROWSER_GET * 2)
        assert [m.path for m, _ in messages] == ["/user/12345?tab=posts&page=2"] * 2
        assert not upgraded and tail == b"" and not parser.in_head


def test_requests_with_a_body_get_their_own_stream(shared_loop: asyncio.AbstractEventLoop) -> None:
    post = b"POST /items HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd"
    parser = HttpRequestParser(Flow(), shared_loop)
    payloads = [parser.feed_data(post)[0][0][1] for _ in range(3)]
    assert len({id(p) for p in payloads}) == 3
    assert [p.read_nowait() for p in payloads] == [b"abcd"] * 3


def test_nothing_is_accepted_after_a_close_even_a_remembered_head(
    shared_loop: asyncio.AbstractEventLoop,
) -> None:
    closing = b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    for fast in (False, True):
        with fast_path(fast):
            for _ in range(3):
                HttpRequestParser(Flow(), shared_loop).feed_data(WRK_GET)  # the memo knows it
            parser = HttpRequestParser(Flow(), shared_loop)
            assert parser.feed_data(closing)[0][0][0].should_close
            with pytest.raises(BadHttpMessage, match="Data after `Connection: close`"):
                parser.feed_data(WRK_GET)


def test_a_request_line_without_version_after_a_remembered_head(
    shared_loop: asyncio.AbstractEventLoop,
) -> None:
    # As before: only the first request of a connection is refused at once for this.
    assert_same(shared_loop, [WRK_GET, b"GET /path\r\n", b"Host: h\r\n\r\n"])
    assert_same(shared_loop, [b"GET /path\r\n"])


def test_blank_lines_after_a_remembered_head_count_as_before(
    shared_loop: asyncio.AbstractEventLoop,
) -> None:
    # Bytes without a callback are limited (llhttp buffers them); a head resets the count.
    assert_same(shared_loop, [WRK_GET, WRK_GET, WRK_GET, b"\r\n" * 2200, b"\r\n" * 2400])


def test_the_memo_keeps_to_the_parsers_limits(shared_loop: asyncio.AbstractEventLoop) -> None:
    for _ in range(3):
        HttpRequestParser(Flow(), shared_loop).feed_data(BROWSER_GET)
    with pytest.raises(TooManyHeaders):
        HttpRequestParser(Flow(), shared_loop, max_headers=2).feed_data(BROWSER_GET)


def test_switched_off_every_chunk_is_parsed(shared_loop: asyncio.AbstractEventLoop) -> None:
    with fast_path(False):
        parser = HttpRequestParser(Flow(), shared_loop)
        first, second, third = (parser.feed_data(WRK_GET)[0][0][0] for _ in range(3))
    assert first == second == third and third is not second


# -- differential fuzzing ----------------------------------------------------------

# Each part of a request is usually an ordinary one and now and then (one time in twenty) an
# odd one: near misses the parser refuses, and framing or keep-alive it must see itself.
METHODS = (
    ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"],
    ["CONNECT", "PRI", "get", "TRACE"],
)
TARGETS = (
    ["/", "/", "/a/b?x=1&y=%20", "/user/12345?tab=posts", "//x/y", "/~a/b;c=d/@e:f"],
    ["*", "http://h/p", "h:443", "/p#frag", "/x y", "/a|{}", "/" + "t" * 40, "", "/caf\xc3\xa9"],
)
VERSIONS = (
    ["HTTP/1.1", "HTTP/1.1", "HTTP/1.0"],
    ["HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "http/1.1", ""],
)
FIELDS = (
    [
        ("User-Agent", "wrk/4.2 (X11; Linux x86_64)"), ("Accept", "*/*"), ("Connection", "keep-alive"),
        ("connection", "Keep-Alive"), ("X-Request-ID", "v" * 40), ("Cookie", "a=b; c=d"),
        ("Accept-Encoding", "gzip, deflate, br"), ("Expect", "100-continue"), ("Content-Length", "0"),
        ("Content-Length", "4"), ("x-empty", ""), ("X-Tab", "a\tb"),
    ],
    [
        ("Connection", "close"), ("Connection", "keep-alive, close"), ("Upgrade", "websocket"),
        ("Connection", "Upgrade"), ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "gzip"),
        ("Content-Encoding", "gzip"), ("Proxy-Connection", "close"), ("Host", "bad host"),
        ("Host", "[::1]:80"), ("HOST", "h"), ("Bad Name", "x"), ("Bad/Name", "x"), ("", "x"),
        ("X-Utf8", "caf\xc3\xa9"), ("X-Latin", "\xff"), ("X-Pad", " padded \t"),
        ("X-Long", "w" * 300), ("Content-Length", "x"), ("Content-Length", "4, 4"),
    ],
)  # fmt: skip
SEPARATORS = ([": "], [":", ":\t", " : ", ":\r\n "])
EOLS = (["\r\n"], ["\n"])
EDIT_BYTES = [b"\x00", b"\r", b"\n", b"\r\n ", b" ", b"\t", b":", b"\x7f", b"\x80", b"#", b"a", b"\r\n\r\n"]  # fmt: skip


def pick(draw: st.DrawFn, choices: tuple[list[Any], list[Any]]) -> Any:
    usual, odd = choices
    return draw(st.sampled_from(odd if draw(st.integers(0, 19)) == 0 else usual))


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A request, usually well-formed, sometimes with an odd part or an edited byte."""
    version = pick(draw, VERSIONS)
    line = f"{pick(draw, METHODS)} {pick(draw, TARGETS)} {version}".rstrip()
    fields = list(dict(pick(draw, FIELDS) for _ in range(draw(st.integers(0, 4)))).items())
    if version == "HTTP/1.0" and draw(st.integers(0, 3)):
        fields.append(("Connection", "keep-alive"))
    if draw(st.integers(0, 9)):
        fields.insert(
            draw(st.integers(0, len(fields))),
            ("Host", draw(st.sampled_from(["h", "127.0.0.1:8080"]))),
        )
    separator, eol = pick(draw, SEPARATORS), pick(draw, EOLS)
    head = eol.join([line] + [f"{name}{separator}{value}" for name, value in fields]) + eol + eol
    body = b"abcd" if ("Content-Length", "4") in fields else b""
    if ("Transfer-Encoding", "chunked") in fields:
        body = b"2\r\nab\r\n0\r\n\r\n"
    raw = bytearray(head.encode("latin-1") + body)
    if not draw(st.integers(0, 9)):
        pos = draw(st.integers(0, len(raw) - 1))
        new = draw(st.sampled_from(EDIT_BYTES))
        raw[pos : pos + len(new)] = new
    return bytes(raw)


@st.composite
def connections(draw: st.DrawFn) -> list[bytes]:
    """The chunks of one connection: requests, pipelined or split, often sent again."""
    gaps = st.sampled_from([b"", b"", b"", b"\r\n", b"\r", b"\n"])
    stream = b"".join(r + draw(gaps) for r in draw(st.lists(requests(), min_size=1, max_size=3)))
    cuts: list[int] = []
    if draw(st.booleans()):
        cuts = sorted(draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=3)))
    chunks = [
        stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True) if stream[a:b]
    ]
    return chunks * draw(st.integers(1, 3))


LIMITS = st.sampled_from([{}, {}, {"max_line_size": 24, "max_field_size": 48, "max_headers": 3}])
FUZZ = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(connections(), LIMITS)
def test_memo_on_and_off_answer_alike(
    shared_loop: asyncio.AbstractEventLoop, chunks: list[bytes], limits: dict[str, int]
) -> None:
    assert_same(shared_loop, chunks, **limits)


@FUZZ
@given(
    st.lists(
        st.sampled_from([WRK_GET, BROWSER_GET, b"\r\n", b"GET /path\r\n", b"Host: h\r\n\r\n"]),
        max_size=8,
    )
)
def test_known_heads_between_other_chunks(
    shared_loop: asyncio.AbstractEventLoop, chunks: list[bytes]
) -> None:
    assert_same(shared_loop, chunks)
