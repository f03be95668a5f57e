"""The benchmark app on asyncio's own loop, for instruction counting; GET /quit ends it.

Run by ``bench/instructions/count.py`` under callgrind with either stack's interpreter.
Argument: the port. Environment: BENCH_CORRELATED=1 (with BENCH_APP_LOG and
BENCH_ACCESS_LOG) for the correlated-logging configuration, as in the wrk benchmark.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import app as bench_app

from aiohttp import web


def _access_logger() -> logging.Logger | None:
    path = os.environ.get("BENCH_ACCESS_LOG")
    if not path:
        return None
    logger = logging.getLogger("gunicorn.access")  # the logger gunicorn's worker would pass
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(requestIdPrefix)s%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


async def main(port: int) -> None:
    # The app gunicorn serves (``app:app``), made once at import: calling make_app() again
    # would give the application's logger a second handler and count its line twice.
    app = bench_app.app
    done = asyncio.Event()

    async def quit_(request: web.Request) -> web.Response:
        done.set()
        return web.Response(text="bye")

    app.router.add_get("/quit", quit_)
    kwargs: dict = {"access_log": _access_logger()}
    if bench_app.CORRELATED:
        if "aiohttp_request_id_logging" in sys.modules:  # the real aiohttp's side
            kwargs.update(app._handler_args or {})
        else:
            kwargs["request_id"] = True  # this project's built-in switch (the worker's, in wrk runs)
    runner = web.AppRunner(app, **kwargs)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.wait_for(done.wait(), 900)
    await asyncio.sleep(0.05)
    os._exit(0)  # no cleanup: both stacks stop the same way, so it cancels out


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
