"""FormData: build a form body, urlencoded or multipart/form-data as its fields need."""

import io
from collections.abc import Iterable
from typing import Any, Optional
from urllib.parse import urlencode

from multidict import CIMultiDict, MultiDict, MultiDictProxy

from . import hdrs
from .multipart import MultipartWriter
from .payload import BytesPayload, Payload, get_payload, guess_filename

__all__ = ("FormData",)

_Field = tuple[MultiDict[str], CIMultiDict[str], Any]


class FormData:
    """Fields for a form body; ``form()`` (calling the object) gives the Payload to send.

    The body is ``application/x-www-form-urlencoded`` unless a field is a file, has a
    filename, content type or transfer encoding, or ``default_to_multipart`` is set; then
    it is ``multipart/form-data``.
    """

    def __init__(
        self,
        fields: Iterable[Any] = (),
        quote_fields: bool = True,
        charset: Optional[str] = None,
        *,
        default_to_multipart: bool = False,
    ) -> None:
        self._fields: list[_Field] = []
        self._is_multipart = default_to_multipart
        self._quote_fields = quote_fields
        self._charset = charset
        self._payload: Optional[Payload] = None
        if isinstance(fields, dict):
            fields = list(fields.items())
        elif not isinstance(fields, (list, tuple)):
            fields = (fields,)
        self.add_fields(*fields)

    @property
    def is_multipart(self) -> bool:
        """True when the body will be multipart/form-data."""
        return self._is_multipart

    def add_field(
        self,
        name: str,
        value: Any,
        *,
        content_type: Optional[str] = None,
        filename: Optional[str] = None,
        content_transfer_encoding: Optional[str] = None,
    ) -> None:
        """Add one field; files (and bytes, named after the field) make the form multipart."""
        if self._payload is not None:
            raise RuntimeError("Form data has been processed already")
        if not isinstance(name, str):
            raise TypeError(f"name must be str, got {type(name).__name__}")
        if isinstance(value, io.IOBase):
            self._is_multipart = True
        elif isinstance(value, (bytes, bytearray, memoryview)):
            if filename is None and content_transfer_encoding is None:
                filename = name
        type_options: MultiDict[str] = MultiDict({"name": name})
        if filename is not None and not isinstance(filename, str):
            raise TypeError(f"filename must be str, got {type(filename).__name__}")
        if filename is None and isinstance(value, io.IOBase):
            filename = guess_filename(value, name)
        if filename is not None:
            type_options["filename"] = filename
            self._is_multipart = True
        headers: CIMultiDict[str] = CIMultiDict()
        if content_type is not None:
            if not isinstance(content_type, str):
                raise TypeError(f"content_type must be str, got {type(content_type).__name__}")
            headers[hdrs.CONTENT_TYPE] = content_type
            self._is_multipart = True
        if content_transfer_encoding is not None:
            if not isinstance(content_transfer_encoding, str):
                raise TypeError(
                    "content_transfer_encoding must be str, got "
                    f"{type(content_transfer_encoding).__name__}"
                )
            headers[hdrs.CONTENT_TRANSFER_ENCODING] = content_transfer_encoding
            self._is_multipart = True
        self._fields.append((type_options, headers, value))

    def add_fields(self, *fields: Any) -> None:
        """Add fields given as (name, value) pairs, mappings, MultiDicts or file objects."""
        pending = list(fields)
        while pending:
            item = pending.pop(0)
            if isinstance(item, io.IOBase):
                self.add_field(guess_filename(item, "unknown") or "unknown", item)
            elif isinstance(item, (MultiDict, MultiDictProxy)):
                pending[:0] = list(item.items())
            elif isinstance(item, dict):
                pending[:0] = list(item.items())
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                name, value = item
                self.add_field(name, value)
            else:
                raise TypeError(
                    "Only io.IOBase, MultiDict, dict and (name, value) pairs are supported "
                    f"as form fields, got {item!r}"
                )

    def _gen_form_urlencoded(self) -> Payload:
        data = []
        for type_options, _, value in self._fields:
            if not isinstance(value, (str, int, float)):
                raise TypeError(
                    f"Field {type_options['name']!r} is {type(value).__name__}: "
                    "only str, int and float fit an urlencoded form"
                )
            data.append((type_options["name"], value))
        charset = self._charset if self._charset is not None else "utf-8"
        if charset == "utf-8":
            content_type = "application/x-www-form-urlencoded"
        else:
            content_type = f"application/x-www-form-urlencoded; charset={charset}"
        return BytesPayload(
            urlencode(data, doseq=True, encoding=charset).encode(), content_type=content_type
        )

    def _gen_form_data(self) -> Payload:
        writer = MultipartWriter("form-data")
        for type_options, headers, value in self._fields:
            try:
                part = get_payload(value, headers=headers, encoding=self._charset)
            except LookupError:
                raise TypeError(f"Can not serialize value type: {type(value).__name__}")
            part.set_content_disposition(
                "form-data",
                quote_fields=self._quote_fields,
                _charset=self._charset or "utf-8",
                **dict(type_options.items()),
            )
            part.headers.popall(hdrs.CONTENT_LENGTH, None)
            writer.append_payload(part)
        return writer

    def __call__(self) -> Payload:
        """The body to send; the same Payload on every call, and no fields after it."""
        if self._payload is None:
            if self._is_multipart:
                self._payload = self._gen_form_data()
            else:
                self._payload = self._gen_form_urlencoded()
        return self._payload
