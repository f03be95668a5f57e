"""Raw HTTP/1.1 helpers under their older module name; they live in ``raw_http`` now.

Kept so that test modules importing from here work unchanged until they switch.
"""

from raw_http import (
    Handler,
    RawResponse,
    Served,
    close_quietly,
    closed_by_peer,
    exchange,
    read_chunked,
    read_response,
    serve,
)

WAIT = 5.0  # upper bound for any single wait in the tests importing this

__all__ = (
    "WAIT",
    "Handler",
    "RawResponse",
    "Served",
    "close_quietly",
    "closed_by_peer",
    "exchange",
    "read_chunked",
    "read_response",
    "serve",
)
