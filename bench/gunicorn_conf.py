"""Gunicorn settings shared by every stack; the harness passes the rest on the command line.

In the correlated-logging configuration the access log goes to a file through a formatter
that prints the request id prefix, as a production logging config would.
"""

import os

workers = 1
graceful_timeout = 5
timeout = 30
keepalive = 75

_access_log = os.environ.get("BENCH_ACCESS_LOG")
if _access_log:
    accesslog = _access_log
    logconfig_dict = {
        "formatters": {
            "access_with_id": {"format": "%(requestIdPrefix)s%(message)s"},
            "generic": {
                "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
                "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            },
        },
        "handlers": {
            "access_file": {
                "class": "logging.FileHandler",
                "filename": _access_log,
                "formatter": "access_with_id",
            },
            "console": {"class": "logging.StreamHandler", "formatter": "generic"},
            "error_console": {"class": "logging.StreamHandler", "formatter": "generic"},
        },
        "loggers": {
            "gunicorn.access": {
                "level": "INFO",
                "handlers": ["access_file"],
                "propagate": False,
            },
            "gunicorn.error": {
                "level": "INFO",
                "handlers": ["error_console"],
                "propagate": False,
            },
        },
    }

# Several masters run side by side during a benchmark; none needs the control socket.
control_socket_disable = True
