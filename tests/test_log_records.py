"""The request-id record factory makes the records logging.LogRecord makes, plus the id.

Each test builds a record both ways for the same call and compares every attribute;
only the three timing attributes differ, and those must agree with each other.
"""

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from forking import run_in_child

from aiohttp.request_id import setup_logging_request_id_prefix, stdlib_record_maker, use_request_id

Factory = Callable[..., logging.LogRecord]

CALL: tuple[Any, ...] = ("app", logging.INFO, "/srv/app/handlers.py", 42, "handled %s", ("/log",), None, "view", None)
TIMING = ("created", "msecs", "relativeCreated")
ID_ATTRS = ["request_id", "requestIdPrefix"]


@pytest.fixture
def factory() -> Iterator[Factory]:
    """Our factory installed over the stdlib's own; the previous one restored afterwards."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    setup_logging_request_id_prefix()
    installed = logging.getLogRecordFactory()
    assert installed == installed.__self__.build  # type: ignore[attr-defined]  # the fast construction
    yield installed
    logging.setLogRecordFactory(previous)


def compare(ours: logging.LogRecord, theirs: logging.LogRecord, extra: list[str]) -> list[str]:
    """What differs between two records made for the same call; empty when they agree.

    Plain data, so a forked child can send it to the parent.
    """
    problems = []
    if not isinstance(ours, logging.LogRecord):
        problems.append(f"not a LogRecord: {type(ours)}")
    mine, stdlib = vars(ours), vars(theirs)
    if list(mine) != list(stdlib) + extra:
        problems.append(f"attributes {list(mine)} != {list(stdlib) + extra}")
    for key, value in stdlib.items():
        if key not in TIMING and mine.get(key) != value:
            problems.append(f"{key}: {mine.get(key)!r} != {value!r}")
    created, msecs, relative = ours.created, ours.msecs, ours.relativeCreated
    if not (isinstance(msecs, float) and 0 <= msecs < 1000 and int(msecs) == msecs):
        problems.append(f"msecs {msecs!r} is not whole milliseconds")
    if abs((created - int(created)) * 1000 - msecs) > 1.0:
        problems.append(f"msecs {msecs!r} is not the fraction of created {created!r}")
    start = logging._startTime  # type: ignore[attr-defined]
    start_seconds = start / 1e9 if isinstance(start, int) else start
    if abs((created - start_seconds) * 1000 - relative) > 1.0:
        problems.append(f"relativeCreated {relative!r} does not match created {created!r}")
    return problems


def both(factory: Factory, *call: Any, **kwargs: Any) -> tuple[logging.LogRecord, logging.LogRecord]:
    before = time.time()
    ours = factory(*call, **kwargs)
    after = time.time()
    theirs = logging.LogRecord(*call, **kwargs)
    assert before - 0.001 <= ours.created <= after + 0.001
    return ours, theirs


@pytest.mark.parametrize(
    "call",
    [
        CALL,
        ("app", logging.INFO, "/srv/app/handlers.py", 7, "%(user)s left", ({"user": "ann"},), None, "view", None),
        ("app", logging.INFO, "handlers.py", 7, "%s", ({},), None, None, None),  # empty: not a mapping call
        ("app", logging.WARNING, "/srv/app/x.tar.gz", 1, "two %s %s", (1, 2), None, None, "Stack (most recent...)"),
        ("app", logging.ERROR, "/srv/app/y.py", 1, "none", None, None, None, None),
        ("app", 13, "/srv/app/y.py", 1, "unnamed level", (), None, None, None),
        ("app", logging.INFO, None, 0, "no path", (), None, None, None),
        ("", logging.DEBUG, "", 0, 12345, (), None, None, None),
        (None, None, "", 0, "", (), None, None, None),  # what logging.makeLogRecord passes
    ],
    ids=["plain", "mapping", "empty-mapping", "sinfo", "args-none", "level-13", "path-none", "odd", "make-log-record"],
)
def test_same_attributes_as_logging_logrecord(factory: Factory, call: tuple[Any, ...]) -> None:
    with use_request_id("r-1"):
        ours, theirs = both(factory, *call)
    assert compare(ours, theirs, ID_ATTRS) == []
    assert (ours.request_id, ours.requestIdPrefix) == ("r-1", "[req:r-1] ")  # type: ignore[attr-defined]
    outside, _ = both(factory, *call)
    assert (outside.request_id, outside.requestIdPrefix) == (None, "")  # type: ignore[attr-defined]


def test_exc_info_and_unknown_keywords_pass_as_in_logrecord(factory: Factory) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    call = ("app", logging.ERROR, __file__, 3, "failed", (), exc_info, "view", None)
    ours, theirs = both(factory, *call, future_keyword=1)
    assert compare(ours, theirs, ID_ATTRS) == []
    assert ours.exc_info is exc_info


def test_level_names_added_later_show(factory: Factory) -> None:
    logging.addLevelName(27, "AIOHTTP_NOTICE")
    ours, theirs = both(factory, "app", 27, __file__, 1, "m", (), None)
    assert ours.levelname == "AIOHTTP_NOTICE"
    assert compare(ours, theirs, ID_ATTRS) == []


@pytest.mark.parametrize("switch", ["logThreads", "logProcesses", "logMultiprocessing"])
def test_switched_off_attributes_are_none(factory: Factory, monkeypatch: pytest.MonkeyPatch, switch: str) -> None:
    monkeypatch.setattr(logging, switch, False)
    ours, theirs = both(factory, *CALL)
    assert compare(ours, theirs, ID_ATTRS) == []
    off = {"logThreads": ("thread", "threadName"), "logProcesses": ("process",), "logMultiprocessing": ("processName",)}
    assert all(getattr(ours, name) is None for name in off[switch])


def test_thread_renames_show(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading.current_thread(), "name", "renamed-main")
    ours, theirs = both(factory, *CALL)
    assert ours.threadName == "renamed-main"
    assert compare(ours, theirs, ID_ATTRS) == []

    names: list[str] = []

    def work() -> None:
        names.append(factory(*CALL).threadName or "")
        threading.current_thread().name = "worker-2"
        names.append(factory(*CALL).threadName or "")

    worker = threading.Thread(target=work, name="worker-1")
    worker.start()
    worker.join(timeout=10)
    assert names == ["worker-1", "worker-2"]


def test_threads_that_threading_did_not_start_are_named_as_the_stdlib_names_them(factory: Factory) -> None:
    """A thread started by ``_thread`` (as C extensions do) gets the stdlib's stand-in name."""
    import _thread

    done = threading.Event()
    pairs: list[tuple[object, object]] = []

    def work() -> None:
        try:
            ours, theirs = both(factory, *CALL)
            pairs.append((ours.threadName, theirs.threadName))
        finally:
            done.set()

    _thread.start_new_thread(work, ())
    assert done.wait(10)
    [(ours_name, theirs_name)] = pairs
    assert ours_name == theirs_name
    assert str(ours_name).startswith("Dummy-")


def test_process_renames_show(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    monkeypatch.setattr(multiprocessing.current_process(), "name", "renamed-process")
    ours, theirs = both(factory, *CALL)
    assert ours.processName == "renamed-process"
    assert compare(ours, theirs, ID_ATTRS) == []


def test_the_mapping_rule_follows_abc_registration(factory: Factory) -> None:
    class Bag:
        def __getitem__(self, key: str) -> str:
            return key.upper()

    bag = Bag()
    call = ("app", logging.INFO, __file__, 1, "%(x)s", (bag,), None)
    ours, theirs = both(factory, *call)
    assert ours.args == theirs.args == (bag,)
    Mapping.register(Bag)
    ours, theirs = both(factory, *call)
    assert ours.args is theirs.args is bag
    assert ours.getMessage() == "X"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_records_in_a_forked_child_carry_the_childs_pid(factory: Factory) -> None:
    assert factory(*CALL).process == os.getpid()  # the parent's pid is cached by now

    def in_child() -> dict:
        with use_request_id("child-1"):
            ours, theirs = factory(*CALL), logging.LogRecord(*CALL)
        return {"pid": os.getpid(), "process": ours.process, "problems": compare(ours, theirs, ID_ATTRS)}

    report = run_in_child(in_child)
    assert report["pid"] != os.getpid()
    assert report["process"] == report["pid"]
    assert report["problems"] == []


def test_a_previous_custom_factory_is_wrapped() -> None:
    class TenantRecord(logging.LogRecord):
        pass

    def custom(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = TenantRecord(*args, **kwargs)
        record.tenant = "acme"
        return record

    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(custom)
    try:
        setup_logging_request_id_prefix()
        installed = logging.getLogRecordFactory()
        assert stdlib_record_maker(installed) is None  # may add anything: makeRecord checks extra
        with use_request_id("t-1"):
            record = logging.getLogger("app").makeRecord(*CALL)
        assert isinstance(record, TenantRecord)
        assert record.tenant == "acme"  # type: ignore[attr-defined]
        assert compare(record, logging.LogRecord(*CALL), ["tenant", *ID_ATTRS]) == []
        assert record.requestIdPrefix == "[req:t-1] "  # type: ignore[attr-defined]
    finally:
        logging.setLogRecordFactory(previous)


def test_makerecord_with_our_factory_matches_the_stdlib(factory: Factory) -> None:
    logger = logging.getLogger("app")
    ours = logger.makeRecord(*CALL[:8], extra={"user": "ann"})
    logging.setLogRecordFactory(logging.LogRecord)
    theirs = logger.makeRecord(*CALL[:8], extra={"user": "ann"})
    # makeRecord sets extra after the factory has run, so the ids come before "user".
    assert list(vars(ours)) == [*list(vars(theirs))[:-1], *ID_ATTRS, "user"]
    del vars(ours)["user"], vars(theirs)["user"]
    assert compare(ours, theirs, ID_ATTRS) == []


def test_the_plain_stand_in_for_logrecord_matches_it() -> None:
    make = stdlib_record_maker(logging.LogRecord)
    assert make is not None
    ours, theirs = both(make, *CALL)
    assert compare(ours, theirs, []) == []


def test_make_log_record_and_pickling_work_as_with_logrecord(factory: Factory) -> None:
    import pickle

    record = logging.makeLogRecord({"msg": "from a socket", "levelno": logging.WARNING})
    assert isinstance(record, logging.LogRecord) and record.getMessage() == "from a socket"
    copy = pickle.loads(pickle.dumps(factory(*CALL)))
    assert compare(copy, logging.LogRecord(*CALL), ID_ATTRS) == []
