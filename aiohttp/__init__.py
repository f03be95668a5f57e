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
}

if TYPE_CHECKING:
    from . import abc, hdrs, http, log, request_id, test_utils, web  # noqa: F401
    from .worker import GunicornUVLoopWebWorker, GunicornWebWorker  # noqa: F401


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
