"""aiohttp-deploy: the aiohttp 3.x API, built for production.

Importing this package has no side effects: no logging set-up, no signal handlers,
no event loop. Client, worker and multipart names load on first use, so that
``import aiohttp`` stays cheap and gunicorn stays optional.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._version import API_VERSION, DEPLOY_RELEASE, DISTRIBUTION_VERSION
from .helpers import BasicAuth, ChainMapProxy, ETag
from .http_exceptions import HttpProcessingError
from .streams import EMPTY_PAYLOAD, DataQueue, EofStream, StreamReader

__version__ = API_VERSION
__deploy_release__ = DEPLOY_RELEASE
__distribution_version__ = DISTRIBUTION_VERSION

# Public name -> module that defines it, imported on first attribute access.
_LAZY: dict[str, str] = {
    "hdrs": "",
    "web": "",
    "abc": "",
    "http": "",
    "log": "",
    "request_id": "",
    "test_utils": "",
    "GunicornWebWorker": "worker",
    "GunicornUVLoopWebWorker": "worker",
    # the HTTP client
    "ClientSession": "client",
    "ClientTimeout": "client",
    "ClientRequest": "client",
    "ClientResponse": "client",
    "RequestInfo": "client",
    "request": "client",
    "BaseConnector": "client",
    "Connection": "client",
    "TCPConnector": "client",
    "UnixConnector": "client",
    "ConnectionKey": "client",
    "ClientHandlerType": "client",
    "ClientMiddlewareType": "client",
    "ClientError": "client_exceptions",
    "ClientConnectionError": "client_exceptions",
    "ClientConnectionResetError": "client_exceptions",
    "ClientOSError": "client_exceptions",
    "ClientConnectorError": "client_exceptions",
    "ClientConnectorDNSError": "client_exceptions",
    "ClientProxyConnectionError": "client_exceptions",
    "ClientSSLError": "client_exceptions",
    "ClientConnectorSSLError": "client_exceptions",
    "ClientConnectorCertificateError": "client_exceptions",
    "UnixClientConnectorError": "client_exceptions",
    "ServerConnectionError": "client_exceptions",
    "ServerTimeoutError": "client_exceptions",
    "ConnectionTimeoutError": "client_exceptions",
    "SocketTimeoutError": "client_exceptions",
    "ServerDisconnectedError": "client_exceptions",
    "ServerFingerprintMismatch": "client_exceptions",
    "ClientResponseError": "client_exceptions",
    "ClientHttpProxyError": "client_exceptions",
    "WSServerHandshakeError": "client_exceptions",
    "ContentTypeError": "client_exceptions",
    "ClientPayloadError": "client_exceptions",
    "InvalidURL": "client_exceptions",
    "InvalidUrlClientError": "client_exceptions",
    "RedirectClientError": "client_exceptions",
    "NonHttpUrlClientError": "client_exceptions",
    "InvalidUrlRedirectClientError": "client_exceptions",
    "NonHttpUrlRedirectClientError": "client_exceptions",
    "TooManyRedirects": "client_exceptions",
    "CookieJar": "cookiejar",
    "DummyCookieJar": "cookiejar",
    "FormData": "formdata",
    # multipart and payloads
    "BadContentDispositionHeader": "multipart",
    "BadContentDispositionParam": "multipart",
    "BodyPartReader": "multipart",
    "MultipartReader": "multipart",
    "MultipartWriter": "multipart",
    "content_disposition_filename": "multipart",
    "parse_content_disposition": "multipart",
    "AsyncIterablePayload": "payload",
    "BufferedReaderPayload": "payload",
    "BytesIOPayload": "payload",
    "BytesPayload": "payload",
    "IOBasePayload": "payload",
    "JsonPayload": "payload",
    "PAYLOAD_REGISTRY": "payload",
    "Payload": "payload",
    "StringIOPayload": "payload",
    "StringPayload": "payload",
    "TextIOPayload": "payload",
    "get_payload": "payload",
    "payload_type": "payload",
    # client tracing
    "TraceConfig": "tracing",
    "TraceRequestStartParams": "tracing",
    "TraceRequestEndParams": "tracing",
    "TraceRequestExceptionParams": "tracing",
    "TraceConnectionQueuedStartParams": "tracing",
    "TraceConnectionQueuedEndParams": "tracing",
    "TraceConnectionCreateStartParams": "tracing",
    "TraceConnectionCreateEndParams": "tracing",
    "TraceConnectionReuseconnParams": "tracing",
    "TraceDnsResolveHostStartParams": "tracing",
    "TraceDnsResolveHostEndParams": "tracing",
    "TraceDnsCacheHitParams": "tracing",
    "TraceDnsCacheMissParams": "tracing",
    "TraceRequestRedirectParams": "tracing",
    "TraceRequestChunkSentParams": "tracing",
    "TraceResponseChunkReceivedParams": "tracing",
    "TraceRequestHeadersSentParams": "tracing",
    "ThreadedResolver": "resolver",
    "AsyncResolver": "resolver",
    "DefaultResolver": "resolver",
}

if TYPE_CHECKING:
    from . import abc, hdrs, http, log, request_id, test_utils, web  # noqa: F401
    from .worker import GunicornUVLoopWebWorker, GunicornWebWorker


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'aiohttp' has no attribute {name!r}")
    if module_name == "":
        return importlib.import_module(f".{name}", __name__)
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "BasicAuth",
    "ChainMapProxy",
    "DataQueue",
    "EMPTY_PAYLOAD",
    "ETag",
    "EofStream",
    "HttpProcessingError",
    "StreamReader",
    "GunicornWebWorker",
    "GunicornUVLoopWebWorker",
]
