"""Protocol errors raised by the wire layer; each carries the status it maps to."""

from typing import Optional, Union

from multidict import CIMultiDict

__all__ = ("HttpProcessingError",)


class HttpProcessingError(Exception):
    """Base of HTTP protocol errors.

    ``code`` is the status a server answers with, ``message`` a short reason that is
    safe to show the peer, ``headers`` any extra response headers.
    """

    code = 0
    message = ""

    def __init__(
        self,
        *,
        code: Optional[int] = None,
        message: str = "",
        headers: Optional[CIMultiDict[str]] = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.headers = headers
        self.message = message

    def __str__(self) -> str:
        msg = self.message.replace("\n", " ")
        return f"{self.code}, message:\n  {msg}"

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}: {self.code}, message={self.message!r}>"


class BadHttpMessage(HttpProcessingError):
    code = 400
    message = "Bad Request"

    def __init__(self, message: str, *, headers: Optional[CIMultiDict[str]] = None) -> None:
        super().__init__(message=message, headers=headers)
        self.args = (message,)


class HttpBadRequest(BadHttpMessage):
    code = 400
    message = "Bad Request"


class PayloadEncodingError(BadHttpMessage):
    """The body could not be decoded."""


class ContentEncodingError(PayloadEncodingError):
    """Content-Encoding could not be undone."""


class TransferEncodingError(PayloadEncodingError):
    """Transfer-Encoding framing was broken."""


class ContentLengthError(PayloadEncodingError):
    """The body ended before Content-Length bytes arrived."""


class LineTooLong(BadHttpMessage):
    """A request line or header field exceeded its limit (431, or 414 for the target)."""

    code = 431

    def __init__(
        self, line: Union[str, bytes], limit: Union[int, str] = "Unknown", actual_size: str = "Unknown"
    ) -> None:
        if isinstance(line, bytes):
            line = line[:100].decode("latin-1", "backslashreplace")
        super().__init__(f"Got more than {limit} bytes ({actual_size}) when reading {line}.")
        self.args = (line, limit, actual_size)


class RequestTargetTooLong(LineTooLong):
    code = 414


class TooManyHeaders(BadHttpMessage):
    code = 431


class InvalidHeader(BadHttpMessage):
    def __init__(self, hdr: Union[bytes, str]) -> None:
        hdr_s = hdr.decode(errors="backslashreplace") if isinstance(hdr, bytes) else hdr
        super().__init__(f"Invalid HTTP header: {hdr_s!r}")
        self.hdr = hdr_s
        self.args = (hdr,)


class BadStatusLine(BadHttpMessage):
    def __init__(self, line: str = "", error: Optional[str] = None) -> None:
        if not isinstance(line, str):
            line = repr(line)
        super().__init__(error or f"Bad status line {line!r}")
        self.args = (line,)
        self.line = line


class BadHttpMethod(BadStatusLine):
    def __init__(self, line: str = "", error: Optional[str] = None) -> None:
        super().__init__(line, error or f"Bad HTTP method in status line {line!r}")


class HttpVersionNotSupported(BadHttpMessage):
    code = 505


class PayloadTooLarge(BadHttpMessage):
    code = 413


class RequestTimeout(BadHttpMessage):
    code = 408


class InvalidURLError(BadHttpMessage):
    pass
