"""A private gunicorn behind a private nginx or Caddy for the sub-path tests, on 127.0.0.1.

nginx and Caddy run from their own config in a temporary directory (never the
system services); their blocks are the ones docs/reverse-proxy.md shows, read
from that file, so the documented snippets are the tested ones.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reverse-proxy.md"
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
DOC_UPSTREAM = "127.0.0.1:8000"
DOC_SITE = "example.com"


def binary(name: str) -> str:
    """The path of nginx or caddy; a test without it fails under CI=true, else is skipped."""
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), ""
    )
    if not found:
        message = f"{name} is not installed (apt-get install {name}); scripts/test does it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def documented_block(name: str) -> str:
    """The fenced block under the ``<!-- tested: NAME ... -->`` marker of the doc."""
    match = re.search(
        rf"<!-- tested: {re.escape(name)}\b.*?-->\s*```\w+\n(.*?)```", DOC.read_text(), re.S
    )
    assert match, f"docs/reverse-proxy.md has no tested block {name}"
    return match.group(1)


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def _start(argv: list[str], log: Path, **kwargs: object) -> Process:
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own binaries, no shell
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )
    return Process(proc, log)


def wait_http(url: str, process: Process, timeout: float = 60) -> None:
    """Until ``url`` answers (any HTTP status), or fail with the process's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise AssertionError(f"{process.proc.args[0]} exited:\n{process.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer:\n{process.tail()}")


def bangui_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env.update(
        BANGUI_DATA_DIR=str(data_dir),
        BANGUI_STATIC_ROOT=str(data_dir / "static"),
        DJANGO_SETTINGS_MODULE="bangui.settings",
        **extra,
    )
    return env


def start_gunicorn(data_dir: Path, port: int, env: dict[str, str]) -> Process:
    """gunicorn with the production gunicorn.conf.py, after migrate and collectstatic."""
    for command in ("migrate", "collectstatic"):
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", command, "--noinput", "-v0"],
            cwd=ROOT, env=env, check=True, timeout=300,
        )  # fmt: skip
    argv = [GUNICORN, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "bangui.wsgi"]
    gunicorn = _start(argv, data_dir / "gunicorn.log", cwd=ROOT, env=env)
    wait_http(f"http://127.0.0.1:{port}/health/live", gunicorn)
    return gunicorn


def start_nginx(workdir: Path, servers: dict[int, str], upstream: int) -> Process:
    """nginx with one ``server`` per port, each holding the given documented location."""
    workdir.mkdir(parents=True, exist_ok=True)
    blocks = "".join(
        f"  server {{\n    listen 127.0.0.1:{port};\n    server_name _;\n"
        f"{location.replace(DOC_UPSTREAM, f'127.0.0.1:{upstream}')}  }}\n"
        for port, location in servers.items()
    )
    # As root, nginx's workers would switch to "nobody", who cannot write the temp dirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  access_log {workdir}/access.log;\n"
        f"  client_body_temp_path {workdir}/client_body;\n"
        f"  proxy_temp_path {workdir}/proxy;\n"
        f"  fastcgi_temp_path {workdir}/fastcgi;\n"
        f"  uwsgi_temp_path {workdir}/uwsgi;\n"
        f"  scgi_temp_path {workdir}/scgi;\n"
        f"{blocks}}}\n"
    )
    argv = [
        binary("nginx"), "-c", str(conf), "-p", str(workdir),
        "-g", f"daemon off; pid {workdir}/nginx.pid; error_log {workdir}/error.log;",
    ]  # fmt: skip
    return _start(argv, workdir / "nginx.out")


def start_caddy(workdir: Path, sites: dict[int, str], upstream: int) -> Process:
    """Caddy with the given documented site blocks, ``example.com`` made ``http://127.0.0.1:PORT``."""
    workdir.mkdir(parents=True, exist_ok=True)
    blocks = "".join(
        site.replace(DOC_SITE, f"http://127.0.0.1:{port}").replace(
            DOC_UPSTREAM, f"127.0.0.1:{upstream}"
        )
        for port, site in sites.items()
    )
    conf = workdir / "Caddyfile"
    # No admin endpoint (a fixed port), no certificates, state in the temp dir.
    conf.write_text(
        f"{{\n  admin off\n  auto_https off\n  storage file_system {workdir}\n}}\n{blocks}"
    )
    env = {
        **os.environ,
        "HOME": str(workdir),
        "XDG_DATA_HOME": str(workdir),
        "XDG_CONFIG_HOME": str(workdir),
    }
    argv = [binary("caddy"), "run", "--config", str(conf), "--adapter", "caddyfile"]
    return _start(argv, workdir / "caddy.out", env=env)
