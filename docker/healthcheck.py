"""Docker HEALTHCHECK: GET /health/live on the local gunicorn (no curl in the slim image).

Django answers 400 to a Host header outside BANGUI_ALLOWED_HOSTS, so the
request names the first allowed host instead of 127.0.0.1.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def allowed_host() -> str:
    hosts = [h.strip() for h in os.environ.get("BANGUI_ALLOWED_HOSTS", "localhost").split(",")]
    host = next((h for h in hosts if h), "localhost")
    if host == "*":
        return "localhost"
    return host.lstrip(".")  # ".example.com" allows example.com itself


def main() -> int:
    port = os.environ.get("BANGUI_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/health/live", headers={"Host": allowed_host()}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:  # URLError and HTTPError are OSErrors
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
