"""One standalone aiohttp process on a unix socket, for layout (b) without gunicorn.

``python -m deploy.standalone --path /run/aiohttp-app/app-1.sock deploy.example.app:make_app``

This is ``web.run_app`` with the settings deploy/gunicorn.conf.py gives a gunicorn
worker: nginx on the unix socket is the only trusted proxy, request ids on, the same
access-log format, keep-alive longer than nginx's upstream pool, and logs (with the
request id) in ``$AIOHTTP_DEPLOY_LOGS/app.log`` and ``access.log`` or on stderr/stdout.
"""

import argparse
import logging
import logging.config
import os
import sys
from importlib import import_module
from typing import Any

from aiohttp import web

#: The same format as deploy/gunicorn.conf.py (``%L`` is the request id).
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf "%{Referer}i" "%{User-Agent}i" rid=%L'
#: Longer than nginx's upstream keepalive_timeout (60 s): nginx closes idle ones first.
KEEPALIVE_TIMEOUT = 75.0
#: Time in-flight requests get on TERM; supervisord's stopwaitsecs (45 s) is longer.
SHUTDOWN_TIMEOUT = 30.0


def logging_config(log_dir: str) -> dict[str, Any]:
    """dictConfig for app.log and access.log in ``log_dir`` (stderr/stdout when empty)."""

    def handler(filename: str, stream: str, formatter: str) -> dict[str, Any]:
        if log_dir:
            return {"class": "logging.handlers.WatchedFileHandler", "filename": os.path.join(log_dir, filename),
                    "formatter": formatter, "filters": ["request_id"]}
        return {"class": "logging.StreamHandler", "stream": stream, "formatter": formatter,
                "filters": ["request_id"]}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "aiohttp.request_id.RequestIdFilter"}},
        "formatters": {
            "app": {"format": "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(requestIdPrefix)s%(message)s"},
            "access": {"format": "%(asctime)s [%(process)d] %(message)s"},
        },
        "handlers": {
            "app": handler("app.log", "ext://sys.stderr", "app"),
            "access": handler("access.log", "ext://sys.stdout", "access"),
        },
        "root": {"level": "INFO", "handlers": ["app"]},
        "loggers": {"aiohttp.access": {"level": "INFO", "handlers": ["access"], "propagate": False}},
    }


def load_app(entry: str, argv: list[str]) -> web.Application:
    """Import ``module:factory`` and call the factory with the remaining arguments."""
    module_name, _, func_name = entry.partition(":")
    if not module_name or not func_name:
        raise SystemExit(f"app must be given as module:factory, not {entry!r}")
    factory = getattr(import_module(module_name), func_name)
    app = factory(argv)
    if not isinstance(app, web.Application):
        raise SystemExit(f"{entry} returned {app!r}, not an aiohttp Application")
    return app


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="deploy.standalone", description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="unix socket to serve on")
    parser.add_argument("app", help="module:factory returning the Application")
    args, app_argv = parser.parse_known_args(argv)
    logging.config.dictConfig(logging_config(os.environ.get("AIOHTTP_DEPLOY_LOGS", "")))
    app = load_app(args.app, app_argv)
    log = logging.getLogger("deploy.standalone")
    web.run_app(
        app,
        path=args.path,
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        access_log_format=ACCESS_LOG_FORMAT,
        print=lambda *parts: log.info(" ".join(str(p) for p in parts)),
        # Server options: nginx on the unix socket is the only trusted proxy; request ids on.
        trusted_proxies=["unix"],
        request_id=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
