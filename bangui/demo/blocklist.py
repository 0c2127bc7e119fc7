"""The demo's own blocklist, served on 127.0.0.1 so the Blocklists page has something real.

A few hundred public addresses (documentation ranges would be skipped as
reserved), a network, IPv6, comments, and the kind of junk real lists carry,
so a preview shows every counter. The list changes a little every hour, as
real ones do.
"""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIZE = 600


def demo_list(seed: int, hour: int) -> bytes:
    rng = random.Random(seed)
    lines = ["# BanGUI demo blocklist: generated addresses, not real attackers", "; one per line"]
    pool: list[str] = []
    while len(pool) < SIZE + 60:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global and not ip.is_multicast:
            pool.append(str(ip))
    # Most addresses stay from hour to hour; some drop out and others come in.
    shift = hour % 6 * 10
    lines += [f"{ip}  # seen {rng.randrange(1, 90)} times" for ip in pool[shift : shift + SIZE]]
    lines += ["2a03:2880:f12f:83:face:b00c:0:25de", "45.148.10.0/24", "not-an-address", "10.0.0.7"]
    return ("\n".join(lines) + "\n").encode()


def serve_blocklist(seed: int) -> tuple[ThreadingHTTPServer, str]:
    """Start the list's server in a daemon thread; returns it and the list's URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name is fixed by http.server
            if self.path.split("?")[0] != "/blocklist.txt":
                self.send_error(404)
                return
            body = demo_list(seed, int(time.time() // 3600))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/blocklist.txt"
