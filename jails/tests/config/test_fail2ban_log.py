"""fail2ban log viewer: the tail read from the end, the filter, levels, and the page."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bangui.fail2ban import Fail2banClient
from bangui.fail2ban import logtail as fail2ban_log
from bangui.fail2ban.logtail import read_log_tail, tail_lines

URL = "/config/log/"


class CountingFile(io.FileIO):
    """A file that counts the bytes read through it."""

    bytes_read = 0

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def _line(n: int, level: str = "INFO") -> str:
    return f"2026-11-25 10:00:00,000 fail2ban.server  [1]: {level:<8} line {n}\n"


def _tail(path: Path, count: int, q: str = "") -> tuple[list[str], bool, int]:
    with CountingFile(path) as fh:
        lines, limited = tail_lines(fh, size=path.stat().st_size, count=count, q=q)
        return [t for t, _ in lines], limited, fh.bytes_read


def test_it_returns_the_last_lines_oldest_first(tmp_path):
    path = tmp_path / "f.log"
    path.write_text("".join(_line(i) for i in range(1000)))
    lines, limited, _ = _tail(path, 3)
    assert [line.split()[-1] for line in lines] == ["997", "998", "999"]
    assert not limited


def test_a_file_without_final_newline_and_an_empty_file(tmp_path):
    path = tmp_path / "f.log"
    path.write_bytes(b"one\r\ntwo\n\nthree")
    assert _tail(path, 10)[0] == ["one", "two", "three"]
    path.write_bytes(b"")
    assert _tail(path, 10)[0] == []


def test_a_50_mb_log_is_read_from_the_end_only(tmp_path):
    path = tmp_path / "big.log"
    chunk = "".join(_line(i) for i in range(10_000))
    with path.open("w") as fh:
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(chunk)
    lines, _, read = _tail(path, 5000)
    assert len(lines) == 5000
    assert lines[-1].endswith("line 9999")
    assert read < 2 * 1024 * 1024  # about 0.4 MB of lines, twice, plus one block


def test_the_filter_is_case_insensitive_and_its_scan_is_bounded(tmp_path):
    path = tmp_path / "big.log"
    with path.open("w") as fh:
        fh.write(_line(0, "ERROR").replace("line", "Found it"))
        fh.write("".join(_line(i) for i in range(400_000)))  # about 27 MB
    lines, limited, read = _tail(path, 100, q="FOUND")
    assert lines == [] and limited  # the match is beyond the scan budget
    assert read < 2 * fail2ban_log.MAX_SCAN_BYTES + 1024 * 1024
    small = tmp_path / "small.log"
    small.write_text(_line(1) + _line(2, "ERROR").replace("line", "Found it") + _line(3))
    assert _tail(small, 100, q="found it")[0] == [
        _line(2, "ERROR").replace("line", "Found it")[:-1]
    ]


def test_huge_lines_are_cut_without_reading_them_whole(tmp_path):
    path = tmp_path / "huge.log"
    with path.open("w") as fh:
        fh.write(_line(1))
        fh.write("x" * 5_000_000 + "\n")
        fh.write(_line(2))
    tail = read_log_tail(str(path), count=10)
    assert [len(line.text) for line in tail.lines] == [len(_line(1)) - 1, 2000, len(_line(2)) - 1]
    assert [line.truncated for line in tail.lines] == [False, True, False]
    assert _tail(path, 10)[2] < 5_000_000 + 64 * 1024  # scanned for newlines once, not kept


def test_lines_are_coloured_by_level_and_tracebacks_follow_their_line(tmp_path):
    path = tmp_path / "f.log"
    path.write_text(
        _line(1, "ERROR")
        + "Traceback (most recent call last):\n"
        + _line(2, "WARNING")
        + _line(3, "NOTICE")
        + _line(4, "DEBUG")
        + _line(5, "CRITICAL")
    )
    levels = [line.level for line in read_log_tail(str(path)).lines]
    assert levels == ["error", "error", "warn", "info", "debug", "error"]


def test_missing_and_unreadable_files_say_why(tmp_path):
    assert "does not exist" in read_log_tail(str(tmp_path / "nope.log")).error
    assert "is a directory" in read_log_tail(str(tmp_path)).error


# -- the page, against the real fail2ban -----------------------------------------------


def _count(body: str) -> int:
    return len(re.findall(r'class="log-line[ "]', body))


def _write_server_log(lab, text: str) -> None:  # type: ignore[no-untyped-def]
    with open(lab.server_log, "a") as fh:
        fh.write(text)


def test_the_page_shows_the_last_lines_coloured(config_admin_client, f2b_private):
    _write_server_log(
        f2b_private, _line(1, "ERROR") + _line(2, "WARNING") + _line(3, "DEBUG") + _line(4)
    )
    body = config_admin_client.get(URL).content.decode()
    assert 'aria-current="page">fail2ban log</a>' in body
    assert f2b_private.server_log in body
    assert '<div class="log-line lv-error">2026-11-25 10:00:00,000 fail2ban.server' in body
    assert "lv-warn" in body and "lv-debug" in body and "lv-info" in body
    assert body.index("line 1") < body.index("line 4")  # newest at the bottom
    assert '<div id="log-view" class="log-view">' in body  # no polling unless asked


def test_the_filter_and_the_line_count(config_admin_client, f2b_private):
    needle = _line(700, "ERROR").replace("line", "NeedleX")
    _write_server_log(f2b_private, "".join(_line(i) for i in range(700)) + needle)
    body = config_admin_client.get(URL, {"q": "needlex"}).content.decode()
    assert _count(body) == 1 and "NeedleX 700" in body
    body = config_admin_client.get(URL, {"n": "100"}).content.decode()
    assert _count(body) == 100
    body = config_admin_client.get(URL, {"n": "7", "q": "x" * 500}).content.decode()
    assert _count(body) == 500  # invalid input: the defaults


def test_htmx_gets_only_the_lines_and_follow_polls(config_admin_client, f2b_private):
    response = config_admin_client.get(URL, {"follow": "on", "q": "a&b"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="log-view"') or 'id="log-view"' in body[:400]
    assert "<html" not in body
    assert 'hx-trigger="every 5s, refresh"' in body and "data-poll" in body
    assert "q=a%26b" in body


def test_only_the_log_target_is_ever_read(config_admin_client, f2b_private):
    body = config_admin_client.get(URL, {"path": "/etc/passwd", "file": "/etc/passwd"}).content
    assert b"root:x:0" not in body


def test_a_non_file_target_says_how_to_read_it(config_admin_client, f2b_private, monkeypatch):
    real = Fail2banClient.get_server
    monkeypatch.setattr(
        Fail2banClient,
        "get_server",
        lambda self, name: "SYSTEMD-JOURNAL" if name == "logtarget" else real(self, name),
    )
    body = config_admin_client.get(URL).content.decode()
    assert "fail2ban does not log to a file" in body
    assert "journalctl -u fail2ban" in body
    assert 'class="log-line' not in body


def test_a_missing_log_file_is_a_clear_message(config_admin_client, f2b_private, monkeypatch):
    real = Fail2banClient.get_server
    gone = str(f2b_private.run_dir / "gone.log")
    monkeypatch.setattr(
        Fail2banClient,
        "get_server",
        lambda self, name: gone if name == "logtarget" else real(self, name),
    )
    body = config_admin_client.get(URL).content.decode()
    assert f"The log file {gone} does not exist (yet)." in body


def test_fail2ban_down_takes_the_target_from_the_config(config_admin_client, f2b_private):
    f2b_private.stop()
    _write_server_log(f2b_private, _line(42, "ERROR"))
    body = config_admin_client.get(URL).content.decode()
    assert "fail2ban is offline: its log target is taken from its config files." in body
    assert "line 42" in body
