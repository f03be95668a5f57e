"""HTTP protocol names re-exported for compatibility with ``aiohttp.http``."""

from http import HTTPStatus

from .http_exceptions import HttpProcessingError
from .http_parser import HttpRequestParser, RawRequestMessage
from .http_writer import HttpVersion, HttpVersion10, HttpVersion11, StreamWriter
from .web_response import SERVER_SOFTWARE

RESPONSES = {s.value: (s.phrase, s.description) for s in HTTPStatus}

__all__ = (
    "HttpProcessingError",
    "HttpRequestParser",
    "HttpVersion",
    "HttpVersion10",
    "HttpVersion11",
    "RESPONSES",
    "RawRequestMessage",
    "SERVER_SOFTWARE",
    "StreamWriter",
)
