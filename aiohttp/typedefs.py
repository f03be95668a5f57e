"""Type aliases shared across the package."""

import json as _json
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Union

from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy, istr
from yarl import URL

if TYPE_CHECKING:
    from .web_request import BaseRequest, Request
    from .web_response import StreamResponse

DEFAULT_JSON_ENCODER: Callable[[Any], str]
DEFAULT_JSON_DECODER: Callable[[str], Any]

DEFAULT_JSON_ENCODER = _json.dumps
DEFAULT_JSON_DECODER = _json.loads

JSONEncoder = Callable[[Any], str]
JSONDecoder = Callable[[str], Any]
LooseHeaders = Union[
    Mapping[str, str],
    Mapping[istr, str],
    CIMultiDict[str],
    CIMultiDictProxy[str],
    Iterable[tuple[Union[str, istr], str]],
]
RawHeaders = tuple[tuple[bytes, bytes], ...]
StrOrURL = Union[str, URL]
LooseCookiesMappings = Mapping[str, Union[str, Any]]
LooseCookiesIterables = Iterable[tuple[str, Union[str, Any]]]
LooseCookies = Union[LooseCookiesMappings, LooseCookiesIterables]
Query = Union[None, str, Mapping[str, Any], Iterable[tuple[str, Any]], MultiDict[Any], MultiDictProxy[Any]]

Handler = Callable[["Request"], Awaitable["StreamResponse"]]
Middleware = Callable[["Request", Handler], Awaitable["StreamResponse"]]
_RawHandler = Callable[["BaseRequest"], Awaitable["StreamResponse"]]

PathLike = Union[str, "os.PathLike[str]"]
