"""A realistic app written from aiohttp's docs (tests/realistic_app/notes.py), run unchanged."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from realistic_app import fetch, serve
from realistic_app.notes import create_app, ticks_key

from aiohttp import web


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with serve(create_app()) as port:
        yield port


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = "----notes-test-boundary"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, ctype) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def test_pages_static_and_cookies(port: int) -> None:
    home = await fetch(port, "/")
    assert "Hello, stranger" in home.text
    assert '<link rel="stylesheet" href="/static/site.css">' in home.text
    assert "X-Elapsed" in home.headers
    css = await fetch(port, "/static/site.css")
    assert css.status == 200 and "font-family" in css.text

    login = await fetch(
        port,
        "/login",
        "POST",
        body=b"name=ann",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert login.status == 302 and login.headers["Location"] == "/"
    cookie = login.headers["Set-Cookie"]
    assert cookie.startswith("user=ann;") and "HttpOnly" in cookie
    home = await fetch(port, "/", headers={"Cookie": "user=ann"})
    assert "Hello, ann" in home.text
    logout = await fetch(port, "/logout", "POST")
    assert 'user=""' in logout.headers["Set-Cookie"]


async def test_json_api_lifecycle(port: int) -> None:
    headers = {"Content-Type": "application/json"}
    created = await fetch(port, "/api/notes", "POST", body=json.dumps({"text": "buy milk"}).encode(), headers=headers)
    assert created.status == 201 and created.json() == {"id": 1, "text": "buy milk"}
    assert created.headers["Location"] == "/api/notes/1"
    assert (await fetch(port, "/api/notes/1")).json() == {"id": 1, "text": "buy milk"}
    updated = await fetch(port, "/api/notes/1", "PUT", body=b'{"text": "buy oat milk"}', headers=headers)
    assert updated.json()["text"] == "buy oat milk"
    assert (await fetch(port, "/api/notes")).json() == [{"id": 1, "text": "buy oat milk"}]
    assert (await fetch(port, "/api/notes/1", "DELETE")).status == 204

    missing = await fetch(port, "/api/notes/1")
    assert missing.status == 404 and missing.json() == {"error": "Not Found"}
    wrong_method = await fetch(port, "/api/notes/2", "PATCH")
    assert wrong_method.status == 405 and wrong_method.json() == {"error": "Method Not Allowed"}
    bad_json = await fetch(port, "/api/notes", "POST", body=b"{not json", headers=headers)
    assert bad_json.status == 400
    invalid = await fetch(port, "/api/notes", "POST", body=b'{"title": 1}', headers=headers)
    assert invalid.status == 422 and invalid.json() == {"error": "text is required"}


async def test_trailing_slash_is_normalised(port: int) -> None:
    reply = await fetch(port, "/api//notes")
    assert reply.status == 308 and reply.headers["Location"] == "/api/notes"


async def test_form_upload(port: int) -> None:
    body, ctype = multipart({"title": "report"}, {"file": ("report.csv", b"a,b\n1,2\n" * 1000, "text/csv")})
    reply = await fetch(port, "/upload", "POST", body=body, headers={"Content-Type": ctype})
    assert reply.status == 200, reply.text
    assert reply.json() == {"filename": "report.csv", "size": 8000, "title": "report", "type": "text/csv"}


async def test_admin_sub_application(port: int) -> None:
    assert (await fetch(port, "/admin/stats")).status == 401
    reply = await fetch(port, "/admin/stats", headers={"Authorization": "Bearer secret"})
    assert reply.json() == {"notes": 0, "uploads": 0}


async def test_background_task_runs_and_stops_with_the_app() -> None:
    app = create_app()
    async with serve(app) as port:
        for _ in range(100):
            if (await fetch(port, "/ticks")).json()["ticks"] >= 2:
                break
            await asyncio.sleep(0.01)
        assert len(app[ticks_key]) >= 2
    stopped_at = len(app[ticks_key])
    await asyncio.sleep(0.05)
    assert len(app[ticks_key]) == stopped_at


def test_app_is_an_ordinary_application() -> None:
    app = create_app()
    assert isinstance(app, web.Application)
    assert str(app.router["note"].url_for(id="5")) == "/api/notes/5"
