"""Client middlewares: the chain builder and request-id propagation.

A client middleware is ``async def mw(request, handler) -> ClientResponse``: it may
change the ClientRequest, call ``handler(request)`` (zero, one or several times) and
return a response. The first middleware in the list is the outermost.
"""

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .client_reqrep import ClientRequest, ClientResponse

__all__ = (
    "ClientHandlerType",
    "ClientMiddlewareType",
    "DEFAULT_REQUEST_ID_HEADER",
    "build_client_middlewares",
    "current_request_id",
    "propagate_request_id",
    "request_id_middleware",
)

ClientHandlerType = Callable[["ClientRequest"], Awaitable["ClientResponse"]]
ClientMiddlewareType = Callable[["ClientRequest", ClientHandlerType], Awaitable["ClientResponse"]]

DEFAULT_REQUEST_ID_HEADER = "X-Request-ID"


def build_client_middlewares(
    handler: ClientHandlerType, middlewares: Sequence[ClientMiddlewareType]
) -> ClientHandlerType:
    """Wrap ``handler`` so that ``middlewares[0]`` runs first."""
    for middleware in reversed(middlewares):
        handler = _bind(middleware, handler)
    return handler


def _bind(middleware: ClientMiddlewareType, handler: ClientHandlerType) -> ClientHandlerType:
    def call(request: "ClientRequest") -> Awaitable["ClientResponse"]:
        return middleware(request, handler)

    return call


def current_request_id() -> Optional[str]:
    """The id of the request being served in this context, or None outside one."""
    try:
        module = importlib.import_module(__package__ + ".request_id")
    except ImportError:
        return None
    var = getattr(module, "request_id", None)
    if var is None:
        return None
    value = var.get(None)
    return None if value is None else str(value)


def request_id_middleware(header: str = DEFAULT_REQUEST_ID_HEADER) -> ClientMiddlewareType:
    """A middleware that sends the current request id in ``header``.

    Outgoing calls made while serving a request then carry the same id, so the other
    service's logs correlate with ours. A header the caller set is left alone.
    """
    if not isinstance(header, str) or not header:
        raise ValueError("header must be a non-empty header name")

    async def send_request_id(
        request: "ClientRequest", handler: ClientHandlerType
    ) -> "ClientResponse":
        rid = current_request_id()
        if rid is not None and header not in request.headers:
            request.headers[header] = rid
        return await handler(request)

    return send_request_id


#: Ready-made middleware using the ``X-Request-ID`` header.
propagate_request_id: ClientMiddlewareType = request_id_middleware()
