"""The steps of a batch lookup, and the process-wide state they share.

``geo.selectors`` (page views: memory, database, MaxMind, no writes) and
``geo.services`` (jobs and ingest: MaxMind first, then writes) put these
steps together in their own order. Invalid input never gets past ``classify``
and special ranges never get past it either: only valid public addresses reach
the MaxMind reader or the HTTP fallback.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import maxminddb

from geo import conf
from geo.addresses import canonical_v4_label, network_address, parse_ip
from geo.health import clear_error
from geo.info import GeoInfo
from geo.lookup import counts
from geo.lookup.httpfallback import HttpFallback
from geo.lookup.memory import GeoMemoryCache
from geo.lookup.mmdb import asn_db, country_db, country_of, forget_files, network_of

_LOOKUP_ERRORS = (ValueError, maxminddb.InvalidDatabaseError)
GC_PAUSE_THRESHOLD = 10_000


@dataclass
class _State:
    memory: GeoMemoryCache
    http: HttpFallback | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_state: _State | None = None
_state_lock = threading.Lock()


def state() -> _State:
    global _state
    if _state is None:
        with _state_lock:
            if _state is None:
                _state = _State(GeoMemoryCache(conf.cache_size()))
    return _state


def memory() -> GeoMemoryCache:
    return state().memory


def memory_if_started() -> GeoMemoryCache | None:
    """The memory tier, or None when this process has not looked anything up."""
    st = _state
    return st.memory if st is not None else None


def reset_state() -> None:
    """Forget everything this process holds: memory tier, readers, HTTP client, last error."""
    global _state
    with _state_lock:
        _state = None
    forget_files()
    clear_error()
    counts.reset()


def http_client() -> HttpFallback | None:
    """The HTTP fallback client, or None when the fallback is off."""
    if not conf.http_fallback():
        return None
    st = state()
    url = conf.http_url()
    with st.lock:
        if st.http is None or st.http.url != url:
            st.http = HttpFallback(url)
        return st.http


@dataclass
class Batch:
    """Input sorted out.

    ``todo`` maps each valid public IP (canonical text) to the address to look
    up; ``done`` holds the answers that need no lookup (invalid input, special
    ranges), keyed by the input; ``aliases`` maps input that was not already
    canonical (" 1.2.3.4", "2001:DB8::1") to its canonical IP.
    """

    todo: dict[str, str]
    done: dict[str, GeoInfo]
    aliases: dict[str, str]
    alias_only: set[str]  # canonical IPs that were only given through an alias

    def answer(self, found: dict[str, GeoInfo]) -> dict[str, GeoInfo]:
        """Results keyed by the input strings, as callers passed them (reuses ``found``)."""
        for raw, ip in self.aliases.items():
            found[raw] = found[ip]
        for ip in self.alias_only:
            del found[ip]
        found.update(self.done)
        return found


Miss = tuple[str, str, int | None, str]  # IP, address to look up, ASN and owner if known


@contextlib.contextmanager
def no_gc_pauses(size: int) -> Iterator[None]:
    """Hold off the cycle collector while a big batch builds its (acyclic) results.

    A 100k batch keeps ~500k new tuples alive, which makes the collector scan
    the whole heap again and again: 20-30 % of the batch's time, to find no
    cycles. Reference counting still frees everything; the collector runs
    again right after (and stays as it was if someone else had turned it off).
    """
    if size < GC_PAUSE_THRESHOLD or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def classify(ips: Iterable[str]) -> Batch:
    todo: dict[str, str] = {}
    done: dict[str, GeoInfo] = {}
    aliases: dict[str, str] = {}
    alias_only: set[str] = set()
    for raw in ips:
        if raw in todo:
            alias_only.discard(raw)  # asked for itself too, after an alias of it
            continue
        if raw in done or raw in aliases:
            continue
        if type(raw) is str and canonical_v4_label(raw) == "":
            todo[raw] = raw  # the common case: canonical public IPv4, looked up as is
            alias_only.discard(raw)
            continue
        parsed = parse_ip(raw) or network_address(raw)
        if parsed is None:
            done[raw] = GeoInfo(ip=str(raw)[:64], source="invalid", special="invalid")
        elif parsed.special:
            done[raw] = GeoInfo(ip=parsed.text, source="private", special=parsed.special)
        elif parsed.text == raw:
            todo[raw] = parsed.lookup
            alias_only.discard(raw)
        else:
            aliases[raw] = parsed.text
            if parsed.text not in todo:
                todo[parsed.text] = parsed.lookup
                alias_only.add(parsed.text)
    return Batch(todo, done, aliases, alias_only)


def from_mmdb(todo: Iterable[tuple[str, str]]) -> tuple[dict[str, GeoInfo], list[Miss]]:
    """Country (and ASN) of ``(ip, lookup address)`` pairs from the MaxMind files.

    Returns the hits, and the misses with any ASN found. This loop is the
    bulk path's hot spot, hence the local names and the inlined checks.
    """
    cfile, afile = country_db(), asn_db()
    creader = cfile.reader()
    areader = afile.reader() if afile else None
    cget = creader.get if creader is not None else None
    aget = areader.get if areader is not None else None
    hits: dict[str, GeoInfo] = {}
    misses: list[Miss] = []
    for ip, lookup in todo:
        code, name, asn, org = "", "", None, ""
        # A corrupt data section fails one lookup: that IP stays unresolved.
        if cget is not None:
            try:
                code, name = country_of(cget(lookup))
            except _LOOKUP_ERRORS as exc:
                cfile.note_lookup_error(exc)
        if aget is not None and afile is not None:
            try:
                asn, org = network_of(aget(lookup))
            except _LOOKUP_ERRORS as exc:
                afile.note_lookup_error(exc)
        if code:
            hits[ip] = GeoInfo(ip, code, name, asn, org, "mmdb", True)
        else:
            misses.append((ip, lookup, asn, org))
    return hits, misses


def from_http(
    misses: Sequence[Miss],
    *,
    wait: bool,
    deadline: float | None = None,
) -> tuple[dict[str, GeoInfo], dict[str, GeoInfo]]:
    """Ask the HTTP fallback (if on) about MaxMind's misses.

    Returns ``(answered, unanswered)``: an answered IP has the service's
    verdict (resolved or not); an unanswered one was not asked (fallback off,
    rate limit, error) and keeps what MaxMind knew (its ASN, maybe).
    """
    client = http_client()
    answered: dict[str, GeoInfo] = {}
    unanswered: dict[str, GeoInfo] = {}
    replies = (
        client.lookup([ip for ip, _, _, _ in misses], wait=wait, deadline=deadline)
        if client is not None and misses
        else {}
    )
    for ip, _, asn, org in misses:
        if ip not in replies:
            unanswered[ip] = GeoInfo(ip, asn=asn, org=org)
            continue
        reply = replies[ip]
        if reply is None:
            answered[ip] = GeoInfo(ip, asn=asn, org=org)
        else:
            answered[ip] = GeoInfo(
                ip,
                reply.country_code,
                reply.country_name,
                reply.asn if reply.asn is not None else asn,
                reply.org or org,
                "http",
                True,
            )
    return answered, unanswered
