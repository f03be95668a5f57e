"""Streaming multipart (RFC 2046, RFC 7578) reading and writing.

Theory of operation (reader). A multipart body is::

    preamble CRLF? "--" boundary LWSP CRLF
    headers CRLF body  CRLF "--" boundary LWSP CRLF
    headers CRLF body  CRLF "--" boundary "--" epilogue

``MultipartReader`` owns the lines between parts: the first boundary, the tail of each
delimiter line and each part's headers; every line it reads is bounded. A
``BodyPartReader`` owns one body: it hands out bytes until it meets ``CRLF--boundary``,
holding back only as many bytes as could be the start of that delimiter, so memory per
part is one chunk no matter how large the upload. A nested multipart reads from the
enclosing part's body, so it can never run past the end of that part. Bodies that break
these rules raise ``MultipartParseError``, which is both a ``ValueError`` and a
``BadHttpMessage`` (400).
"""

import base64
import binascii
import codecs
import json
import re
import uuid
import warnings
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Optional, Union
from urllib.parse import parse_qsl, unquote, urlencode

from multidict import CIMultiDict, CIMultiDictProxy

from . import hdrs
from .helpers import TOKEN_RE, parse_content_type, parse_mimetype
from .http_exceptions import BadHttpMessage
from .payload import JsonPayload, Payload, PayloadWriter, StringPayload, get_payload
from .streams import StreamReader

if TYPE_CHECKING:
    from typing import Self

__all__ = (
    "MultipartReader",
    "MultipartWriter",
    "BodyPartReader",
    "MultipartResponseWrapper",
    "MultipartParseError",
    "UnsupportedEncodingError",
    "BadContentDispositionHeader",
    "BadContentDispositionParam",
    "parse_content_disposition",
    "content_disposition_filename",
)

#: Longest boundary RFC 2046 allows.
MAX_BOUNDARY_LENGTH: Final = 70
#: How deep multiparts may nest inside each other before the body is refused.
MAX_NESTING_DEPTH: Final = 16
#: Preamble bytes skipped while looking for the first boundary before giving up.
MAX_PREAMBLE_SIZE: Final = 64 * 1024
_READ_SIZE: Final = 8192
# RFC 2046 bcharsnospace, plus space (allowed anywhere but last).
_BOUNDARY_RE: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


class MultipartParseError(BadHttpMessage, ValueError):
    """A multipart body (or its Content-Type) is malformed: answer 400."""

    def __str__(self) -> str:
        return self.message


class UnsupportedEncodingError(MultipartParseError, RuntimeError):
    """A part uses a Content-Transfer-Encoding or Content-Encoding we cannot undo."""


class BadContentDispositionHeader(RuntimeWarning):
    """Warned when a Content-Disposition header cannot be parsed; it is then ignored."""


class BadContentDispositionParam(RuntimeWarning):
    """Warned when a Content-Disposition parameter is malformed; the header is then ignored."""


# -- Content-Disposition ----------------------------------------------------

_QUOTED_RE: Final = re.compile(r'"((?:[^"\\]|\\.)*)"')
_QUOTED_PAIR_RE: Final = re.compile(r"\\(.)")


def _is_token(value: str) -> bool:
    return TOKEN_RE.fullmatch(value.encode("utf-8", "surrogateescape")) is not None


def _split_params(header: str) -> Optional[tuple[str, list[tuple[str, str, bool]]]]:
    """Split ``type; k=v; k="v"`` into the type and (key, value, was_quoted); None if broken."""
    disptype, sep, rest = header.partition(";")
    params: list[tuple[str, str, bool]] = []
    pos = 0
    while sep and pos < len(rest):
        end = rest.find(";", pos)
        eq = rest.find("=", pos)
        if eq < 0 or (0 <= end < eq):
            item = rest[pos : end if end >= 0 else len(rest)].strip()
            if item:
                return None  # a parameter without "="
            pos = len(rest) if end < 0 else end + 1
            continue
        key = rest[pos:eq].strip()
        value_start = eq + 1
        while value_start < len(rest) and rest[value_start] in " \t":
            value_start += 1
        if value_start < len(rest) and rest[value_start] == '"':
            match = _QUOTED_RE.match(rest, value_start)
            if match is None:
                return None  # unterminated quoted string
            value = _QUOTED_PAIR_RE.sub(r"\1", match.group(1))
            after = rest.find(";", match.end())
            tail = rest[match.end() : after if after >= 0 else len(rest)]
            if tail.strip():
                return None
            params.append((key, value, True))
            pos = len(rest) if after < 0 else after + 1
        else:
            value = rest[value_start : end if end >= 0 else len(rest)].strip()
            params.append((key, value, False))
            pos = len(rest) if end < 0 else end + 1
    return disptype.strip(), params


def _decode_extended(value: str) -> Optional[str]:
    """Decode an RFC 8187 ``charset'lang'pct-encoded`` value; None if malformed."""
    parts = value.split("'", 2)
    if len(parts) != 3:
        return None
    charset, _lang, encoded = parts
    try:
        codecs.lookup(charset or "utf-8")
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError, ValueError):
        return None


def parse_content_disposition(header: Optional[str]) -> tuple[Optional[str], dict[str, str]]:
    """Parse a Content-Disposition value into its lower-cased type and parameters.

    Quoted values are unescaped, ``key*`` values (RFC 8187/2231) decoded, and RFC 2231
    continuations (``key*0``, ``key*1*``...) joined. A broken header warns
    ``BadContentDispositionHeader`` or ``BadContentDispositionParam`` and gives
    ``(None, {})``.
    """
    if not header:
        return None, {}
    split = _split_params(header)
    if split is None:
        warnings.warn(BadContentDispositionHeader(header), stacklevel=2)
        return None, {}
    disptype, raw_params = split
    if not _is_token(disptype):
        warnings.warn(BadContentDispositionHeader(header), stacklevel=2)
        return None, {}
    params: dict[str, str] = {}
    continuations: dict[str, dict[int, tuple[str, bool]]] = {}
    for key, value, quoted in raw_params:
        key = key.lower()
        if not _is_token(key) or key in params:
            warnings.warn(BadContentDispositionParam(key), stacklevel=2)
            return None, {}
        base, star, index = key.partition("*")
        if star and index.rstrip("*").isdigit():
            # RFC 2231 continuation: key*N or key*N*
            extended = index.endswith("*")
            continuations.setdefault(base, {})[int(index.rstrip("*"))] = (value, extended)
            continue
        if key.endswith("*"):
            decoded = None if quoted else _decode_extended(value)
            if decoded is None:
                warnings.warn(BadContentDispositionParam(value), stacklevel=2)
                return None, {}
            params[key] = decoded
            continue
        if not quoted and not _is_token(value):
            warnings.warn(BadContentDispositionParam(value), stacklevel=2)
            return None, {}
        params[key] = value
    for base, pieces in continuations.items():
        joined = _join_continuations(pieces)
        if joined is None:
            warnings.warn(BadContentDispositionParam(base), stacklevel=2)
            return None, {}
        value, extended = joined
        params.setdefault(base + "*" if extended else base, value)
    return disptype.lower(), params


def _join_continuations(pieces: dict[int, tuple[str, bool]]) -> Optional[tuple[str, bool]]:
    if sorted(pieces) != list(range(len(pieces))):
        return None  # gaps in the numbering
    first_value, extended = pieces[0]
    if not extended:
        return "".join(pieces[i][0] for i in range(len(pieces))), False
    charset, sep, _ = first_value.partition("'")
    if not sep:
        return None
    raw = first_value + "".join(pieces[i][0] for i in range(1, len(pieces)))
    # Only the "*" pieces are percent-encoded; plain pieces are taken literally.
    decoded = _decode_extended(raw) if all(p[1] for p in pieces.values()) else None
    if decoded is None:
        head = _decode_extended(first_value)
        if head is None:
            return None
        rest = []
        for i in range(1, len(pieces)):
            value, ext = pieces[i]
            rest.append(unquote(value, encoding=charset or "utf-8") if ext else value)
        decoded = head + "".join(rest)
    return decoded, True


def content_disposition_filename(
    params: Mapping[str, str], name: str = "filename"
) -> Optional[str]:
    """The ``name`` parameter (``filename`` by default), preferring the ``name*`` form."""
    key_ext = name + "*"
    if params.get(key_ext):
        return params[key_ext]
    if name in params:
        return params[name]
    # Continuations left unjoined by a caller-made dict.
    pieces = []
    index = 0
    while True:
        for key in (f"{name}*{index}", f"{name}*{index}*"):
            if key in params:
                pieces.append(params[key])
                break
        else:
            break
        index += 1
    return "".join(pieces) if pieces else None


# -- reading ----------------------------------------------------------------


class _Source:
    """A byte source with push-back and bounded line reads, over any ``read(n)``."""

    __slots__ = ("_pending", "_read", "_unread_to")

    def __init__(
        self,
        read: Callable[[int], Awaitable[bytes]],
        unread_to: Optional[Callable[[bytes], None]] = None,
    ) -> None:
        self._read = read
        self._pending = b""
        self._unread_to = unread_to

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` only at the end."""
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        return bytes(await self._read(n))

    def unread(self, data: bytes) -> None:
        if data:
            self._pending = data + self._pending

    async def read_at_most(self, n: int) -> bytes:
        """Exactly ``n`` bytes unless the source ends first."""
        data = b""
        while len(data) < n:
            chunk = await self.read(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    async def readline(self, limit: int) -> bytes:
        """One line including its LF (partial at the end); longer than ``limit`` is an error."""
        buf, self._pending = self._pending, b""
        while True:
            idx = buf.find(b"\n")
            if idx >= 0:
                if idx >= limit:
                    self._pending = buf
                    raise MultipartParseError(f"Multipart line longer than {limit} bytes")
                self._pending = buf[idx + 1 :]
                return buf[: idx + 1]
            if len(buf) > limit:
                self._pending = buf
                raise MultipartParseError(f"Multipart line longer than {limit} bytes")
            chunk = await self._read(_READ_SIZE)
            if not chunk:
                return buf
            buf += chunk

    def give_back(self) -> None:
        """Return buffered bytes to the underlying stream, if it takes them."""
        if self._pending and self._unread_to is not None:
            self._unread_to(self._pending)
            self._pending = b""


def _source_for(content: Any) -> _Source:
    if isinstance(content, _Source):
        return content
    if isinstance(content, BodyPartReader):
        return _Source(content.read_chunk)
    read = getattr(content, "read", None)
    if read is None:
        raise TypeError(f"content must be a StreamReader, got {type(content).__name__}")
    return _Source(read, getattr(content, "unread_data", None))


class _PartDecoder:
    """Undoes a part's transfer and content encodings over successive chunks."""

    def __init__(self, transfer: str, content: str) -> None:
        self._transfer = transfer.strip().lower()
        if self._transfer in ("binary", "8bit", "7bit"):
            self._transfer = ""
        if self._transfer not in ("", "base64", "quoted-printable"):
            raise UnsupportedEncodingError(f"Unknown Content-Transfer-Encoding {transfer[:40]!r}")
        self._content = content.strip().lower()
        self._carry = b""
        self._first = True
        self._decompress: Any = None
        if self._content in ("gzip", "x-gzip"):
            self._decompress = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif self._content == "deflate":
            self._decompress = zlib.decompressobj()
        elif self._content == "br":
            try:
                import brotli
            except ImportError:
                raise UnsupportedEncodingError("Decoding a br body part needs the 'brotli' package")
            self._decompress = brotli.Decompressor()
        elif self._content not in ("", "identity"):
            raise UnsupportedEncodingError(f"Unknown Content-Encoding {content[:40]!r}")

    def feed(self, data: bytes, final: bool) -> bytes:
        if self._transfer == "base64":
            data = self._carry + b"".join(data.split())
            usable = len(data) if final else len(data) - len(data) % 4
            data, self._carry = data[:usable], data[usable:]
            try:
                data = base64.b64decode(data, validate=True)
            except binascii.Error as exc:
                raise MultipartParseError(f"Invalid base64 in body part: {exc}")
        elif self._transfer == "quoted-printable":
            data = self._carry + data
            cut = len(data)
            if not final:
                # Never split an "=XX" escape or an "=\r\n" soft line break.
                eq = data.rfind(b"=", max(len(data) - 2, 0))
                if eq >= 0:
                    cut = eq
            data, self._carry = binascii.a2b_qp(data[:cut]), data[cut:]
        if self._decompress is None:
            return data
        return self._inflate(data, final)

    def _inflate(self, data: bytes, final: bool) -> bytes:
        first, self._first = self._first, False
        try:
            if self._content == "br":
                out = bytes(self._decompress.process(data))
                if final and not self._decompress.is_finished():
                    raise MultipartParseError("Truncated br body part")
                return out
            try:
                out = self._decompress.decompress(data)
            except zlib.error:
                if not (first and self._content == "deflate"):
                    raise
                # Many clients send raw deflate without the zlib header.
                self._decompress = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
                out = self._decompress.decompress(data)
            if final and not self._decompress.eof:
                raise MultipartParseError(f"Truncated {self._content} body part")
            return bytes(out)
        except MultipartParseError:
            raise
        except Exception as exc:  # zlib.error, brotli.error
            raise MultipartParseError(f"Cannot decode {self._content} body part: {exc}")


class BodyPartReader:
    """Reads one part's body, up to the next boundary.

    ``read_chunk()`` gives raw bytes as they arrive; ``read()``, ``text()``, ``json()``
    and ``form()`` read the whole part (decoded if asked). ``decode()`` undoes
    Content-Transfer-Encoding and Content-Encoding.
    """

    chunk_size = 8192
    #: ``readline()`` refuses lines longer than this rather than buffering them.
    max_line_size = 2**20

    def __init__(
        self,
        boundary: bytes,
        headers: "CIMultiDictProxy[str]",
        content: Any,
        *,
        subtype: str = "mixed",
        default_charset: Optional[str] = None,
    ) -> None:
        if isinstance(boundary, str):
            boundary = boundary.encode("ascii")
        self.headers = headers
        self._boundary = boundary
        self._delimiter = b"\r\n--" + boundary
        self._source = _source_for(content)
        self._is_form_data = subtype == "form-data"
        self._default_charset = default_charset
        # A body may be empty with the delimiter right after the header block's blank
        # line, so scanning starts with a virtual newline that is never handed out.
        self._buf = b"\r\n"
        self._virtual = 2
        self._line_rest = b""
        self._at_eof = False
        self._decoder: Optional[_PartDecoder] = None

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} name={self.name!r} filename={self.filename!r}>"

    def _use_newline(self, newline: bytes) -> None:
        # Bodies written with bare LF line ends (seen from some clients) are accepted when
        # their first boundary line ends in LF; called before anything is read.
        self._delimiter = newline + b"--" + self._boundary
        self._buf = newline
        self._virtual = len(newline)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter_chunks()

    async def _iter_chunks(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.read_chunk()
            if not chunk:
                return
            yield chunk

    async def next(self) -> Optional[bytearray]:
        """The whole body, or None when it has been read already."""
        data = await self.read()
        return data or None

    def at_eof(self) -> bool:
        """True once the boundary after this body has been reached and all data handed out."""
        return self._at_eof and not self._line_rest

    async def _read_raw(self, size: int) -> bytes:
        """Up to ``size`` body bytes; ``b""`` once the delimiter has been consumed."""
        delimiter = self._delimiter
        keep = len(delimiter) - 1
        while not self._at_eof:
            buf = self._buf
            idx = buf.find(delimiter)
            if idx >= 0:
                self._buf = b""
                self._at_eof = True
                self._source.unread(buf[idx + len(delimiter) :])
                return self._hand_out(buf[:idx])
            ready = len(buf) - keep
            if ready > self._virtual:
                take = min(ready, size + self._virtual)
                self._buf = buf[take:]
                return self._hand_out(buf[:take])
            chunk = await self._source.read(size)
            if not chunk:
                raise MultipartParseError(
                    "Multipart body ended inside a part: boundary "
                    f"{self._boundary.decode('latin-1')!r} not found"
                )
            self._buf = buf + chunk
        return b""

    def _hand_out(self, data: bytes) -> bytes:
        if self._virtual:
            cut = min(self._virtual, len(data))
            self._virtual -= cut
            data = data[cut:]
        return data

    async def read_chunk(self, size: int = chunk_size) -> bytes:
        """Up to ``size`` raw (undecoded) bytes of the body; ``b""`` at its end."""
        if size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        if self._line_rest:
            data, self._line_rest = self._line_rest[:size], self._line_rest[size:]
            return data
        while True:
            data = await self._read_raw(size)
            if data or self._at_eof:
                return data

    async def readline(self) -> bytes:
        """The next raw line of the body, including its LF; ``b""`` at the end."""
        buf, self._line_rest = self._line_rest, b""
        while True:
            idx = buf.find(b"\n")
            if idx >= 0:
                self._line_rest = buf[idx + 1 :]
                return buf[: idx + 1]
            if len(buf) > self.max_line_size:
                raise MultipartParseError(f"Body part line longer than {self.max_line_size} bytes")
            chunk = await self.read_chunk(self.chunk_size)
            if not chunk:
                return buf
            buf += chunk

    async def read(self, *, decode: bool = False) -> bytearray:
        """The rest of the body; with ``decode`` its transfer and content encodings undone."""
        data = bytearray()
        while True:
            chunk = await self.read_chunk(self.chunk_size)
            if not chunk:
                break
            data += chunk
        if decode:
            return bytearray(self.decode(data))
        return data

    async def release(self) -> None:
        """Skip the rest of the body."""
        self._line_rest = b""
        while not self._at_eof:
            await self._read_raw(self.chunk_size)

    async def text(self, *, encoding: Optional[str] = None) -> str:
        """The decoded body as text (charset from Content-Type, else UTF-8)."""
        data = await self.read(decode=True)
        return data.decode(encoding or self.get_charset(default="utf-8"))

    async def json(self, *, encoding: Optional[str] = None) -> Any:
        """The decoded body parsed as JSON, or None when it is empty."""
        data = await self.read(decode=True)
        if not data:
            return None
        return json.loads(data.decode(encoding or self.get_charset(default="utf-8")))

    async def form(self, *, encoding: Optional[str] = None) -> list[tuple[str, str]]:
        """The decoded body parsed as ``application/x-www-form-urlencoded`` pairs."""
        data = await self.read(decode=True)
        if not data:
            return []
        real_encoding = encoding or self.get_charset(default="utf-8")
        try:
            text = data.rstrip().decode(real_encoding)
        except UnicodeDecodeError:
            raise MultipartParseError(f"Form part is not valid {real_encoding}")
        return parse_qsl(text, keep_blank_values=True, encoding=real_encoding)

    def decode(self, data: Union[bytes, bytearray]) -> bytes:
        """Undo Content-Transfer-Encoding (base64, quoted-printable) then Content-Encoding.

        Works on the whole body or on successive ``read_chunk()`` results: partial
        groups carry over until the part's end. Content-Encoding (gzip, deflate, br) is
        not applied to form-data parts, as RFC 7578 forbids it there. An unknown encoding
        raises ``UnsupportedEncodingError`` (a RuntimeError and a 400 error).
        """
        if self._decoder is None:
            content = "" if self._is_form_data else self.headers.get(hdrs.CONTENT_ENCODING, "")
            self._decoder = _PartDecoder(self.headers.get(hdrs.CONTENT_TRANSFER_ENCODING, ""), content)
        final = self.at_eof()
        result = self._decoder.feed(bytes(data), final)
        if final:
            self._decoder = None
        return result

    def get_charset(self, default: str) -> str:
        """Charset from the part's Content-Type, else the form's ``_charset_``, else ``default``."""
        raw = self.headers.get(hdrs.CONTENT_TYPE)
        if raw:
            charset = parse_content_type(raw)[1].get("charset")
            if charset:
                return charset
        return self._default_charset or default

    @cached_property
    def _disposition_params(self) -> dict[str, str]:
        return parse_content_disposition(self.headers.get(hdrs.CONTENT_DISPOSITION))[1]

    @cached_property
    def name(self) -> Optional[str]:
        """The ``name`` parameter of Content-Disposition, or None."""
        return content_disposition_filename(self._disposition_params, "name")

    @cached_property
    def filename(self) -> Optional[str]:
        """The ``filename`` parameter of Content-Disposition, or None."""
        return content_disposition_filename(self._disposition_params, "filename")


class MultipartResponseWrapper:
    """A MultipartReader over a client response that releases the response at the end."""

    def __init__(self, resp: Any, stream: "MultipartReader") -> None:
        self.resp = resp
        self.stream = stream

    def __aiter__(self) -> "MultipartResponseWrapper":
        return self

    async def __anext__(self) -> Union["MultipartReader", BodyPartReader]:
        part = await self.next()
        if part is None:
            raise StopAsyncIteration
        return part

    def at_eof(self) -> bool:
        return bool(self.resp.content.at_eof())

    async def next(self) -> Optional[Union["MultipartReader", BodyPartReader]]:
        item = await self.stream.next()
        if self.stream.at_eof():
            await self.release()
        return item

    async def release(self) -> None:
        result = self.resp.release()
        if result is not None and hasattr(result, "__await__"):
            await result


def _boundary_from(headers: Mapping[str, str]) -> tuple[str, bytes]:
    raw = headers.get(hdrs.CONTENT_TYPE)
    if not raw:
        raise MultipartParseError("Multipart body without a Content-Type header")
    mtype, params = parse_content_type(raw)
    main, _, subtype = mtype.partition("/")
    if main != "multipart":
        raise MultipartParseError(f"Content-Type {mtype!r} is not multipart/*")
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartParseError("Multipart Content-Type has no boundary parameter")
    if not _BOUNDARY_RE.fullmatch(boundary):
        raise MultipartParseError(
            f"Invalid multipart boundary {boundary[:80]!r}: 1 to {MAX_BOUNDARY_LENGTH} "
            "characters from RFC 2046 bchars, not ending in a space"
        )
    return subtype, boundary.encode("ascii")


class MultipartReader:
    """Reads a multipart body part by part: ``async for part in reader``.

    ``headers`` are those of the whole body (Content-Type with the boundary);
    ``content`` is its StreamReader. Each line between parts is limited to
    ``max_field_size`` bytes and a part to ``max_headers`` header lines.
    """

    response_wrapper_cls = MultipartResponseWrapper
    multipart_reader_cls: Optional[type["MultipartReader"]] = None
    part_reader_cls = BodyPartReader

    def __init__(
        self,
        headers: Mapping[str, str],
        content: Union[StreamReader, BodyPartReader],
        *,
        max_field_size: int = 8190,
        max_headers: int = 128,
    ) -> None:
        self.headers = headers
        self._subtype, self._boundary = _boundary_from(headers)
        self._content = content
        self._source = _source_for(content)
        self._container = content if isinstance(content, BodyPartReader) else None
        self._max_field_size = max_field_size
        self._max_headers = max_headers
        self._depth = 0
        self._newline = b"\r\n"
        self._default_charset: Optional[str] = None
        self._last_part: Optional[Union[MultipartReader, BodyPartReader]] = None
        self._seen_part = False
        self._at_eof = False
        self._at_bof = True

    def __aiter__(self) -> "Self":
        return self

    async def __anext__(self) -> Union["MultipartReader", BodyPartReader]:
        part = await self.next()
        if part is None:
            raise StopAsyncIteration
        return part

    @classmethod
    def from_response(cls, response: Any) -> MultipartResponseWrapper:
        """Wrap a client response whose body is multipart."""
        return cls.response_wrapper_cls(response, cls(response.headers, response.content))

    def at_eof(self) -> bool:
        """True once the closing boundary has been read."""
        return self._at_eof

    async def next(self) -> Optional[Union["MultipartReader", BodyPartReader]]:
        """The next part (a BodyPartReader, or a MultipartReader when nested); None at the end."""
        if self._at_eof:
            return None
        await self._release_last_part()
        if self._at_bof:
            await self._read_first_boundary()
            self._at_bof = False
        else:
            await self._read_delimiter_tail()
        if self._at_eof:
            if self._container is None:
                self._source.give_back()
            return None
        part = await self.fetch_next_part()
        first = not self._seen_part
        self._seen_part = True
        self._last_part = part
        if first and self._subtype == "form-data" and isinstance(part, BodyPartReader):
            if part.name == "_charset_":
                await self._take_default_charset(part)
                return await self.next()
        return part

    async def release(self) -> None:
        """Skip every remaining part (and, when nested, the rest of the enclosing part)."""
        while not self._at_eof:
            part = await self.next()
            if part is None:
                break
            await part.release()
        if self._container is not None:
            await self._container.release()

    async def fetch_next_part(self) -> Union["MultipartReader", BodyPartReader]:
        """Read the next part's headers and return its reader."""
        headers = await self._read_headers()
        return self._get_part_reader(headers)

    def _get_part_reader(
        self, headers: "CIMultiDictProxy[str]"
    ) -> Union["MultipartReader", BodyPartReader]:
        ctype = headers.get(hdrs.CONTENT_TYPE, "")
        body = self.part_reader_cls(
            self._boundary,
            headers,
            self._source,
            subtype=self._subtype,
            default_charset=self._default_charset,
        )
        if self._newline != b"\r\n":
            body._use_newline(self._newline)
        if parse_mimetype(ctype).type != "multipart":
            return body
        if self._depth + 1 >= MAX_NESTING_DEPTH:
            raise MultipartParseError(f"Multipart nested more than {MAX_NESTING_DEPTH} levels deep")
        nested_cls = self.multipart_reader_cls or type(self)
        nested = nested_cls(headers, body)
        nested._depth = self._depth + 1
        nested._max_field_size = self._max_field_size
        nested._max_headers = self._max_headers
        return nested

    async def _release_last_part(self) -> None:
        if self._last_part is not None:
            await self._last_part.release()
            self._last_part = None

    async def _take_default_charset(self, part: BodyPartReader) -> None:
        value = await part.read_chunk(64)
        if not part.at_eof() and await part.read_chunk(1):
            raise MultipartParseError("_charset_ part is too long to be a charset name")
        charset = value.strip().decode("ascii", "replace")
        try:
            codecs.lookup(charset)
        except LookupError:
            raise MultipartParseError(f"Unknown charset in _charset_ part: {charset[:40]!r}")
        self._default_charset = charset

    async def _read_first_boundary(self) -> None:
        dash_boundary = b"--" + self._boundary
        skipped = 0
        while True:
            line = await self._source.readline(self._max_field_size)
            if not line:
                raise MultipartParseError(
                    f"Multipart body has no boundary {self._boundary.decode('ascii')!r}"
                )
            stripped = line.rstrip(b" \t\r\n")
            if stripped == dash_boundary:
                if not line.endswith(b"\r\n"):
                    self._newline = b"\n"
                return
            if stripped == dash_boundary + b"--":
                self._at_eof = True
                return
            skipped += len(line)
            if skipped > MAX_PREAMBLE_SIZE:
                raise MultipartParseError(
                    f"No multipart boundary within the first {MAX_PREAMBLE_SIZE} bytes"
                )

    async def _read_delimiter_tail(self) -> None:
        # The part consumed CRLF--boundary; what follows is "--" (the end) or LWSP CRLF.
        head = await self._source.read_at_most(2)
        if head == b"--":
            self._at_eof = True
            return
        self._source.unread(head)
        line = await self._source.readline(self._max_field_size)
        if not line.endswith(b"\n"):
            raise MultipartParseError("Multipart body ended right after a boundary")
        if line.strip(b" \t\r\n"):
            raise MultipartParseError(f"Unexpected bytes after multipart boundary: {line[:40]!r}")

    async def _read_headers(self) -> "CIMultiDictProxy[str]":
        pairs: list[list[Any]] = []
        count = 0
        while True:
            line = await self._source.readline(self._max_field_size)
            if not line.endswith(b"\n"):
                raise MultipartParseError("Multipart body ended inside part headers")
            line = line.rstrip(b"\r\n")
            if not line:
                break
            count += 1
            if count > self._max_headers:
                raise MultipartParseError(f"More than {self._max_headers} header lines in a part")
            if line[:1] in (b" ", b"\t"):
                if not pairs:
                    raise MultipartParseError("Part header block starts with a continuation line")
                pairs[-1][1] += b" " + line.strip(b" \t")
                continue
            name, sep, value = line.partition(b":")
            if not sep or not TOKEN_RE.fullmatch(name):
                raise MultipartParseError(f"Invalid part header line {line[:100]!r}")
            pairs.append([name.decode("ascii"), value.strip(b" \t")])
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in pairs:
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                text = value.decode("latin-1")
            headers.add(name, text)
        return CIMultiDictProxy(headers)


# -- writing ----------------------------------------------------------------


class _EncodingWriter:
    """Applies Content-Encoding then Content-Transfer-Encoding on the way to ``writer``."""

    def __init__(
        self, writer: PayloadWriter, content_encoding: str, transfer_encoding: str
    ) -> None:
        self._writer = writer
        self._compress: Any = None
        if content_encoding == "gzip":
            self._compress = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
        elif content_encoding == "deflate":
            self._compress = zlib.compressobj()
        self._transfer = transfer_encoding
        self._b64_rest = b""

    async def write(self, chunk: bytes) -> None:
        if self._compress is not None:
            chunk = self._compress.compress(chunk)
        await self._write_transfer(chunk)

    async def _write_transfer(self, chunk: bytes) -> None:
        if self._transfer == "base64":
            data = self._b64_rest + chunk
            usable = len(data) - len(data) % 3
            self._b64_rest = data[usable:]
            chunk = base64.b64encode(data[:usable])
        elif self._transfer == "quoted-printable":
            chunk = binascii.b2a_qp(chunk, istext=False)  # lossless for bare CR or LF
        if chunk:
            await self._writer.write(chunk)

    async def write_eof(self) -> None:
        if self._compress is not None:
            await self._write_transfer(self._compress.flush())
        if self._b64_rest:
            await self._writer.write(base64.b64encode(self._b64_rest))
            self._b64_rest = b""


def _make_boundary(boundary: Optional[str]) -> bytes:
    if boundary is None:
        return uuid.uuid4().hex.encode("ascii")
    if not isinstance(boundary, str):
        raise TypeError(f"boundary must be str, got {type(boundary).__name__}")
    if not _BOUNDARY_RE.fullmatch(boundary):
        raise ValueError(
            f"boundary must be 1 to {MAX_BOUNDARY_LENGTH} ASCII characters from RFC 2046 bchars "
            f"(letters, digits, '()+_,-./:=? and inner spaces), got {boundary!r}"
        )
    return boundary.encode("ascii")


_Part = tuple[Payload, str, str]


class MultipartWriter(Payload):
    """Builds a multipart body from payloads; itself a Payload, so it can nest or be sent."""

    _value: None

    def __init__(self, subtype: str = "mixed", boundary: Optional[str] = None) -> None:
        if not subtype or not _is_token(subtype):
            raise ValueError(
                f"subtype must be a token such as 'mixed' or 'form-data', got {subtype!r}"
            )
        self._boundary = _make_boundary(boundary)
        text = self._boundary.decode("ascii")
        shown = text if _is_token(text) else f'"{text}"'
        super().__init__(None, content_type=f"multipart/{subtype}; boundary={shown}")
        self._subtype = subtype
        self._parts: list[_Part] = []

    def __enter__(self) -> "MultipartWriter":
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        pass

    def __iter__(self) -> Iterator[_Part]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def __bool__(self) -> bool:
        return True

    @property
    def boundary(self) -> str:
        return self._boundary.decode("ascii")

    def append(self, obj: Any, headers: Optional[Mapping[str, str]] = None) -> Payload:
        """Add ``obj`` (any value ``get_payload`` knows, or a Payload) as a part."""
        if isinstance(obj, Payload):
            if headers:
                obj.headers.update(headers)
            return self.append_payload(obj)
        try:
            payload = get_payload(obj, headers=headers)
        except LookupError:
            raise TypeError(f"Cannot create a multipart part from {type(obj).__name__}")
        return self.append_payload(payload)

    def append_payload(self, payload: Payload) -> Payload:
        """Add a Payload as a part; its headers become the part's headers."""
        if not isinstance(payload, Payload):
            raise TypeError(f"payload must be a Payload, got {type(payload).__name__}")
        encoding = payload.headers.get(hdrs.CONTENT_ENCODING, "").strip().lower()
        if encoding not in ("", "identity", "gzip", "deflate"):
            raise RuntimeError(f"Unsupported Content-Encoding for a part: {encoding!r}")
        if encoding == "identity":
            encoding = ""
        te_encoding = payload.headers.get(hdrs.CONTENT_TRANSFER_ENCODING, "").strip().lower()
        if te_encoding not in ("", "base64", "quoted-printable", "binary"):
            raise RuntimeError(f"Unsupported Content-Transfer-Encoding for a part: {te_encoding!r}")
        if te_encoding == "binary":
            te_encoding = ""
        payload._binary_headers  # noqa: B018 - refuse CR/LF in part headers now, not mid-send
        self._parts.append((payload, encoding, te_encoding))
        return payload

    def append_json(self, obj: Any, headers: Optional[Mapping[str, str]] = None) -> Payload:
        """Add ``obj`` serialised as an ``application/json`` part."""
        return self.append_payload(JsonPayload(obj, headers=headers))

    def append_form(
        self,
        obj: Union[Sequence[tuple[str, str]], Mapping[str, str]],
        headers: Optional[Mapping[str, str]] = None,
    ) -> Payload:
        """Add pairs (or a mapping) as an ``application/x-www-form-urlencoded`` part."""
        if isinstance(obj, Mapping):
            obj = list(obj.items())
        data = urlencode(obj, doseq=True)
        return self.append_payload(
            StringPayload(data, headers=headers, content_type="application/x-www-form-urlencoded")
        )

    @property
    def size(self) -> Optional[int]:
        """Exact byte length of the body, or None if a part's size is unknown or encoded."""
        total = 0
        for part, encoding, te_encoding in self._parts:
            if encoding or te_encoding or part.size is None:
                return None
            total += 2 + len(self._boundary) + 2 + len(part._binary_headers) + part.size + 2
        return total + 2 + len(self._boundary) + 4

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The whole body as text; every part must be in memory (bytes, str, BytesIO, JSON)."""
        chunks = []
        for part, content_encoding, te_encoding in self._parts:
            data = part._bytes_now()
            if data is None or content_encoding or te_encoding:
                raise TypeError(
                    f"Cannot decode a multipart holding {type(part).__name__} synchronously"
                )
            chunks.append(b"--" + self._boundary + b"\r\n" + part._binary_headers + data + b"\r\n")
        chunks.append(b"--" + self._boundary + b"--\r\n")
        return b"".join(chunks).decode(encoding, errors)

    def _bytes_now(self) -> Optional[bytes]:
        try:
            return self.decode("latin-1").encode("latin-1")
        except TypeError:
            return None

    async def write(self, writer: PayloadWriter, close_boundary: bool = True) -> None:
        """Write every part, then the closing boundary unless ``close_boundary`` is false."""
        for part, encoding, te_encoding in self._parts:
            await writer.write(b"--" + self._boundary + b"\r\n" + part._binary_headers)
            if encoding or te_encoding:
                encoder = _EncodingWriter(writer, encoding, te_encoding)
                await part.write(encoder)
                await encoder.write_eof()
            else:
                await part.write(writer)
            await writer.write(b"\r\n")
        if close_boundary:
            await writer.write(b"--" + self._boundary + b"--\r\n")
