"""Request and part bodies: one Payload class per kind of Python value, and a registry.

A Payload knows its headers (at least Content-Type), its size when that can be known
without reading it, and how to write itself to anything with ``async write(bytes)``.
``get_payload(value)`` picks the class for a value from ``PAYLOAD_REGISTRY``.
"""

import asyncio
import builtins
import enum
import io
import json
import mimetypes
import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Callable
from pathlib import Path
from typing import Any, Final, Optional, Protocol, Union
from urllib.parse import quote

from multidict import CIMultiDict

from . import hdrs
from .helpers import parse_mimetype, quoted_string, sentinel
from .streams import StreamReader
from .typedefs import JSONEncoder, LooseHeaders

__all__ = (
    "PAYLOAD_REGISTRY",
    "get_payload",
    "payload_type",
    "register_payload",
    "Order",
    "Payload",
    "BytesPayload",
    "StringPayload",
    "IOBasePayload",
    "BytesIOPayload",
    "BufferedReaderPayload",
    "TextIOPayload",
    "StringIOPayload",
    "JsonPayload",
    "AsyncIterablePayload",
    "StreamReaderPayload",
    "LookupError",
)

#: How much a file-like payload reads per step; also the executor round-trip unit.
READ_CHUNK_SIZE: Final = 2**16

_TOKEN_CHARS: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
# RFC 8187 attr-char beyond what urllib's quote() always keeps.
_ATTR_SAFE: Final = "!#$&+^`|"


class LookupError(builtins.LookupError):
    """No registered payload class accepts the value given to ``get_payload()``."""


class Order(enum.StrEnum):
    """Where a factory sits in the registry's search order."""

    normal = "normal"
    try_first = "try_first"
    try_last = "try_last"


class PayloadWriter(Protocol):
    """What a payload writes to: anything with an awaitable ``write(bytes)``."""

    async def write(self, chunk: bytes) -> Any: ...


def _is_token(value: str) -> bool:
    return bool(value) and all(c in _TOKEN_CHARS for c in value)


def _is_printable_ascii(value: str) -> bool:
    return all(" " <= c <= "~" or c == "\t" for c in value)


def content_disposition_header(
    disptype: str, quote_fields: bool = True, _charset: str = "utf-8", **params: str
) -> str:
    """Build a Content-Disposition value such as ``form-data; name="f"; filename="a.txt"``.

    With ``quote_fields`` a value that is not printable ASCII is sent RFC 8187 style
    (``key*=utf-8''...``; a filename also gets a percent-encoded plain fallback); without
    it values go out as-is inside a quoted string, the way browsers send form fields.
    """
    if not _is_token(disptype):
        raise ValueError(f"disptype must be an RFC 9110 token, got {disptype!r}")
    parts = [disptype]
    for key, value in params.items():
        if not _is_token(key):
            raise ValueError(f"Content-Disposition parameter name must be a token, got {key!r}")
        if not isinstance(value, str):
            raise TypeError(
                f"Content-Disposition parameter {key!r} must be str, got {type(value).__name__}"
            )
        if quote_fields:
            if _is_printable_ascii(value):
                parts.append(f"{key}={quoted_string(value)}")
                continue
            encoded = quote(value, safe=_ATTR_SAFE, encoding=_charset)
            if key.lower() == "filename":
                parts.append(f'{key}="{encoded}"')
            parts.append(f"{key}*={_charset}''{encoded}")
        else:
            if "\r" in value or "\n" in value:
                raise ValueError(f"Content-Disposition parameter {key!r} must not contain CR or LF")
            parts.append(f"{key}={quoted_string(value)}")
    return "; ".join(parts)


def guess_filename(obj: Any, default: Optional[str] = None) -> Optional[str]:
    """The base name of a file object's ``name``, or ``default`` for pseudo names like ``<stdin>``."""
    name = getattr(obj, "name", None)
    if isinstance(name, (str, os.PathLike)):
        name = os.fspath(name)
        if name and not (name.startswith("<") and name.endswith(">")):
            return Path(name).name
    return default


def _header_line(name: str, value: str) -> bytes:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise ValueError(f"Invalid header for a body part: {name!r}: {value!r}")
    return f"{name}: {value}\r\n".encode()


class Payload(ABC):
    """A body: headers, an optional known size, and an async ``write(writer)``."""

    _default_content_type: str = "application/octet-stream"
    _size: Optional[int] = None

    def __init__(
        self,
        value: Any,
        headers: Optional[LooseHeaders] = None,
        content_type: Any = sentinel,
        filename: Optional[str] = None,
        encoding: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        self._encoding = encoding
        self._filename = filename
        self._headers: CIMultiDict[str] = CIMultiDict()
        self._value = value
        if content_type is not sentinel and content_type is not None:
            if not isinstance(content_type, str):
                raise TypeError(f"content_type must be str, got {type(content_type).__name__}")
            self._headers[hdrs.CONTENT_TYPE] = content_type
        elif self._filename is not None:
            guessed = mimetypes.guess_type(self._filename)[0]
            self._headers[hdrs.CONTENT_TYPE] = guessed or self._default_content_type
        else:
            self._headers[hdrs.CONTENT_TYPE] = self._default_content_type
        if headers:
            self._headers.update(headers)

    @property
    def size(self) -> Optional[int]:
        """Byte length of what ``write()`` sends, or None when unknown ahead of time."""
        return self._size

    @property
    def filename(self) -> Optional[str]:
        return self._filename

    @property
    def headers(self) -> CIMultiDict[str]:
        """Headers of this body (a part's headers inside multipart)."""
        return self._headers

    @property
    def _binary_headers(self) -> bytes:
        return b"".join(_header_line(k, v) for k, v in self._headers.items()) + b"\r\n"

    @property
    def encoding(self) -> Optional[str]:
        return self._encoding

    @property
    def content_type(self) -> str:
        """The full Content-Type header value."""
        return self._headers[hdrs.CONTENT_TYPE]

    def set_content_disposition(
        self, disptype: str, quote_fields: bool = True, _charset: str = "utf-8", **params: str
    ) -> None:
        """Set the Content-Disposition header, e.g. ``("form-data", name="f")``."""
        self._headers[hdrs.CONTENT_DISPOSITION] = content_disposition_header(
            disptype, quote_fields=quote_fields, _charset=_charset, **params
        )

    @abstractmethod
    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The body as text (reads it if needed)."""

    @abstractmethod
    async def write(self, writer: PayloadWriter) -> None:
        """Send the body to ``writer`` by awaiting ``writer.write(bytes)``."""

    async def write_with_length(self, writer: PayloadWriter, content_length: Optional[int]) -> None:
        """Like ``write()`` but stops after ``content_length`` bytes (all of it when None)."""
        if content_length is None:
            await self.write(writer)
        else:
            await self.write(_LimitedWriter(writer, content_length))

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """Everything ``write()`` would send, collected in memory."""
        collector = _Collector()
        await self.write(collector)
        return b"".join(collector.chunks)

    def _bytes_now(self) -> Optional[bytes]:
        """The body when it is already in memory, else None (used by multipart decode())."""
        return None


class _Collector:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, chunk: bytes) -> None:
        self.chunks.append(bytes(chunk))


class _LimitedWriter:
    def __init__(self, writer: PayloadWriter, limit: int) -> None:
        self._writer = writer
        self._left = limit

    async def write(self, chunk: bytes) -> None:
        if self._left <= 0:
            return
        if len(chunk) > self._left:
            chunk = chunk[: self._left]
        self._left -= len(chunk)
        await self._writer.write(chunk)


class BytesPayload(Payload):
    """``bytes``, ``bytearray`` or ``memoryview``; size is its length."""

    _value: bytes

    def __init__(
        self, value: Union[bytes, bytearray, memoryview], *args: Any, **kwargs: Any
    ) -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"value must be bytes, bytearray or memoryview, got {type(value).__name__}"
            )
        if isinstance(value, memoryview):
            size = value.nbytes
        else:
            size = len(value)
        super().__init__(value, *args, **kwargs)
        self._size = size

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._value).decode(encoding, errors)

    async def write(self, writer: PayloadWriter) -> None:
        await writer.write(self._value)

    def _bytes_now(self) -> Optional[bytes]:
        return bytes(self._value)


class StringPayload(BytesPayload):
    """A ``str``, encoded with the charset of its Content-Type (UTF-8 by default)."""

    def __init__(
        self,
        value: str,
        *args: Any,
        encoding: Optional[str] = None,
        content_type: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(value, str):
            raise TypeError(f"value must be str, got {type(value).__name__}")
        if encoding is None:
            if content_type is None:
                real_encoding = "utf-8"
                content_type = "text/plain; charset=utf-8"
            else:
                real_encoding = parse_mimetype(content_type).parameters.get("charset", "utf-8")
        else:
            real_encoding = encoding
            if content_type is None:
                content_type = f"text/plain; charset={encoding}"
        super().__init__(
            value.encode(real_encoding),
            *args,
            encoding=real_encoding,
            content_type=content_type,
            **kwargs,
        )


class StringIOPayload(StringPayload):
    """An ``io.StringIO``: its text from the current position, encoded like StringPayload."""

    def __init__(self, value: io.StringIO, *args: Any, **kwargs: Any) -> None:
        super().__init__(value.read(), *args, **kwargs)


class IOBasePayload(Payload):
    """A binary file object, read in chunks in the default executor when written.

    The body is what lies between the position at creation and the end of the file;
    writing again (a retried request) starts from that position when the file can seek.
    """

    _value: io.IOBase

    def __init__(
        self, value: io.IOBase, disposition: Optional[str] = "attachment", *args: Any, **kwargs: Any
    ) -> None:
        if "filename" not in kwargs:
            kwargs["filename"] = guess_filename(value)
        super().__init__(value, *args, **kwargs)
        self._start = self._tell()
        self._size = self._compute_size()
        if self._filename is not None and disposition is not None:
            if hdrs.CONTENT_DISPOSITION not in self.headers:
                self.set_content_disposition(disposition, filename=self._filename)

    def _tell(self) -> Optional[int]:
        try:
            if self._value.seekable():
                return self._value.tell()
        except (OSError, ValueError, AttributeError):
            pass
        return None

    def _compute_size(self) -> Optional[int]:
        if self._start is None:
            return None
        try:
            total = os.fstat(self._value.fileno()).st_size
        except (OSError, ValueError, AttributeError):
            return None
        return max(total - self._start, 0)

    def _rewind(self) -> None:
        if self._start is not None:
            self._value.seek(self._start)

    def _read_chunk(self) -> bytes:
        data = self._value.read(READ_CHUNK_SIZE)
        if isinstance(data, str):
            data = data.encode(self._encoding or "utf-8")
        return bytes(data) if data else b""

    async def write(self, writer: PayloadWriter) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._rewind)
        while True:
            chunk = await loop.run_in_executor(None, self._read_chunk)
            if not chunk:
                return
            await writer.write(chunk)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        self._rewind()
        data = self._value.read()
        if isinstance(data, str):
            return data
        return bytes(data).decode(encoding, errors)


class TextIOPayload(IOBasePayload):
    """A text file object, encoded (UTF-8 by default) as it is written."""

    def __init__(
        self,
        value: io.TextIOBase,
        *args: Any,
        encoding: Optional[str] = None,
        content_type: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if encoding is None:
            if content_type is None:
                encoding = "utf-8"
                content_type = "text/plain; charset=utf-8"
            else:
                encoding = parse_mimetype(content_type).parameters.get("charset", "utf-8")
        elif content_type is None:
            content_type = f"text/plain; charset={encoding}"
        super().__init__(value, *args, content_type=content_type, encoding=encoding, **kwargs)

    def _compute_size(self) -> Optional[int]:
        # File bytes need not match the encoded length we send; stay honest.
        return None


class BytesIOPayload(IOBasePayload):
    """An ``io.BytesIO``; its size is what lies after the current position."""

    _value: io.BytesIO

    def _compute_size(self) -> Optional[int]:
        return max(len(self._value.getbuffer()) - (self._start or 0), 0)

    async def write(self, writer: PayloadWriter) -> None:
        # In memory already: no executor round-trips needed.
        self._rewind()
        while True:
            chunk = self._value.read(READ_CHUNK_SIZE)
            if not chunk:
                return
            await writer.write(chunk)

    def _bytes_now(self) -> Optional[bytes]:
        return bytes(self._value.getbuffer()[self._start or 0 :])


class BufferedReaderPayload(IOBasePayload):
    """A file opened in binary mode (``open(path, "rb")``)."""


class JsonPayload(BytesPayload):
    """A value serialised with ``dumps`` (``json.dumps`` by default) as ``application/json``."""

    def __init__(
        self,
        value: Any,
        encoding: str = "utf-8",
        content_type: str = "application/json",
        dumps: JSONEncoder = json.dumps,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            dumps(value).encode(encoding),
            *args,
            content_type=content_type,
            encoding=encoding,
            **kwargs,
        )


class AsyncIterablePayload(Payload):
    """An async iterable of bytes chunks, sent as they come; size unknown, sent once."""

    _value: AsyncIterable[bytes]

    def __init__(self, value: AsyncIterable[bytes], *args: Any, **kwargs: Any) -> None:
        if not isinstance(value, AsyncIterable):
            raise TypeError(f"value must be an async iterable of bytes, got {type(value).__name__}")
        super().__init__(value, *args, **kwargs)
        self._consumed = False

    async def write(self, writer: PayloadWriter) -> None:
        if self._consumed:
            return
        self._consumed = True
        async for chunk in self._value:
            if chunk:
                await writer.write(chunk)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("An async iterable payload cannot be decoded synchronously; use as_bytes()")


class StreamReaderPayload(AsyncIterablePayload):
    """A ``StreamReader`` (e.g. a request body being proxied), sent as data arrives."""

    def __init__(self, value: StreamReader, *args: Any, **kwargs: Any) -> None:
        super().__init__(value.iter_any(), *args, **kwargs)


PayloadFactory = Callable[..., Payload]


class PayloadRegistry:
    """Maps value types to payload factories; first match in (try_first, normal, try_last)."""

    def __init__(self) -> None:
        self._first: list[tuple[PayloadFactory, Any]] = []
        self._normal: list[tuple[PayloadFactory, Any]] = []
        self._last: list[tuple[PayloadFactory, Any]] = []

    def get(self, data: Any, *args: Any, **kwargs: Any) -> Payload:
        """Wrap ``data`` in the first matching payload class; Payloads pass through."""
        if isinstance(data, Payload):
            return data
        for group in (self._first, self._normal, self._last):
            for factory, type_ in group:
                if isinstance(data, type_):
                    return factory(data, *args, **kwargs)
        raise LookupError(f"No payload class for {type(data).__name__}")

    def register(self, factory: PayloadFactory, type: Any, *, order: Order = Order.normal) -> None:
        """Use ``factory`` for values that are instances of ``type``."""
        if order is Order.try_first:
            self._first.append((factory, type))
        elif order is Order.normal:
            self._normal.append((factory, type))
        elif order is Order.try_last:
            self._last.append((factory, type))
        else:
            raise ValueError(f"order must be an Order member, got {order!r}")


def get_payload(data: Any, *args: Any, **kwargs: Any) -> Payload:
    """Wrap ``data`` in a Payload using ``PAYLOAD_REGISTRY``; raises ``LookupError``."""
    return PAYLOAD_REGISTRY.get(data, *args, **kwargs)


def register_payload(factory: PayloadFactory, type: Any, *, order: Order = Order.normal) -> None:
    """Register ``factory`` in ``PAYLOAD_REGISTRY`` for instances of ``type``."""
    PAYLOAD_REGISTRY.register(factory, type, order=order)


class payload_type:
    """Class decorator form of ``register_payload``: ``@payload_type(MyType)``."""

    def __init__(self, type: Any, *, order: Order = Order.normal) -> None:
        self.type = type
        self.order = order

    def __call__(self, factory: type[Payload]) -> type[Payload]:
        register_payload(factory, self.type, order=self.order)
        return factory


PAYLOAD_REGISTRY: Final = PayloadRegistry()
PAYLOAD_REGISTRY.register(BytesPayload, (bytes, bytearray, memoryview))
PAYLOAD_REGISTRY.register(StringPayload, str)
PAYLOAD_REGISTRY.register(StringIOPayload, io.StringIO)
PAYLOAD_REGISTRY.register(TextIOPayload, io.TextIOBase)
PAYLOAD_REGISTRY.register(BytesIOPayload, io.BytesIO)
PAYLOAD_REGISTRY.register(BufferedReaderPayload, (io.BufferedReader, io.BufferedRandom))
PAYLOAD_REGISTRY.register(IOBasePayload, io.IOBase)
PAYLOAD_REGISTRY.register(StreamReaderPayload, StreamReader)
# Last resort: anything async-iterable (generators, custom streams).
PAYLOAD_REGISTRY.register(AsyncIterablePayload, AsyncIterable, order=Order.try_last)
