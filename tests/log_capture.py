"""Test support: log records kept in memory, for tests that assert what was logged."""

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, Optional

from aiohttp.request_id import setup_logging_request_id_prefix


class Captured(logging.Handler):
    """Keeps every record it gets, with ``record.message`` filled in."""

    def __init__(self, fmt: Optional[str] = None) -> None:
        super().__init__(logging.DEBUG)
        if fmt is not None:
            self.setFormatter(logging.Formatter(fmt))
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.message = record.getMessage()
        self.records.append(record)

    def by(self, logger_name: str) -> list[logging.LogRecord]:
        """The records of one logger."""
        return [r for r in self.records if r.name == logger_name]

    def ids(self, logger_name: str) -> list[Any]:
        """The request id of each record of one logger."""
        return [getattr(r, "request_id", None) for r in self.by(logger_name)]

    @property
    def lines(self) -> list[str]:
        """Every record formatted, as a handler with this format would print it."""
        return [self.format(r) for r in self.records]

    def of(self, rid: str) -> list[str]:
        """The formatted lines that carry the ``[req:<rid>] `` prefix."""
        return [line for line in self.lines if f"[req:{rid}] " in line]


@contextlib.contextmanager
def captured_root(fmt: Optional[str] = None) -> Iterator[Captured]:
    """Every record at INFO and above, with the request-id record factory installed.

    The root logger's level and the record factory are restored afterwards.
    """
    root = logging.getLogger()
    old_level, old_factory = root.level, logging.getLogRecordFactory()
    handler = Captured(fmt)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    setup_logging_request_id_prefix()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        logging.setLogRecordFactory(old_factory)


@contextlib.contextmanager
def captured_logger(name: str) -> Iterator[tuple[logging.Logger, Captured]]:
    """The logger ``name`` at INFO, kept to itself (not propagating), and what it gets."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = Captured()
    logger.addHandler(handler)
    try:
        yield logger, handler
    finally:
        logger.removeHandler(handler)
