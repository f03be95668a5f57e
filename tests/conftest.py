"""Fixtures for the whole suite: aiohttp's own plugin, and a client for a bare handler."""

from typing import TYPE_CHECKING

import pytest
from raw_http import Handler, RawClient

from aiohttp.test_utils import TestClient
from aiohttp.web import BaseRequest

if TYPE_CHECKING:  # imported for real by pytest_plugins below, so that pytest rewrites it
    from aiohttp.pytest_plugin import AiohttpClient, AiohttpRawServer

pytest_plugins = ["aiohttp.pytest_plugin"]


@pytest.fixture
def raw_client(aiohttp_raw_server: "AiohttpRawServer", aiohttp_client: "AiohttpClient") -> RawClient:
    """``client = await raw_client(handler, **server_kwargs)``: a TestClient of a web.Server.

    ``server_kwargs`` go to ``web.Server`` (request_id=, trusted_proxies=, access_log=...).
    """

    async def start(handler: Handler, **server_kwargs: object) -> TestClient[BaseRequest, None]:
        return await aiohttp_client(await aiohttp_raw_server(handler, **server_kwargs))

    return start
