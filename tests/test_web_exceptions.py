"""The HTTP exception tree: raised or returned from a handler, each becomes its response."""

import json
from http import HTTPStatus

import pytest
from raw_http import get as http_get
from raw_http import pipelined, serve

from aiohttp import web, web_exceptions

ALL_CLASSES = [getattr(web, name) for name in web_exceptions.__all__ if name.startswith("HTTP")]
CONCRETE = [cls for cls in ALL_CLASSES if cls.status_code > 0]


def make(cls: type[web.HTTPException], **kwargs: object) -> web.HTTPException:
    """An instance of any exception class, with the positional arguments it needs."""
    if issubclass(cls, web.HTTPMove):
        return cls("/elsewhere", **kwargs)  # type: ignore[arg-type]
    if cls is web.HTTPMethodNotAllowed:
        return cls("DELETE", ["GET", "POST"], **kwargs)  # type: ignore[arg-type]
    if cls is web.HTTPRequestEntityTooLarge:
        return cls(max_size=10, actual_size=20, **kwargs)
    if cls is web.HTTPUnavailableForLegalReasons:
        return cls("https://example.test/why", **kwargs)  # type: ignore[arg-type]
    return cls(**kwargs)  # type: ignore[arg-type]


def test_tree_shape() -> None:
    assert issubclass(web.HTTPException, web.Response)
    assert issubclass(web.HTTPException, Exception)
    for cls in CONCRETE:
        code = cls.status_code
        assert HTTPStatus(code)  # every code is a real status
        family = {2: web.HTTPSuccessful, 3: web.HTTPRedirection, 4: web.HTTPClientError, 5: web.HTTPServerError}
        assert issubclass(cls, family[code // 100]), cls
        if code >= 400:
            assert issubclass(cls, web.HTTPError)
    codes = sorted(cls.status_code for cls in CONCRETE)
    assert len(codes) == len(set(codes))
    for expected in (200, 204, 206, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 409, 410, 412, 413,
                     415, 416, 421, 422, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 511):
        assert expected in codes


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda c: c.__name__)
def test_every_exception_is_a_response(cls: type[web.HTTPException]) -> None:
    exc = make(cls)
    assert exc.status == cls.status_code
    assert exc.reason == HTTPStatus(cls.status_code).phrase
    assert str(exc) == exc.reason
    if cls.empty_body:
        assert exc.body is None
    elif cls is not web.HTTPRequestEntityTooLarge:  # that one explains the sizes instead
        assert exc.text == f"{exc.status}: {exc.reason}"
        assert exc.content_type == "text/plain"


def test_text_reason_headers_content_type() -> None:
    exc = web.HTTPNotFound(
        text="<h1>gone fishing</h1>", content_type="text/html", reason="Nope", headers={"X-Why": "because"}
    )
    assert exc.text == "<h1>gone fishing</h1>"
    assert exc.headers["Content-Type"] == "text/html; charset=utf-8"
    assert exc.headers["X-Why"] == "because"
    assert exc.reason == "Nope"


def test_body_argument_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning):
        exc = web.HTTPBadRequest(body=b"raw")
    assert exc.body == b"raw"


def test_redirect_needs_location_and_sets_header() -> None:
    exc = web.HTTPFound("/next?x=1")
    assert exc.location == "/next?x=1"
    assert exc.headers["Location"] == "/next?x=1"
    with pytest.raises(ValueError):
        web.HTTPFound("")


def test_method_not_allowed_lists_methods() -> None:
    exc = web.HTTPMethodNotAllowed("delete", ["POST", "GET"])
    assert exc.method == "DELETE"
    assert exc.allowed_methods == {"GET", "POST"}
    assert exc.headers["Allow"] == "GET,POST"


def test_entity_too_large_and_legal_reasons() -> None:
    too_large = web.HTTPRequestEntityTooLarge(max_size=100, actual_size=250)
    assert too_large.text == "Maximum request body size 100 exceeded, actual body size 250"
    legal = web.HTTPUnavailableForLegalReasons("https://example.test/why")
    assert str(legal.link) == "https://example.test/why"
    assert legal.headers["Link"] == '<https://example.test/why>; rel="blocked-by"'


async def test_raised_exceptions_become_responses() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/redirect":
            raise web.HTTPFound("/target")
        if request.path == "/405":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        if request.path == "/json":
            raise web.HTTPConflict(text=json.dumps({"error": "taken"}), content_type="application/json")
        if request.path == "/empty":
            raise web.HTTPNoContent(headers={"X-Done": "1"})
        raise web.HTTPNotFound()

    async with serve(handler) as server:
        redirect = await http_get(server, "/redirect")
        not_allowed = await http_get(server, "/405")
        conflict = await http_get(server, "/json")
        missing = await http_get(server, "/missing")
        empty = await http_get(server, "/empty")
    assert (redirect.status, redirect.headers["Location"]) == (302, "/target")
    assert redirect.text() == "302: Found"
    assert (not_allowed.status, not_allowed.headers["Allow"]) == (405, "POST")
    assert conflict.status == 409
    assert conflict.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(conflict.body) == {"error": "taken"}
    assert (missing.status, missing.text()) == (404, "404: Not Found")
    assert empty.status == 204 and empty.body == b""
    assert empty.headers["X-Done"] == "1"
    assert "Content-Length" not in empty.headers


async def test_returning_an_exception_works_but_warns() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.HTTPFound("/returned")

    async with serve(handler) as server:
        with pytest.warns(DeprecationWarning, match="raise"):
            resp = await http_get(server)
    assert (resp.status, resp.headers["Location"]) == (302, "/returned")


async def test_exception_keeps_the_connection_alive() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/bad":
            raise web.HTTPBadRequest(text="no")
        return web.Response(text="fine")

    async with serve(handler) as server:
        data = b"GET /bad HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        first, second = await pipelined(server, data, 2)
    assert (first.status, first.text()) == (400, "no")
    assert (second.status, second.text()) == (200, "fine")


async def test_exception_with_cookies() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        exc = web.HTTPSeeOther("/login")
        exc.del_cookie("session")
        raise exc

    async with serve(handler) as server:
        resp = await http_get(server)
    assert resp.status == 303
    assert resp.headers["Set-Cookie"].startswith('session=""')
