"""gunicorn settings for an aiohttp app behind nginx on a unix socket.

Use: ``gunicorn --config deploy/gunicorn.conf.py deploy.example.app:create_app``.
Copy it into production as it is; these environment variables adapt it:

``AIOHTTP_DEPLOY_RUNTIME``   folder of the socket and pid file (default /run/aiohttp-app)
``AIOHTTP_DEPLOY_LOGS``      folder for app.log and access.log (default: stderr/stdout,
                             for journald or supervisord to collect)
``AIOHTTP_DEPLOY_LOG_FORMAT`` ``json`` for one JSON object per line (python-json-logger)
``AIOHTTP_DEPLOY_TCP_BIND``  also listen on host:port (direct access on loopback, or the
                             TCP variant of nginx/upstream-tcp.conf)
``FORWARDED_ALLOW_IPS``      extra TCP peers trusted to send X-Forwarded-* (default none)
``WEB_CONCURRENCY``          number of workers (default: one per usable CPU)

docs/deployment.md explains each choice and how the timeouts line up with nginx and
supervisord.
"""

import os

_runtime = os.environ.get("AIOHTTP_DEPLOY_RUNTIME", "/run/aiohttp-app")
_logs = os.environ.get("AIOHTTP_DEPLOY_LOGS", "")
_json_logs = os.environ.get("AIOHTTP_DEPLOY_LOG_FORMAT", "").lower() == "json"


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# -- where to listen -------------------------------------------------------------

# nginx connects over a unix socket: no port to expose, and only users who may open the
# file can connect. gunicorn removes a stale socket file itself on start.
bind = [f"unix:{_runtime}/gunicorn.sock"]
if os.environ.get("AIOHTTP_DEPLOY_TCP_BIND"):
    bind.append(os.environ["AIOHTTP_DEPLOY_TCP_BIND"])
# The socket file is created 0660: the app's user and group (make nginx's user a member)
# may connect, nobody else. Everyone who can connect is trusted as a proxy (below).
umask = 0o007
pidfile = f"{_runtime}/gunicorn.pid"
# gunicorn 25.1+ opens a control socket for `gunicornc`; keep it beside the app socket
# instead of in the user's home, where two masters would fight over one path. (Older
# gunicorn ignores settings it does not know.)
control_socket = f"{_runtime}/gunicorn.ctl"
proc_name = "aiohttp-app"

# Peers whose Forwarded / X-Forwarded-* headers decide request.remote, scheme and host.
# Like gunicorn itself, our worker trusts peers on a unix socket (that is nginx); TCP
# peers are trusted only when listed here, and by default none are, so a direct client
# on the TCP bind cannot forge its address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")

# -- workers -----------------------------------------------------------------------

# One asyncio worker per usable core: each serves thousands of connections, so the
# 2*cores+1 rule of thumb for blocking workers would only add context switches.
workers = int(os.environ.get("WEB_CONCURRENCY", _usable_cpus()))
# aiohttp on uvloop; "aiohttp.GunicornWebWorker" for the stdlib loop.
worker_class = "aiohttp.GunicornUVLoopWebWorker"
# Not preloading: each worker imports the app after the fork, so `kill -HUP` (or
# `supervisorctl signal HUP`) loads new code into the new workers.
preload_app = False
# The heartbeat file lives in memory where /dev/shm exists (a disk-backed /tmp can stall
# the heartbeat under I/O load and get healthy workers killed).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# -- timeouts (docs/deployment.md has them all in one table) -----------------------

# Idle keep-alive with nginx: longer than nginx's upstream keepalive_timeout (60 s), so
# nginx always closes an idle pooled connection first and never writes into one we close.
keepalive = 75
# A worker whose event loop has not sent a heartbeat for this long is blocked (a handler
# doing CPU or blocking I/O) and gets killed and replaced. Not a request time limit:
# async handlers may run as long as nginx's proxy_read_timeout (60 s).
timeout = 30
# On TERM or HUP, requests in flight get this long to finish. supervisord's stopwaitsecs
# (45 s) and systemd's TimeoutStopSec (45 s) are longer, so a draining master is never
# killed.
graceful_timeout = 30
# Recycle each worker after about this many requests (bounds slow leaks); the jitter keeps
# the workers from restarting all at once. The last request is answered with
# Connection: close and queued connections go to the other workers: nothing is lost.
max_requests = 10000
max_requests_jitter = 1000

# -- request ids and logs ------------------------------------------------------------

# Request ids on: each request gets an id before any middleware runs, adopted from
# X-Request-ID when a trusted proxy (nginx) sent one, echoed in the response header.
raw_env = ["AIOHTTP_REQUEST_ID=1"]

# aiohttp's access-log atoms; %L is the request id, %a the client after trusted proxies,
# %Tf the time taken in seconds.
access_log_format = '%a "%r" %s %b %Tf "%{Referer}i" "%{User-Agent}i" rid=%L'


def _handler(filename: str, stream: str) -> dict[str, object]:
    filters = ["request_id"]
    if _logs:
        # WatchedFileHandler reopens the file after logrotate moves it.
        return {"class": "logging.handlers.WatchedFileHandler", "filename": f"{_logs}/{filename}",
                "formatter": "app", "filters": filters}
    return {"class": "logging.StreamHandler", "stream": stream, "formatter": "app", "filters": filters}


# The app's log lines and gunicorn's own go to app.log, the access lines to access.log.
# RequestIdFilter gives every record request_id and requestIdPrefix ("[req:<id>] " during
# a request, "" outside one).
_app_format = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(requestIdPrefix)s%(message)s"
_app_formatter: dict[str, object] = {"format": _app_format}
_access_formatter: dict[str, object] = {"format": "%(asctime)s [%(process)d] %(message)s"}
if _json_logs:
    _app_formatter = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(process)d %(levelname)s %(name)s %(request_id)s %(message)s",
    }
    _access_formatter = _app_formatter

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "aiohttp.request_id.RequestIdFilter"}},
    "formatters": {"app": _app_formatter, "access": _access_formatter},
    "handlers": {
        "app": _handler("app.log", "ext://sys.stderr"),
        "access": {**_handler("access.log", "ext://sys.stdout"), "formatter": "access"},
    },
    "root": {"level": "INFO", "handlers": ["app"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["app"], "propagate": False},
        # The worker writes aiohttp's access lines through gunicorn's access logger.
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        "aiohttp.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}
