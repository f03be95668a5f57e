"""Exceptions raised by the HTTP client, in aiohttp's documented hierarchy.

ClientError
├── ClientResponseError (status, message, headers, request_info, history)
│   ├── ContentTypeError
│   ├── TooManyRedirects
│   └── WSServerHandshakeError, ClientHttpProxyError
├── ClientConnectionError
│   ├── ClientConnectionResetError
│   ├── ClientOSError (also OSError)
│   │   └── ClientConnectorError
│   │       ├── ClientConnectorDNSError, UnixClientConnectorError, ClientProxyConnectionError
│   │       └── ClientSSLError
│   │           ├── ClientConnectorSSLError
│   │           └── ClientConnectorCertificateError
│   └── ServerConnectionError
│       ├── ServerDisconnectedError
│       ├── ServerFingerprintMismatch
│       └── ServerTimeoutError (also asyncio.TimeoutError)
│           ├── ConnectionTimeoutError
│           └── SocketTimeoutError
├── ClientPayloadError
└── InvalidURL (also ValueError)
    ├── InvalidUrlClientError, NonHttpUrlClientError
    └── via RedirectClientError: InvalidUrlRedirectClientError, NonHttpUrlRedirectClientError
"""

import asyncio
import ssl
from typing import TYPE_CHECKING, Any, Optional, Union

from multidict import MultiMapping
from yarl import URL

if TYPE_CHECKING:
    from .client_reqrep import ClientResponse, ConnectionKey, RequestInfo

__all__ = (
    "ClientError",
    "ClientConnectionError",
    "ClientConnectionResetError",
    "ClientOSError",
    "ClientConnectorError",
    "ClientConnectorDNSError",
    "ClientProxyConnectionError",
    "ClientSSLError",
    "ClientConnectorSSLError",
    "ClientConnectorCertificateError",
    "UnixClientConnectorError",
    "ServerConnectionError",
    "ServerTimeoutError",
    "ConnectionTimeoutError",
    "SocketTimeoutError",
    "ServerDisconnectedError",
    "ServerFingerprintMismatch",
    "ClientResponseError",
    "ClientHttpProxyError",
    "WSServerHandshakeError",
    "ContentTypeError",
    "ClientPayloadError",
    "InvalidURL",
    "InvalidUrlClientError",
    "RedirectClientError",
    "NonHttpUrlClientError",
    "InvalidUrlRedirectClientError",
    "NonHttpUrlRedirectClientError",
    "TooManyRedirects",
)


class ClientError(Exception):
    """Base class for every client error."""


class ClientResponseError(ClientError):
    """A response arrived but is an error (or could not be used as asked)."""

    def __init__(
        self,
        request_info: "RequestInfo",
        history: tuple["ClientResponse", ...],
        *,
        status: Optional[int] = None,
        message: str = "",
        headers: Optional[MultiMapping[str]] = None,
    ) -> None:
        self.request_info = request_info
        self.status = 0 if status is None else status
        self.message = message
        self.headers: Optional[MultiMapping[str]] = headers
        self.history = history
        self.args = (request_info, history)

    def __str__(self) -> str:
        return f"{self.status}, message={self.message!r}, url={str(self.request_info.real_url)!r}"

    def __repr__(self) -> str:
        args = f"{self.request_info!r}, {self.history!r}"
        if self.status != 0:
            args += f", status={self.status!r}"
        if self.message != "":
            args += f", message={self.message!r}"
        if self.headers is not None:
            args += f", headers={self.headers!r}"
        return f"{type(self).__name__}({args})"


class ContentTypeError(ClientResponseError):
    """``json()`` was asked to decode a body whose Content-Type is not JSON."""


class WSServerHandshakeError(ClientResponseError):
    """The WebSocket handshake failed (the WebSocket client is not implemented yet)."""


class ClientHttpProxyError(ClientResponseError):
    """A proxy answered with an error (proxies are not implemented yet)."""


class TooManyRedirects(ClientResponseError):
    """More redirects than ``max_redirects`` were followed."""


class ClientConnectionError(ClientError):
    """Base class for errors of the connection to the server."""


class ClientConnectionResetError(ClientConnectionError, ConnectionResetError):
    """The connection was reset while writing the request."""


class ClientOSError(ClientConnectionError, OSError):
    """An OSError happened on the connection."""


class ClientConnectorError(ClientOSError):
    """Could not open a connection to the server."""

    def __init__(self, connection_key: "ConnectionKey", os_error: OSError) -> None:
        self._conn_key = connection_key
        self._os_error = os_error
        super().__init__(os_error.errno, os_error.strerror)
        self.args = (connection_key, os_error)

    @property
    def os_error(self) -> OSError:
        return self._os_error

    @property
    def host(self) -> str:
        return self._conn_key.host

    @property
    def port(self) -> Optional[int]:
        return self._conn_key.port

    @property
    def ssl(self) -> Union[ssl.SSLContext, bool, None]:
        return self._conn_key.ssl

    def __str__(self) -> str:
        ssl_text = "default" if self.ssl is True else self.ssl
        return (
            f"Cannot connect to host {self.host}:{self.port} ssl:{ssl_text} "
            f"[{self.strerror or self._os_error}]"
        )

    __reduce__ = BaseException.__reduce__


class ClientConnectorDNSError(ClientConnectorError):
    """The host name could not be resolved."""


class ClientProxyConnectionError(ClientConnectorError):
    """Could not connect to a proxy (proxies are not implemented yet)."""


class UnixClientConnectorError(ClientConnectorError):
    """Could not connect to a unix socket."""

    def __init__(self, path: str, connection_key: "ConnectionKey", os_error: OSError) -> None:
        self._path = path
        super().__init__(connection_key, os_error)

    @property
    def path(self) -> str:
        return self._path

    def __str__(self) -> str:
        ssl_text = "default" if self.ssl is True else self.ssl
        return f"Cannot connect to unix socket {self.path} ssl:{ssl_text} [{self.strerror}]"


class ClientSSLError(ClientConnectorError):
    """The TLS handshake failed."""


class ClientConnectorSSLError(ClientSSLError, ssl.SSLError):
    """A TLS error other than certificate verification."""


class ClientConnectorCertificateError(ClientSSLError):
    """The server's certificate did not verify."""

    def __init__(self, connection_key: "ConnectionKey", certificate_error: Exception) -> None:
        self._conn_key = connection_key
        self._certificate_error = certificate_error
        self.args = (connection_key, certificate_error)

    @property
    def certificate_error(self) -> Exception:
        return self._certificate_error

    @property
    def os_error(self) -> OSError:
        err = self._certificate_error
        return err if isinstance(err, OSError) else OSError(str(err))

    def __str__(self) -> str:
        return (
            f"Cannot connect to host {self.host}:{self.port} ssl:{self.ssl} "
            f"[{self._certificate_error.__class__.__name__}: {self._certificate_error.args}]"
        )


class ServerConnectionError(ClientConnectionError):
    """Base class for errors the server side of the connection caused."""


class ServerDisconnectedError(ServerConnectionError):
    """The server closed the connection before a complete response arrived."""

    def __init__(self, message: Union[Any, str, None] = None) -> None:
        if message is None:
            message = "Server disconnected"
        self.args = (message,)
        self.message = message


class ServerTimeoutError(ServerConnectionError, asyncio.TimeoutError):
    """A socket-level timeout expired."""


class ConnectionTimeoutError(ServerTimeoutError):
    """Connecting (``connect`` or ``sock_connect`` timeout) took too long."""


class SocketTimeoutError(ServerTimeoutError):
    """No data arrived within ``sock_read`` seconds."""


class ServerFingerprintMismatch(ServerConnectionError):
    """The server certificate's fingerprint did not match the expected one."""

    def __init__(self, expected: bytes, got: bytes, host: str, port: int) -> None:
        self.expected = expected
        self.got = got
        self.host = host
        self.port = port
        self.args = (expected, got, host, port)

    def __repr__(self) -> str:
        return (
            f"<{self.__class__.__name__} expected={self.expected!r} got={self.got!r} "
            f"host={self.host!r} port={self.port!r}>"
        )


class ClientPayloadError(ClientError):
    """The response body was malformed or cut short."""


class InvalidURL(ClientError, ValueError):
    """The URL is malformed or cannot be requested."""

    def __init__(self, url: Union[str, URL], description: Union[str, None] = None) -> None:
        self._url = url
        self._description = description
        if description:
            super().__init__(url, description)
        else:
            super().__init__(url)

    @property
    def url(self) -> Union[str, URL]:
        return self._url

    @property
    def description(self) -> Optional[str]:
        return self._description

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {self}>"

    def __str__(self) -> str:
        if self._description:
            return f"{self._url} - {self._description}"
        return str(self._url)


class InvalidUrlClientError(InvalidURL):
    """A URL given to a request is invalid."""


class RedirectClientError(ClientError):
    """A redirect could not be followed."""


class NonHttpUrlClientError(InvalidUrlClientError):
    """The URL's scheme is not http or https."""


class InvalidUrlRedirectClientError(InvalidUrlClientError, RedirectClientError):
    """A redirect's Location is not a valid URL."""


class NonHttpUrlRedirectClientError(NonHttpUrlClientError, RedirectClientError):
    """A redirect's Location has a scheme other than http or https."""

