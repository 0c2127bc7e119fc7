"""Importing blocklists: one run downloads a list, filters it and bans it in batches.

Idempotent by design: fail2ban counts an address it already bans as "already
banned" and only moves its ban end (no second ban, no new database row), so a
run killed half-way and started again ends with exactly the listed set. A list
whose content (SHA-256) was imported recently is not sent again while its bans
are fresh; after half the ban time it is, which keeps listed addresses banned
while addresses dropped from the list expire with their ban time.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from bangui.fail2ban import Fail2banClient, Fail2banError
from bangui.fail2ban.configured import get_client
from bangui.models import AppSettings
from bangui.status import status_busy, status_busy_end, status_changed
from blocklists.jail import JailError, jail_for, jail_ready, networks_supported
from blocklists.listurl import FetchError
from blocklists.models import BlocklistSource, ImportRun
from blocklists.parse import filter_entries, parse_list
from jails.audit.services import Action, Actor, audit_record
from jails.models import AuditEvent

log = logging.getLogger("bangui.blocklists")

# A running import's heartbeat beats every HEARTBEAT_SECONDS, even while fail2ban takes
# long over one batch; a run whose heartbeat is older than STALE_SECONDS was killed.
HEARTBEAT_SECONDS = 5
STALE_SECONDS = 20
INTERRUPTED = (
    "The import stopped without finishing (the process was stopped or killed). "
    "Run it again: bans already made stay, and nothing is banned twice."
)
PROGRESS_EVERY = 0.5
OWN_IP_DAYS = 30
IN_EARLIER_SOURCE = "listed by an earlier source in this run"
# How long the job cluster lets one import task run. Without a per-address action
# fail2ban takes a 100k list in seconds; with one (an iptables call per ban, ~60-240
# bans/s measured) the same list takes 7-30 minutes, plus up to the download deadline.
IMPORT_TIMEOUT = 3 * 3600
# How downloads are retried and bounded (fetch_list's keywords).
FETCH_OPTIONS: dict[str, float] = {
    "connect_timeout": 10.0,
    "read_timeout": 30.0,
    "deadline": 300.0,
    "retries": 3,
    "backoff": 2.0,
}

Progress = Callable[[ImportRun], None]


def runs_reap(*, now: Any = None, client: Fail2banClient | None = None) -> int:
    """Mark runs whose heartbeat stopped (their process was killed) as interrupted.

    A batch that was being sent when the run died may have reached fail2ban in
    part or in full: fail2ban is asked which of its addresses it holds, so the
    counts of the run say what really happened.
    """
    now = now or timezone.now()
    stale = ImportRun.objects.filter(
        status=ImportRun.Status.RUNNING, heartbeat_at__lt=now - timedelta(seconds=STALE_SECONDS)
    )
    reaped = 0
    for run in stale:
        note = ""
        if run.in_flight:
            landed = _landed(run, client)
            if landed is None:
                note = (
                    f" A batch of {len(run.in_flight):,} addresses was being sent; fail2ban "
                    "did not answer, so it is not known how many of them it holds."
                )
            else:
                run.newly_banned += landed
                run.failed += len(run.in_flight) - landed
                note = (
                    f" A batch of {len(run.in_flight):,} addresses was being sent: fail2ban "
                    f"holds {landed:,} of them, counted as banned."
                )
        stamp = timezone.localtime(now).strftime("%H:%M:%S")
        run.status, run.finished_at, run.in_flight = ImportRun.Status.INTERRUPTED, now, []
        run.error = INTERRUPTED + note
        run.log = (run.log + f"{stamp} {run.error}\n")[-20_000:]
        # Only if nobody else finished or reaped it meanwhile.
        reaped += ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.RUNNING).update(
            status=run.status, finished_at=now, in_flight=[], error=run.error, log=run.log,
            newly_banned=run.newly_banned, failed=run.failed,
        )  # fmt: skip
    return reaped


def _landed(run: ImportRun, client: Fail2banClient | None) -> int | None:
    """How many of the batch in flight fail2ban holds in the run's jail (None: unknown)."""
    try:
        client = client or get_client(timeout=10)
        held = client.jails_banning([ip for ip in run.in_flight if "/" not in ip])
        networks = [ip for ip in run.in_flight if "/" in ip]
        banned_networks = set(client.banned_ips(run.jail)) if networks and run.jail else set()
    except (Fail2banError, ValueError):
        return None
    found = sum(1 for jails in held.values() if run.jail in jails)
    return found + sum(1 for net in networks if net in banned_networks)


def own_addresses(extra: list[str]) -> list[str]:
    """Addresses an import must never ban: whoever started it, recent admins, this host."""
    found = {ip for ip in extra if ip}
    since = timezone.now() - timedelta(days=OWN_IP_DAYS)
    found.update(
        str(ip)
        for ip in AuditEvent.objects.filter(created_at__gte=since, client_ip__isnull=False)
        .order_by()
        .values_list("client_ip", flat=True)
        .distinct()[:1000]
    )
    with contextlib.suppress(OSError):
        found.update(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None))
    return sorted(found)


class _Heartbeat(threading.Thread):
    """Beats for a running import: its row's heartbeat and, while it bans, fail2ban busy.

    A thread, so it beats while the import waits (a stalled download, a batch
    with an action per address that takes fail2ban many seconds); it dies with
    the process, and then the run is reaped.
    """

    def __init__(self, run: ImportRun) -> None:
        super().__init__(name=f"import-{run.pk}-heartbeat", daemon=True)
        self.run_id = run.pk
        self.reason = f"BanGUI is importing “{run.source_name or run.url}”"[:200]
        self.stopped = threading.Event()
        self.banning = False

    def beat(self) -> None:
        with contextlib.suppress(DatabaseError):
            ImportRun.objects.filter(pk=self.run_id, status=ImportRun.Status.RUNNING).update(
                heartbeat_at=timezone.now()
            )
            if self.banning:
                status_busy(self.reason, seconds=3 * HEARTBEAT_SECONDS)

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                self.beat()
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> _Heartbeat:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.join()
        if self.banning:
            with contextlib.suppress(DatabaseError):
                status_busy_end()


class _Run:
    """The run being imported: its counters, its log, and throttled progress writes."""

    def __init__(self, run: ImportRun, progress: Progress | None) -> None:
        self.run = run
        self.progress = progress
        self.written = 0.0

    def note(self, message: str) -> None:
        stamp = timezone.localtime().strftime("%H:%M:%S")
        self.run.log = (self.run.log + f"{stamp} {message}\n")[-20_000:]
        log.info("import %s: %s", self.run.source_name or self.run.url, message)

    def phase(self, name: str, total: int = 0) -> None:
        self.run.phase, self.run.done, self.run.total = name, 0, total
        self.save(force=True)

    def advance(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        self.run.done = done
        if total is not None:
            self.run.total = total
        self.save(force=force)

    def save(self, *, force: bool = False) -> None:
        # The page polls the row each second: a write every half second is plenty.
        now = time.monotonic()
        if force or now - self.written >= PROGRESS_EVERY:
            self.written = now
            self.run.heartbeat_at = timezone.now()
            self.run.save()
        if self.progress is not None:
            self.progress(self.run)

    def finish(self, status: str, error: str = "") -> ImportRun:
        self.run.in_flight = []
        self.run.status = status
        self.run.error = error
        self.run.phase = "done"
        self.run.finished_at = timezone.now()
        if error:
            self.note(error)
        self.save(force=True)
        _audit_outcome(self.run)
        return self.run


def _audit_outcome(run: ImportRun) -> None:
    """The audit says how an import ended (starting one is recorded when it is queued)."""
    ok = run.status in (ImportRun.Status.OK, ImportRun.Status.UNCHANGED)
    name = run.source_name or run.url
    if run.status == ImportRun.Status.UNCHANGED:
        said = f"{name}: same list as last time, its bans are still fresh; nothing sent"
    elif run.dry_run:
        said = f"{name}: dry run, {run.valid:,} addresses counted, nothing banned"
    elif ok:
        said = (
            f"{name}: {run.newly_banned:,} banned, {run.already_banned:,} already banned, "
            f"{run.skipped_total:,} skipped, in {run.jail}"
        )
    else:
        said = f"{name}: {run.get_status_display().lower()}: {run.error}"
    actor = Actor(user=None, username=run.username or "schedule", client_ip=run.client_ip)
    audit_record(
        actor=actor, action=Action.BLOCKLIST_IMPORT, target=name, ok=ok, result=said,
        params={"run": run.pk, "status": run.status},
    )  # fmt: skip


def _fresh_repeat(run: ImportRun, client: Fail2banClient, sha: str) -> ImportRun | None:
    """The earlier import of the same content whose bans are still fresh, if any."""
    if run.source_id is None:
        return None
    last = (
        ImportRun.objects.filter(
            source_id=run.source_id,
            jail=run.jail,
            sha256=sha,
            dry_run=False,
            status__in=[ImportRun.Status.OK, ImportRun.Status.UNCHANGED],
        )
        .exclude(pk=run.pk)
        .order_by("-finished_at")
        .first()
    )
    if last is None or last.finished_at is None:
        return None
    try:
        bantime = int(client.get(run.jail, "bantime"))
        banned = client.jail_status(run.jail, flavour="short").currently_banned
    except (Fail2banError, TypeError, ValueError):
        return None
    # Everything sent last time must still be banned (nobody unbanned them).
    if banned < last.newly_banned + last.already_banned:
        return None
    if bantime < 0 or timezone.now() - last.finished_at < timedelta(seconds=bantime / 2):
        return last
    return None


def import_run(
    run: ImportRun,
    *,
    seen: set[str] | None = None,
    client: Fail2banClient | None = None,
    progress: Progress | None = None,
) -> ImportRun:
    """Carry out one queued run; never raises for a bad list or fail2ban being down."""
    if client is None:
        own = get_client(persistent=True, timeout=30)
        try:
            return import_run(run, seen=seen, client=own, progress=progress)
        finally:
            own.close()
    state = _Run(run, progress)
    run.status, run.started_at = ImportRun.Status.RUNNING, timezone.now()
    state.phase("jail")
    with _Heartbeat(run) as heartbeat:
        return _import(state, client, seen, heartbeat)


def _import(
    state: _Run, client: Fail2banClient, seen: set[str] | None, heartbeat: _Heartbeat
) -> ImportRun:
    run = state.run
    cfg = AppSettings.current()
    bantime = run.source.bantime if run.source else None
    try:
        if run.dry_run:
            run.jail = jail_for(bantime)
        else:
            run.jail, notes = jail_ready(
                client=client,
                config_dir=cfg.fail2ban_config_dir,
                bantime=bantime,
            )
            for line in notes:
                state.note(line)
    except JailError as exc:
        return state.finish(ImportRun.Status.FAILED, str(exc))

    state.phase("download")
    state.note(f"downloading {run.url}")
    # Here, not at the top: the web process imports this module, and would load
    # requests with it (~5 MiB) only to show pages. The job cluster preloads it.
    from blocklists.fetch import fetch_list

    try:
        fetched = fetch_list(
            run.url,
            max_bytes=settings.BANGUI_BLOCKLIST_MAX_MB * 1024 * 1024,
            progress=lambda done, total: state.advance(done, total or 0),
            **FETCH_OPTIONS,  # type: ignore[arg-type]
        )
    except FetchError as exc:
        return state.finish(ImportRun.Status.FAILED, str(exc))
    run.sha256, run.size = fetched.sha256, fetched.size
    state.note(f"downloaded {fetched.size:,} bytes (SHA-256 {fetched.sha256[:12]}…)")

    if not run.dry_run:
        earlier = _fresh_repeat(run, client, fetched.sha256)
        if earlier is not None:
            run.newly_banned, run.already_banned = 0, 0
            when = timezone.localtime(earlier.finished_at).strftime("%Y-%m-%d %H:%M")
            state.note(
                f"same content as the import of {when}, whose bans are still fresh: "
                "nothing sent to fail2ban"
            )
            return state.finish(ImportRun.Status.UNCHANGED)

    state.phase("parse")
    parsed = parse_list(fetched.text, allow_networks=networks_supported(client, run.jail))
    run.lines, run.valid, run.invalid = parsed.lines, parsed.valid, parsed.invalid
    run.duplicates = parsed.duplicates
    skipped = dict(parsed.skipped)
    try:
        ignore = [str(x) for x in client.get(run.jail, "ignoreip") or []]
    except Fail2banError:
        ignore = []
    kept, dropped = filter_entries(
        parsed.entries, ignore=ignore, own=own_addresses([run.client_ip or ""])
    )
    for reason, n in dropped.items():
        skipped[reason] = skipped.get(reason, 0) + n
    if seen is not None:
        fresh = [ip for ip in kept if ip not in seen]
        if len(fresh) < len(kept):
            skipped[IN_EARLIER_SOURCE] = len(kept) - len(fresh)
        seen.update(fresh)
        kept = fresh
    run.skipped = skipped
    state.note(
        f"{parsed.lines:,} lines: {len(kept):,} to ban, {parsed.invalid:,} invalid, "
        f"{parsed.duplicates:,} duplicates, {sum(skipped.values()):,} skipped"
    )
    for number, line in parsed.samples_invalid[:5]:
        state.note(f"invalid line {number}: {line[:120]}")

    if run.dry_run:
        state.note(f"dry run: {len(kept):,} addresses would be sent to {run.jail}")
        return state.finish(ImportRun.Status.OK)
    heartbeat.banning = True
    heartbeat.beat()
    return _ban(state, client, kept)


def _ban(state: _Run, client: Fail2banClient, kept: list[str]) -> ImportRun:
    run = state.run
    state.phase("ban", total=len(kept))
    sent = 0

    def in_flight(batch: list[str]) -> None:
        # One write per batch: the counts of the batches done and the one now sent. If the
        # process dies, the reaper asks fail2ban about the batch still noted here.
        run.in_flight = batch
        state.save(force=True)

    try:
        for batch, newly in client.ban_batches(run.jail, kept, before_send=in_flight):
            sent += len(batch)
            run.newly_banned += newly
            run.already_banned += len(batch) - newly
            run.done = sent
    except (Fail2banError, ValueError) as exc:
        run.in_flight = []
        run.failed = len(kept) - sent
        state.note(f"sent {sent:,} of {len(kept):,} addresses before the error")
        status = ImportRun.Status.PARTIAL if sent else ImportRun.Status.FAILED
        _after_bans(state, kept[:sent])
        return state.finish(
            status,
            f"fail2ban stopped answering: {exc}. The {sent:,} bans already made stay; "
            "run the import again when fail2ban is back to send the rest.",
        )
    state.note(
        f"banned in {run.jail}: {run.newly_banned:,} new, {run.already_banned:,} already banned "
        "(their ban time starts again)"
    )
    _after_bans(state, kept)
    return state.finish(ImportRun.Status.OK)


def _after_bans(state: _Run, banned: list[str]) -> None:
    """Ask the job cluster for a history sync, which also pre-warms the geo cache.

    The sync archives the new bans and looks their countries up in one bulk
    lookup per chunk, stored in the geo cache (``jails.history._geo_of``): a
    separate pre-warm would look the same addresses up a second time. Not
    inline: the run is done once fail2ban holds the bans.
    """
    if not banned:
        return
    status_changed()  # the status bar and the dashboard count the new bans at once
    try:
        from django_q.tasks import async_task

        async_task("jails.tasks.history_sync", task_name="history_sync after an import")
    except Exception:  # the archive and the map fill in at the next sync tick anyway
        log.exception("could not queue a history sync after an import")
        return
    state.note("archiving the bans and looking up their countries in the background")


def import_runs(run_ids: list[int], *, progress: Progress | None = None) -> list[ImportRun]:
    """Carry out queued runs one after the other; a list seen earlier is not banned twice."""
    runs_reap()
    seen: set[str] = set()
    done = []
    client = get_client(persistent=True, timeout=30)
    try:
        for run in ImportRun.objects.filter(pk__in=run_ids, status=ImportRun.Status.QUEUED):
            done.append(import_run(run, seen=seen, client=client, progress=progress))
    finally:
        client.close()
    return done


def runs_queue(
    sources: list[BlocklistSource],
    *,
    actor: Actor,
    trigger: str,
    dry_run: bool = False,
) -> list[ImportRun]:
    """A queued run per source, in the order given (the page shows them at once)."""
    return [
        ImportRun.objects.create(
            source=source,
            source_name=source.name,
            url=source.url,
            trigger=trigger,
            username=actor.username[:150],
            client_ip=actor.client_ip,
            dry_run=dry_run,
        )
        for source in sources
    ]


def runs_start(runs: list[ImportRun]) -> None:
    """Hand queued runs to the job cluster (it imports them in the background)."""
    from django_q.tasks import async_task

    if runs:
        async_task(
            "blocklists.tasks.import_runs",
            [r.pk for r in runs],
            task_name=f"blocklist import ({len(runs)} source{'s' if len(runs) != 1 else ''})",
            timeout=IMPORT_TIMEOUT,
        )


def running_run(source: BlocklistSource) -> ImportRun | None:
    """A run of this source that is queued or running now (after reaping dead ones)."""
    runs_reap()
    return (
        ImportRun.objects.filter(
            source=source, status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING]
        )
        .order_by("-created_at")
        .first()
    )
