"""A small notes service written only from aiohttp's documentation, as a user would.

It uses a route table, a class-based view, a static folder, middlewares, an admin
sub-application, a cleanup context with a background task, a form upload, cookies
and a JSON API. The tests run it unchanged on this project.
"""

import asyncio
import contextlib
import json
import pathlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

STATIC_DIR = pathlib.Path(__file__).parent / "static"

notes_key = web.AppKey("notes_key", dict)
ticks_key = web.AppKey("ticks_key", list)
uploads_key = web.AppKey("uploads_key", list)
admin_token_key = web.AppKey("admin_token_key", str)

routes = web.RouteTableDef()
admin_routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- pages and cookies ------------------------------------------------------------------


@routes.get("/", name="index")
async def index(request: web.Request) -> web.Response:
    user = request.cookies.get("user", "stranger")
    css = request.app.router["static"].url_for(filename="site.css")
    return web.Response(
        text=f'<html><head><link rel="stylesheet" href="{css}"></head><body>Hello, {user}</body></html>',
        content_type="text/html",
    )


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    response = web.HTTPFound(request.app.router["index"].url_for())
    response.set_cookie("user", str(form["name"]), httponly=True, samesite="Lax")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    response = web.Response(text="bye")
    response.del_cookie("user")
    return response


# -- JSON API ------------------------------------------------------------------------


@routes.get("/api/notes")
async def list_notes(request: web.Request) -> web.Response:
    notes = request.app[notes_key]
    return web.json_response(sorted(notes.values(), key=lambda note: note["id"]))


@routes.post("/api/notes")
async def create_note(request: web.Request) -> web.Response:
    data = await request.json()
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise web.HTTPUnprocessableEntity(text=json.dumps({"error": "text is required"}), content_type="application/json")
    notes = request.app[notes_key]
    note_id = len(notes) + 1
    notes[note_id] = {"id": note_id, "text": data["text"]}
    location = request.app.router["note"].url_for(id=str(note_id))
    return web.json_response(notes[note_id], status=201, headers={"Location": str(location)})


@routes.view(r"/api/notes/{id:\d+}", name="note")
class NoteView(web.View):
    def _note(self) -> dict[str, object]:
        note = self.request.app[notes_key].get(int(self.request.match_info["id"]))
        if note is None:
            raise web.HTTPNotFound()
        return note  # type: ignore[no-any-return]

    async def get(self) -> web.Response:
        return web.json_response(self._note())

    async def put(self) -> web.Response:
        note = self._note()
        note["text"] = (await self.request.json())["text"]
        return web.json_response(note)

    async def delete(self) -> web.Response:
        self._note()
        del self.request.app[notes_key][int(self.request.match_info["id"])]
        return web.Response(status=204)


# -- uploads ---------------------------------------------------------------------------


@routes.post("/upload")
async def upload(request: web.Request) -> web.Response:
    form = await request.post()
    field = form["file"]
    assert isinstance(field, web.FileField)
    content = field.file.read()
    request.app[uploads_key].append((field.filename, len(content)))
    return web.json_response(
        {"filename": field.filename, "size": len(content), "title": form.get("title"), "type": field.content_type}
    )


@routes.get("/ticks")
async def ticks(request: web.Request) -> web.Response:
    return web.json_response({"ticks": len(request.app[ticks_key])})


# -- middlewares -------------------------------------------------------------------------


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.monotonic()
    response = await handler(request)
    response.headers["X-Elapsed"] = f"{time.monotonic() - start:.6f}"
    return response


async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API errors as JSON; everything else untouched."""
    try:
        return await handler(request)
    except web.HTTPError as exc:
        if not request.path.startswith("/api/") or exc.content_type == "application/json":
            raise
        return web.json_response({"error": exc.reason}, status=exc.status)
    except json.JSONDecodeError:
        return web.json_response({"error": "invalid JSON"}, status=400)


# -- admin sub-application ----------------------------------------------------------------


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.headers.get("Authorization") != f"Bearer {request.config_dict[admin_token_key]}":
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"})
    return await handler(request)


@admin_routes.get("/stats")
async def stats(request: web.Request) -> web.Response:
    return web.json_response(
        {"notes": len(request.config_dict[notes_key]), "uploads": len(request.config_dict[uploads_key])}
    )


def create_admin() -> web.Application:
    admin = web.Application(middlewares=[require_token])
    admin.add_routes(admin_routes)
    return admin


# -- background task --------------------------------------------------------------------


async def ticker(app: web.Application) -> AsyncIterator[None]:
    async def tick() -> None:
        while True:
            app[ticks_key].append(time.monotonic())
            await asyncio.sleep(0.01)

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(admin_token: str = "secret") -> web.Application:
    app = web.Application(
        middlewares=[timing, json_errors, web.normalize_path_middleware()],
        client_max_size=2 * 1024**2,
    )
    app[notes_key] = {}
    app[ticks_key] = []
    app[uploads_key] = []
    app[admin_token_key] = admin_token
    app.add_routes(routes)
    app.router.add_static("/static", STATIC_DIR, name="static")
    app.add_subapp("/admin", create_admin())
    app.cleanup_ctx.append(ticker)
    return app
