"""Access-log formatting and log records: one line per request, with and without request ids.

The correlated-logging benchmark writes two records per request: the application's line
and the access line, both carrying the request id through the record factory.
"""

from __future__ import annotations

import logging

import pytest

web_log = pytest.importorskip("aiohttp.web_log")
test_utils = pytest.importorskip("aiohttp.test_utils")
web = pytest.importorskip("aiohttp.web")
request_id = pytest.importorskip("aiohttp.request_id")

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


@pytest.fixture
def with_request_id():
    """The request-id record factory installed and an id set, as inside a request."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    request_id.setup_logging_request_id_prefix()
    token = request_id.request_id.set("abcdefghjkmnpqrs")
    yield
    request_id.request_id.reset(token)
    logging.setLogRecordFactory(previous)


def test_access_log_line_with_request_id(benchmark, loop, access_logger, with_request_id) -> None:
    """The access line as the correlated benchmark writes it: ``%(requestIdPrefix)s%(message)s``."""
    access_logger.handlers[0].setFormatter(logging.Formatter("%(requestIdPrefix)s%(message)s"))
    request = test_utils.make_mocked_request(
        "GET", "/log", headers={"User-Agent": "wrk", "Referer": "https://example.com/"}
    )
    assert request.remote is not None  # reified now, as the first line of a request would
    response = web.Response(text="logged")
    formatter = web_log.AccessLogger(access_logger, DEFAULT_FORMAT)

    benchmark(formatter.log, request, response, 0.000123)
    assert access_logger.handlers[0].count > 0


@pytest.mark.parametrize("made_by", ["stdlib", "request-id-factory"])
def test_log_record(benchmark, with_request_id, made_by: str) -> None:
    """One LogRecord: logging.LogRecord itself, and the request-id factory standing in for it."""
    make = logging.LogRecord if made_by == "stdlib" else logging.getLogRecordFactory()
    record = benchmark(make, "bench", logging.INFO, __file__, 37, "handled %s", ("/log",), None, "logged")
    assert record.getMessage() == "handled /log"


def test_app_log_line_with_request_id(benchmark, access_logger, with_request_id) -> None:
    """``log.info("handled %s", path)`` with the benchmark app's format, formatted in full."""
    fmt = "%(asctime)s %(levelname)s %(name)s: %(requestIdPrefix)s%(message)s"
    access_logger.handlers[0].setFormatter(logging.Formatter(fmt))
    benchmark(access_logger.info, "handled %s", "/log")
    assert access_logger.handlers[0].count > 0
