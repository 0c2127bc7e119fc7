"""The geo cache: where every IP BanGUI has seen is located, kept between restarts."""

from __future__ import annotations

from django.db import models


class GeoCache(models.Model):
    """Country and network owner of one IP address, as last resolved.

    A failed lookup is kept too, with source ``none`` and an empty
    ``country_code``: the negative cache, retried after a few minutes and by the
    ``geo_re_resolve`` job. Addresses in special ranges (private, loopback, …)
    are stored with source ``private`` so they stop counting as "lacking geo";
    their label is derived from the address, never looked up.

    Rows are written in bulk only (``geo_cache_flush``, ``geo_resolve_many``):
    a page view marks entries dirty in memory and never writes one row per IP.
    """

    class Source(models.TextChoices):
        MMDB = "mmdb", "MaxMind database"
        HTTP = "http", "HTTP lookup"
        NONE = "none", "Not resolved"
        PRIVATE = "private", "Special range"

    # The address is the key: one row per IP, and the bulk upsert's
    # ON CONFLICT (ip) target. (A surrogate id would add an AUTOINCREMENT
    # counter update and a second b-tree to every insert: 100k rows took
    # 0.50 s that way against 0.40 s.)
    ip = models.GenericIPAddressField(primary_key=True)
    country_code = models.CharField(max_length=2, blank=True)
    country_name = models.CharField(max_length=100, blank=True)
    asn = models.PositiveBigIntegerField(null=True, blank=True)
    org = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.NONE)
    resolved_at = models.DateTimeField(help_text="When the lookup (or the failed attempt) ran.")
    last_seen = models.DateTimeField(help_text="When a page or job last asked for this IP.")

    class Meta:
        verbose_name = "geo cache entry"
        verbose_name_plural = "geo cache entries"
        # No index on resolved_at or last_seen: the re-resolve (hourly) and
        # cleanup (daily) jobs scan the table in well under a second at a
        # million rows, while the two indexes made every bulk upsert ~25 %
        # slower (100k rows: 0.70 s against 0.56 s).
        indexes = [
            # geo_re_resolve and the geo_resolve command: the few entries
            # whose lookup failed, oldest attempt first.
            models.Index(
                fields=["resolved_at"],
                condition=models.Q(source="none"),
                name="geo_cache_unresolved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ip} {self.country_code or '—'} ({self.source})"
