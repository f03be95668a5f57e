"""The access-log format language, compiled once: unit tests without sockets."""

import logging
import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from log_capture import Captured, captured_logger
from multidict import CIMultiDict

from aiohttp import web, web_log
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http import HttpVersion
from aiohttp.web_log import AccessLogger


@pytest.fixture
def recorder() -> Iterator[tuple[logging.Logger, Captured]]:
    with captured_logger("test.web_log") as logger_and_records:
        yield logger_and_records


def fake_request(**kw: Any) -> Any:
    values = {
        "remote": "10.0.0.7",
        "method": "GET",
        "path_qs": "/p?q=1",
        "version": SimpleNamespace(major=1, minor=1),
        "headers": CIMultiDict({"User-Agent": "probe/1", "Referer": "http://r/"}),
    }
    values.update(kw)
    return SimpleNamespace(**values)


def fake_response(**kw: Any) -> Any:
    values = {"status": 201, "body_length": 42, "headers": CIMultiDict({"ETag": '"abc"'})}
    values.update(kw)
    return SimpleNamespace(**values)


def test_the_default_format_is_aiohttps() -> None:
    assert AccessLogger.LOG_FORMAT == '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"'
    assert web.AccessLogger is AccessLogger


def test_format_compiles_to_a_template_and_its_atoms() -> None:
    access = AccessLogger(logging.getLogger("x"), '%T "%{ETag}o" %X {X} %%P 100%')
    assert access._log_format == '%s "%s" %%X {X} %%P 100%%'
    assert [atom.key for atom in access._atoms] == ["request_time", ("response_header", "ETag")]


def test_a_repeated_atom_keeps_its_first_place_and_last_value_in_extra(recorder: Any) -> None:
    logger, handler = recorder
    AccessLogger(logger, "%s %{A}i %a %{B}i %{A}o %s").log(
        fake_request(headers=CIMultiDict({"A": "1", "B": "2"})), fake_response(headers=CIMultiDict({"A": "3"})), 0.0
    )
    (record,) = handler.records
    assert record.getMessage() == "201 1 10.0.0.7 2 3 201"
    attrs = list(vars(record))
    assert attrs[attrs.index("response_status") :][:4] == [
        "response_status", "remote_address", "request_header", "response_header",
    ]
    assert record.request_header == {"A": "1", "B": "2"}
    assert record.response_header == {"A": "3"}


def test_header_names_are_data_not_code(recorder: Any) -> None:
    logger, handler = recorder
    access = AccessLogger(logger, "%{X-A_b-9}i %{'}i %{__import__}e")
    access.log(fake_request(headers=CIMultiDict({"X-A_b-9": "v"})), fake_response(), 0.0)
    assert handler.records[0].getMessage() == "v %{'}i -"


def test_every_atom(recorder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    logger, handler = recorder
    monkeypatch.setenv("LOG_ENV_ATOM", "env-value")
    fmt = '%a %t %P "%r" %s %b %T %Tf %D %{User-Agent}i %{ETag}o %{LOG_ENV_ATOM}e %{Missing}i %L %%'
    AccessLogger(logger, fmt).log(fake_request(), fake_response(), 1.5)
    (record,) = handler.records
    parts = record.getMessage().split(" ")
    assert parts[0] == "10.0.0.7"
    assert parts[1].startswith("[") and parts[2].endswith("]")
    assert parts[3] == f"<{os.getpid()}>"
    assert " ".join(parts[4:7]) == '"GET /p?q=1 HTTP/1.1"'
    assert parts[7:] == [
        "201", "42", "2", "1.500000", "1500000", "probe/1", '"abc"', "env-value", "-", "-", "%",
    ]


def test_values_also_go_to_the_records_extra(recorder: Any) -> None:
    logger, handler = recorder
    AccessLogger(logger, "%a %s %{User-Agent}i %{ETag}o").log(fake_request(), fake_response(), 0.1)
    (record,) = handler.records
    assert record.remote_address == "10.0.0.7"
    assert record.response_status == "201"
    assert record.request_header == {"User-Agent": "probe/1"}
    assert record.response_header == {"ETag": '"abc"'}


def test_remote_unknown_is_a_dash(recorder: Any) -> None:
    logger, handler = recorder
    AccessLogger(logger, "%a").log(fake_request(remote=None), fake_response(), 0.0)
    assert handler.records[0].getMessage() == "-"


def test_nothing_is_formatted_when_the_logger_is_disabled(recorder: Any) -> None:
    logger, handler = recorder
    logger.setLevel(logging.WARNING)
    access = AccessLogger(logger, "%a %r")
    assert not access.enabled

    class Exploding:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"{name} was read although nothing is logged")

    access.log(Exploding(), Exploding(), 0.0)  # type: ignore[arg-type]
    assert handler.records == []


def test_a_failing_atom_is_logged_not_raised(recorder: Any) -> None:
    logger, handler = recorder
    AccessLogger(logger, "%r").log(SimpleNamespace(), fake_response(), 0.0)  # type: ignore[arg-type]
    assert handler.records[0].getMessage() == "Error in logging"
    assert handler.records[0].exc_info is not None


def test_log_format_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="log_format must be a str"):
        AccessLogger(logging.getLogger("x"), None)  # type: ignore[arg-type]


def test_a_custom_access_logger_only_needs_log() -> None:
    lines: list[str] = []

    class Mine(AbstractAccessLogger):
        def log(self, request: Any, response: Any, time: float) -> None:
            lines.append(f"{request.method} {response.status}")

    mine = Mine(logging.getLogger("x"), "ignored")
    assert mine.enabled
    mine.log(fake_request(), fake_response(), 0.0)
    assert lines == ["GET 201"]


def test_gunicorn_formats_translate_to_aiohttp_atoms() -> None:
    worker = pytest.importorskip("aiohttp.worker")
    translate = worker.translate_gunicorn_log_format
    assert translate('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"') == AccessLogger.LOG_FORMAT
    assert translate('%(h)s "%(r)s" %(s)s %(D)s %({x-id}i)s %({etag}o)s %(L)s') == (
        '%a "%r" %s %D %{x-id}i %{etag}o %Tf'
    )
    assert translate('%a "%r"') == '%a "%r"'
    with pytest.raises(ValueError, match=r"%\(u\)s has no aiohttp equivalent"):
        translate("%(h)s %(u)s")


def test_trusted_proxies_reach_the_runner_only_when_it_takes_them() -> None:
    worker = pytest.importorskip("aiohttp.worker")

    class Taking(web.AppRunner):
        def __init__(self, app: Any, *, trusted_proxies: Any = None, **kwargs: Any) -> None:
            super().__init__(app, **kwargs)

    assert worker.runner_accepts_trusted_proxies(Taking)
    assert not worker.runner_accepts_trusted_proxies(web.ServerRunner)


@pytest.mark.parametrize(
    "version, line",
    [
        (HttpVersion(1, 1), "GET /p?q=1 HTTP/1.1"),
        (HttpVersion(1, 0), "GET /p?q=1 HTTP/1.0"),
        (HttpVersion(2, 0), "GET /p?q=1 HTTP/2.0"),
        (SimpleNamespace(major=1, minor=1), "GET /p?q=1 HTTP/1.1"),  # unhashable
    ],
)
def test_first_line_spells_each_version(recorder: Any, version: Any, line: str) -> None:
    logger, handler = recorder
    AccessLogger(logger, "%r").log(fake_request(version=version), fake_response(), 0.0)
    assert handler.records[0].getMessage() == line


def lines_and_extras(logger: logging.Logger, handler: Captured, log_format: str) -> list[Any]:
    AccessLogger(logger, log_format).log(fake_request(), fake_response(), 0.25)
    (record,) = handler.records
    handler.records.clear()
    attrs = vars(record)
    start = list(attrs).index("process") + 1  # what follows the stdlib's attributes
    return [record.getMessage(), [(k, v) for k, v in attrs.items() if k not in ("taskName", "message")][start:]]


def test_direct_records_and_makerecord_log_the_same(recorder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    logger, handler = recorder
    monkeypatch.setattr(web_log.time_mod, "time", lambda: 1_700_000_000.25)
    fast = lines_and_extras(logger, handler, AccessLogger.LOG_FORMAT)
    monkeypatch.setattr(web_log, "_record_maker", lambda logger: None)  # makeRecord(extra=...)
    checked = lines_and_extras(logger, handler, AccessLogger.LOG_FORMAT)
    assert fast == checked
    assert [key for key, _ in fast[1]] == [
        "remote_address", "request_start_time", "first_request_line", "response_status", "response_size",
        "request_header",
    ]


def test_a_logger_class_with_its_own_makerecord_is_used(recorder: Any) -> None:
    _, handler = recorder
    made: list[str] = []

    class Tagging(logging.Logger):
        def makeRecord(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
            made.append(args[4])
            return super().makeRecord(*args, **kwargs)

    logger = Tagging("test.web_log.tagging")
    logger.addHandler(handler)
    AccessLogger(logger, "%s").log(fake_request(), fake_response(), 0.0)
    assert made == ["201"]
    assert handler.records[0].response_status == "201"


def test_a_factory_adding_a_clashing_attribute_gets_makerecords_check(recorder: Any) -> None:
    logger, handler = recorder
    previous = logging.getLogRecordFactory()

    def clashing(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.response_status = "from the factory"
        return record

    logging.setLogRecordFactory(clashing)
    try:
        AccessLogger(logger, "%s").log(fake_request(), fake_response(), 0.0)
    finally:
        logging.setLogRecordFactory(previous)
    assert handler.records[0].getMessage() == "Error in logging"  # makeRecord's KeyError
