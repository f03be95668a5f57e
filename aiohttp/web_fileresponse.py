"""FileResponse: send a file from disk with ranges, conditionals and precompressed siblings.

The file is opened once, in an executor, and everything afterwards (size, mtime, ETag)
comes from ``fstat`` of that one descriptor, so a file swapped mid-request is never
served half old, half new. Plain TCP connections send the body with ``loop.sendfile``;
TLS connections (and loops without sendfile) read chunks in an executor.

Ranges: one ``bytes=`` range is answered with 206 and Content-Range; an unsatisfiable
or malformed one with 416 and ``Content-Range: bytes */size``; a multi-range request
is answered with 200 and the whole file (multipart/byteranges is not produced).
"""

import asyncio
import mimetypes
import os
import pathlib
import stat
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Final, Optional, Union

from . import hdrs
from .abc import AbstractStreamWriter
from .helpers import ETAG_ANY, ETag, format_http_date, must_be_empty_body, parse_accept_encoding
from .typedefs import LooseHeaders, PathLike
from .web_response import StreamResponse

if TYPE_CHECKING:
    from .web_request import BaseRequest

__all__ = ("FileResponse",)

#: Set ``AIOHTTP_NOSENDFILE=1`` to always send files by chunked reads.
NOSENDFILE: Final = bool(os.environ.get("AIOHTTP_NOSENDFILE"))

#: Precompressed siblings tried, best first: (suffix, Content-Encoding).
_SIBLINGS: Final = ((".br", "br"), (".gz", "gzip"))

#: Content types for files that are themselves compressed archives; sent as-is, never
#: with a Content-Encoding a browser would undo.
_ENCODED_TYPES: Final[Mapping[str, str]] = {
    "gzip": "application/gzip",
    "br": "application/x-brotli",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}
FALLBACK_CONTENT_TYPE: Final = "application/octet-stream"


class _Opened:
    """An open file plus what fstat said about it, or the status to answer instead."""

    __slots__ = ("encoding", "fobj", "has_siblings", "mtime_ns", "refusal", "size")

    def __init__(self) -> None:
        self.fobj: Optional[IO[bytes]] = None
        self.size = 0
        self.mtime_ns = 0
        self.encoding: Optional[str] = None
        self.refusal: Optional[int] = None
        self.has_siblings = False


def _open_regular(path: pathlib.Path) -> Optional[IO[bytes]]:
    """Open ``path`` if it is a regular file; None if it is anything else.

    ``O_NONBLOCK`` keeps a FIFO from blocking the open; it means nothing for files.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _sibling_stays_beside(path: pathlib.Path, sibling: pathlib.Path) -> bool:
    """False for a sibling that is a symlink leading out of the file's own folder.

    The static route checked ``path`` against its root; a ``.gz``/``.br`` next to it must
    not become a way to read a file elsewhere.
    """
    if not os.path.islink(sibling):
        return True
    return os.path.dirname(os.path.realpath(sibling)) == os.path.dirname(os.path.realpath(path))


def _open_best(path: pathlib.Path, accepted: frozenset[str]) -> _Opened:
    """Open the best variant of ``path`` the client accepts (runs in an executor)."""
    result = _Opened()
    for suffix, coding in _SIBLINGS:
        sibling = path.with_name(path.name + suffix)
        if coding in accepted:
            if not _sibling_stays_beside(path, sibling):
                continue
            try:
                fobj = _open_regular(sibling)
            except OSError:
                continue
            if fobj is None:
                continue
            result.fobj, result.encoding, result.has_siblings = fobj, coding, True
            break
        elif not result.has_siblings:
            result.has_siblings = os.path.isfile(sibling)
    if result.fobj is None:
        try:
            result.fobj = _open_regular(path)
        except FileNotFoundError:
            result.refusal = 404
            return result
        except (NotADirectoryError, IsADirectoryError):
            result.refusal = 404
            return result
        except OSError:
            result.refusal = 403  # permission denied and friends
            return result
        if result.fobj is None:
            result.refusal = 403
            return result
    st = os.fstat(result.fobj.fileno())
    result.size = st.st_size
    result.mtime_ns = st.st_mtime_ns
    return result


def _parse_range(header: str, size: int) -> Union[tuple[int, int], str, None]:
    """One ``bytes=`` range as ``(start, end_exclusive)``.

    Returns ``"multi"`` for several ranges, ``"bad"`` for malformed or unsatisfiable
    ones, and None when the header is not a byte range at all (then it is ignored).
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return "multi"
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return "bad"
    if first == "":
        if last == "":
            return "bad"
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "bad"
        return max(size - suffix, 0), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or start >= end:
        return "bad"
    return start, end


def _etag_matches(etag: str, candidates: tuple[ETag, ...], *, weak: bool) -> bool:
    """RFC 9110 comparison: strong for If-Match, weak for If-None-Match."""
    for candidate in candidates:
        if candidate.value == ETAG_ANY:
            return True
        if candidate.value == etag and (weak or not candidate.is_weak):
            return True
    return False


class FileResponse(StreamResponse):
    """A response that sends the file at ``path``, ``chunk_size`` bytes at a time."""

    def __init__(
        self,
        path: PathLike,
        chunk_size: int = 256 * 1024,
        status: int = 200,
        reason: Optional[str] = None,
        headers: Optional[LooseHeaders] = None,
    ) -> None:
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size <= 0:
            raise ValueError(f"chunk_size must be a positive int, not {chunk_size!r}")
        super().__init__(status=status, reason=reason, headers=headers)
        self._path = pathlib.Path(path)
        self._chunk_size = chunk_size

    async def prepare(self, request: "BaseRequest") -> Optional[AbstractStreamWriter]:
        """Decide the answer (200, 206, 304, 412, 416, 403, 404) and send the file."""
        if self.prepared:
            return await super().prepare(request)
        loop = asyncio.get_running_loop()
        opened = await loop.run_in_executor(None, _open_best, self._path, parse_accept_encoding(request.headers.get(hdrs.ACCEPT_ENCODING, "")))
        fobj = opened.fobj
        try:
            if fobj is None:
                assert opened.refusal is not None
                return await self._answer_empty(request, opened.refusal)
            return await self._serve(request, opened, fobj)
        finally:
            if fobj is not None:
                await loop.run_in_executor(None, fobj.close)

    async def _answer_empty(self, request: "BaseRequest", status: int) -> Optional[AbstractStreamWriter]:
        self.set_status(status)
        if not must_be_empty_body(request.method, status):
            self._headers.pop(hdrs.CONTENT_TYPE, None)
            self.content_length = 0
        writer = await super().prepare(request)
        await self.write_eof()
        return writer

    async def _serve(self, request: "BaseRequest", opened: _Opened, fobj: IO[bytes]) -> Optional[AbstractStreamWriter]:
        size = opened.size
        etag_value = f"{opened.mtime_ns:x}-{size:x}"
        mtime = opened.mtime_ns / 1e9
        headers = self._headers
        headers[hdrs.ETAG] = f'"{etag_value}"'
        headers[hdrs.LAST_MODIFIED] = format_http_date(mtime)
        if opened.has_siblings:
            headers[hdrs.VARY] = hdrs.ACCEPT_ENCODING

        # RFC 9110 13.2.2: preconditions in this order.
        if_match = request.if_match
        if if_match is not None:
            if not _etag_matches(etag_value, if_match, weak=False):
                return await self._answer_empty(request, 412)
        else:
            unmodified_since = request.if_unmodified_since
            if unmodified_since is not None and int(mtime) > unmodified_since.timestamp():
                return await self._answer_empty(request, 412)
        if_none_match = request.if_none_match
        if if_none_match is not None:
            if _etag_matches(etag_value, if_none_match, weak=True):
                if request.method in (hdrs.METH_GET, hdrs.METH_HEAD):
                    return await self._answer_empty(request, 304)
                return await self._answer_empty(request, 412)
        elif request.method in (hdrs.METH_GET, hdrs.METH_HEAD):
            modified_since = request.if_modified_since
            if modified_since is not None and int(mtime) <= modified_since.timestamp():
                return await self._answer_empty(request, 304)

        if hdrs.CONTENT_TYPE not in headers:
            headers[hdrs.CONTENT_TYPE] = self._guess_content_type()
        if opened.encoding is not None:
            headers[hdrs.CONTENT_ENCODING] = opened.encoding
            self._compression = False  # already compressed on disk
        headers[hdrs.ACCEPT_RANGES] = "bytes"

        offset, count = 0, size
        range_header = request.headers.get(hdrs.RANGE)
        if range_header is not None and request.method in (hdrs.METH_GET, hdrs.METH_HEAD):
            if self._if_range_holds(request, etag_value, mtime):
                parsed = _parse_range(range_header, size)
                if parsed == "bad":
                    headers[hdrs.CONTENT_RANGE] = f"bytes */{size}"
                    return await self._answer_empty(request, 416)
                if isinstance(parsed, tuple):
                    start, end = parsed
                    offset, count = start, end - start
                    self.set_status(206)
                    headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{size}"
                    self._compression = False  # offsets refer to the stored bytes

        self.content_length = count
        writer = await super().prepare(request)
        assert writer is not None
        if count and not self._must_be_empty_body:
            await self._send_body(request, writer, fobj, offset, count)
        await self.write_eof()
        return writer

    def _guess_content_type(self) -> str:
        ctype, encoding = mimetypes.guess_type(self._path.name)
        if encoding is not None:
            return _ENCODED_TYPES.get(encoding, FALLBACK_CONTENT_TYPE)
        if ctype is None:
            return FALLBACK_CONTENT_TYPE
        if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
            return f"{ctype}; charset=utf-8"
        return ctype

    @staticmethod
    def _if_range_holds(request: "BaseRequest", etag_value: str, mtime: float) -> bool:
        """False when If-Range names another version: then the whole file is sent."""
        raw = request.headers.get(hdrs.IF_RANGE)
        if raw is None:
            return True
        raw = raw.strip()
        if raw.startswith('"') or raw.startswith("W/"):
            return raw == f'"{etag_value}"'  # strong comparison only
        since = request.if_range
        return since is not None and int(mtime) <= since.timestamp()

    async def _send_body(
        self, request: "BaseRequest", writer: AbstractStreamWriter, fobj: IO[bytes], offset: int, count: int
    ) -> None:
        transport = request.transport
        use_sendfile = (
            not NOSENDFILE
            and not self._compression
            and not getattr(writer, "chunked", False)
            and transport is not None
            and transport.get_extra_info("sslcontext") is None
            and transport.get_extra_info("socket") is not None
        )
        if use_sendfile:
            assert transport is not None
            await writer.drain()  # flushes the held-back headers first
            loop = asyncio.get_running_loop()
            try:
                sent = await loop.sendfile(transport, fobj, offset, count, fallback=False)
            except (asyncio.SendfileNotAvailableError, NotImplementedError, AttributeError):
                pass
            else:
                self._body_length += sent
                if writer.length is not None:
                    writer.length = max(writer.length - sent, 0)
                if sent < count:
                    self.force_close()  # the file shrank: the body is short
                return
        await self._send_chunks(writer, fobj, offset, count)

    async def _send_chunks(self, writer: AbstractStreamWriter, fobj: IO[bytes], offset: int, count: int) -> None:
        """Read ``chunk_size`` pieces in an executor and write them through the writer."""
        loop = asyncio.get_running_loop()
        fd = fobj.fileno()
        chunk_size = self._chunk_size
        while count > 0:
            chunk = await loop.run_in_executor(None, os.pread, fd, min(chunk_size, count), offset)
            if not chunk:
                self.force_close()  # the file shrank: the body is short
                break
            offset += len(chunk)
            count -= len(chunk)
            await self.write(chunk)
