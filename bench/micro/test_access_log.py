"""Access-log formatting: one line per request, with the default and a request-id format."""

from __future__ import annotations

import logging

import pytest

web_log = pytest.importorskip("aiohttp.web_log")
test_utils = pytest.importorskip("aiohttp.test_utils")
web = pytest.importorskip("aiohttp.web")

DEFAULT_FORMAT = '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"'
TIMED_FORMAT = '%a %t "%r" %s %b %Tf "%{User-Agent}i"'


class CountingHandler(logging.Handler):
    """Formats every record, as a file handler would, and only counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        self.count += 1


@pytest.fixture
def access_logger():
    logger = logging.getLogger("bench.micro.access")
    logger.handlers[:] = [CountingHandler()]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger
    logger.handlers[:] = []


@pytest.mark.parametrize("fmt", [DEFAULT_FORMAT, TIMED_FORMAT], ids=["default", "timed"])
def test_access_log_line(benchmark, loop, access_logger, fmt: str) -> None:
    request = test_utils.make_mocked_request(
        "GET",
        "/user/12345?tab=posts",
        headers={"User-Agent": "wrk", "Referer": "https://example.com/"},
    )
    response = web.Response(text="user 12345")
    formatter = web_log.AccessLogger(access_logger, fmt)

    benchmark(formatter.log, request, response, 0.000123)
    assert access_logger.handlers[0].count > 0
