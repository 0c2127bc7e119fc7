"""gunicorn settings for BanGUI: one worker, several threads.

The hooks export the real worker count so BanGUI's startup guard can refuse
more than one worker (see bangui/startup.py).
"""

import ipaddress
import os
import sys

from bangui.logs import ACCESS_LINE, gunicorn_logconfig, log_format


def _trusted_proxies() -> str:
    """BANGUI_TRUSTED_PROXIES checked with BanGUI's message (gunicorn's never names it)."""
    raw = os.environ.get("BANGUI_TRUSTED_PROXIES", "127.0.0.1")
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            sys.exit(
                f"BanGUI cannot start: BANGUI_TRUSTED_PROXIES={raw!r}: {item!r} is not an IP "
                "address or network. List your reverse proxies' addresses or networks, "
                "separated by commas (for example 127.0.0.1,10.0.0.0/8), or unset it."
            )
    return ",".join(items)


def _log_format() -> str:
    try:
        return log_format(os.environ.get("BANGUI_LOG_FORMAT"))
    except ValueError as exc:
        sys.exit(f"BanGUI cannot start: {exc}")


bind = os.environ.get("BANGUI_BIND", "127.0.0.1:8000")
workers = 1
threads = int(os.environ.get("BANGUI_THREADS", "8"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 25
accesslog = "-"
errorlog = "-"
# gunicorn's lines in BanGUI's format (BANGUI_LOG_FORMAT), through its sanitizer; the
# access line ends with the request ID (docs/logging.md).
access_log_format = ACCESS_LINE
logconfig_dict = gunicorn_logconfig(_log_format())
# gunicorn 27's control socket defaults to one path per user; two servers (the
# demo and the tests) would collide on it, and BanGUI does not use it.
control_socket_disable = True
forwarded_allow_ips = _trusted_proxies()


def on_starting(server):
    os.environ["BANGUI_GUNICORN_WORKERS"] = str(server.cfg.workers)


def nworkers_changed(server, new_value, old_value):
    os.environ["BANGUI_GUNICORN_WORKERS"] = str(new_value)
