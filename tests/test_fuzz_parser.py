"""Fuzzing the request parser: whatever bytes come, it answers with messages or a BadHttpMessage."""

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.http_parser import HttpRequestParser

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

VALID = [
    b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST /p?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
]


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


def feed_pieces(loop: asyncio.AbstractEventLoop, pieces: list[bytes], **limits: int) -> None:
    parser = HttpRequestParser(Flow(), loop, **limits)
    try:
        for piece in pieces:
            messages, upgraded, _ = parser.feed_data(piece)
            for message, _payload in messages:
                assert message.method and message.version in ((1, 0), (1, 1))
            if upgraded:
                return
        parser.feed_eof()
    except BadHttpMessage as exc:
        assert 400 <= exc.code < 600


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_random_bytes(shared_loop: asyncio.AbstractEventLoop, pieces: list[bytes]) -> None:
    feed_pieces(shared_loop, pieces)


@FUZZ
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 200), st.binary(min_size=1, max_size=3)), max_size=4),
    st.integers(1, 50),
)
def test_mutated_requests(
    shared_loop: asyncio.AbstractEventLoop, base: bytes, edits: list[tuple[int, bytes]], step: int
) -> None:
    data = bytearray(base * 2)
    for pos, new in edits:
        pos %= len(data)
        data[pos : pos + len(new)] = new
    raw = bytes(data)
    feed_pieces(shared_loop, [raw[i : i + step] for i in range(0, len(raw), step)])


@FUZZ
@given(st.text(alphabet="GETPOST /HTP1.0\r\n:Hostcnkd-0123456789abc;=\t ", max_size=300))
def test_request_like_text(shared_loop: asyncio.AbstractEventLoop, text: str) -> None:
    feed_pieces(shared_loop, [text.encode()], max_line_size=64, max_field_size=64, max_headers=4)


@FUZZ
@given(
    st.sampled_from(["GET", "CONNECT", "OPTIONS", "POST"]),
    st.text(alphabet="htps:/[]@%#?&=.:0123456789abcdef*-~", min_size=1, max_size=40),
)
def test_request_targets(shared_loop: asyncio.AbstractEventLoop, method: str, target: str) -> None:
    feed_pieces(shared_loop, [f"{method} {target} HTTP/1.1\r\nHost: h\r\n\r\n".encode()])
