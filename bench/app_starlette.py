"""The same endpoints as app.py for Starlette, the alternative users pick instead."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


async def plaintext(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def json_hello(request: Request) -> Response:
    # json.dumps with its default separators, the bytes aiohttp's json_response sends.
    return Response(json.dumps({"message": "Hello, World!"}), media_type="application/json")


async def user(request: Request) -> Response:
    return PlainTextResponse("user " + request.path_params["id"])


async def other(request: Request) -> Response:
    return PlainTextResponse("other")


routes = [Route("/", plaintext), Route("/json", json_hello)]
for i in range(25):
    routes.append(Route(f"/static{i}/page", other))
    routes.append(Route(f"/api/v{i}/{{name}}/items", other))
routes.append(Route("/user/{id}", user))

app = Starlette(routes=routes)
