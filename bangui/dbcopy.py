"""Copy an SQLite install's data into the configured (PostgreSQL) database.

``manage.py copy_to_postgres /var/lib/bangui/bangui.sqlite3`` runs with the
new database configured and migrated. Every table of every installed app is
copied as it is (ids included, so links between rows hold), in one
transaction, then the id sequences are moved past the copied ids so that new
rows insert. Rows are written with a plain ``INSERT`` of each field's database
value: ``bulk_create`` would stamp ``auto_now_add`` fields (an audit row's
time, a ban's sync time) with the time of the copy.

Left out, and why:
- content types and permissions: ``migrate`` made them in the new database,
  under other ids maybe; rows pointing at them (group permissions, the admin's
  log) are mapped by natural key (app, model, codename).
- sessions: everyone logs in again, on the new database.
- django-q2's queue, task results and schedules: ``sync_schedules`` (run at
  every start) writes the schedules again; old results are not data.
- the instance lock: it belongs to the running processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.migrations.recorder import MigrationRecorder

SOURCE = "bangui_copy_source"
BATCH = 5_000
SKIPPED_APPS = frozenset({"sessions", "django_q"})
SKIPPED_MODELS = frozenset({"contenttypes.contenttype", "auth.permission", "bangui.instancelock"})


class CopyError(Exception):
    """The copy cannot start; the message says what to do."""


@dataclass
class CopyResult:
    rows: dict[str, int] = field(default_factory=dict)
    # Rows left out because they point at a model or permission the new database lacks.
    dropped: dict[str, int] = field(default_factory=dict)


def open_source(path: Path) -> None:
    """Make the SQLite file at ``path`` the connection ``SOURCE`` (read only)."""
    if not path.is_file():
        raise CopyError(f"{path}: no such file")
    uri = f"file:{path}?mode=ro"
    config = connections.configure_settings(
        {DEFAULT_DB_ALIAS: {"ENGINE": "django.db.backends.sqlite3", "NAME": uri}}
    )[DEFAULT_DB_ALIAS]
    config["OPTIONS"] = {"uri": True}
    connections.settings[SOURCE] = config


def copied_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed
        and not model._meta.proxy
        and model._meta.app_label not in SKIPPED_APPS
        and model._meta.label_lower not in SKIPPED_MODELS
    ]


def _check(target: str) -> None:
    if connections[target].vendor != "postgresql":
        raise CopyError(
            "the configured database is not PostgreSQL: set BANGUI_DB_ENGINE=postgres "
            "and the BANGUI_DB_* variables (docs/postgresql.md)"
        )
    src = set(MigrationRecorder(connections[SOURCE]).applied_migrations())
    dst = set(MigrationRecorder(connections[target]).applied_migrations())
    if not dst:
        raise CopyError("the PostgreSQL database is not migrated yet: run manage.py migrate")
    if src != dst:
        missing = sorted(f"{a}.{n}" for a, n in dst - src)[:5]
        extra = sorted(f"{a}.{n}" for a, n in src - dst)[:5]
        raise CopyError(
            "the two databases are at different migrations; migrate the SQLite file with "
            "the same BanGUI version first"
            + (f" (the SQLite file lacks {', '.join(missing)})" if missing else "")
            + (f" (PostgreSQL lacks {', '.join(extra)})" if extra else "")
        )
    user_model = apps.get_model("auth", "User")
    ban_model = apps.get_model("jails", "BanRecord")
    if user_model.objects.using(target).exists() or ban_model.objects.using(target).exists():
        raise CopyError(
            "the PostgreSQL database already holds users or archived bans; copy into an empty one"
        )


def _id_maps(target: str) -> dict[type[models.Model], dict[Any, Any]]:
    """Source id → target id of content types and permissions, by natural key."""
    cts = {(ct.app_label, ct.model): ct.pk for ct in ContentType.objects.using(target).order_by()}
    ct_map = {
        ct.pk: cts[(ct.app_label, ct.model)]
        for ct in ContentType.objects.using(SOURCE).order_by()
        if (ct.app_label, ct.model) in cts
    }
    perms: dict[tuple[int | None, str], int] = {
        (p.content_type_id, p.codename): p.pk for p in Permission.objects.using(target).order_by()
    }
    perm_map: dict[Any, Any] = {}
    for p in Permission.objects.using(SOURCE).order_by():
        key = (ct_map.get(p.content_type_id), p.codename)
        if key in perms:
            perm_map[p.pk] = perms[key]
    return {ContentType: ct_map, Permission: perm_map}


def _rows(
    model: type[models.Model],
    fields: list[models.Field[Any, Any]],
    maps: dict[type[models.Model], dict[Any, Any]],
    dropped: Callable[[], None],
) -> Iterator[list[Any]]:
    mapped = [
        (i, maps[f.related_model])  # type: ignore[index]  # "self" is never in maps
        for i, f in enumerate(fields)
        if f.related_model in maps
    ]
    target = connections[DEFAULT_DB_ALIAS]
    source_rows = (
        model._base_manager.using(SOURCE)
        .order_by(model._meta.pk.attname)
        .values_list(*(f.attname for f in fields))
        .iterator(chunk_size=BATCH)
    )
    for row in source_rows:
        values = list(row)
        for i, id_map in mapped:
            if values[i] is not None:
                values[i] = id_map.get(values[i])
                if values[i] is None:
                    break
        else:
            yield [
                f.get_db_prep_save(v, connection=target)
                for f, v in zip(fields, values, strict=True)
            ]
            continue
        dropped()


def _copy_model(
    model: type[models.Model], maps: dict[type[models.Model], dict[Any, Any]], result: CopyResult
) -> None:
    target = connections[DEFAULT_DB_ALIAS]
    qn = target.ops.quote_name
    fields = list(model._meta.concrete_fields)
    label = model._meta.label_lower

    def drop() -> None:
        result.dropped[label] = result.dropped.get(label, 0) + 1

    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        qn(model._meta.db_table),
        ", ".join(qn(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    batch: list[list[Any]] = []
    copied = 0
    with target.cursor() as cursor:
        for values in _rows(model, fields, maps, drop):
            batch.append(values)
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                copied += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            copied += len(batch)
    result.rows[label] = copied


def copy_from_sqlite(
    path: Path, *, progress: Callable[[str, int], None] | None = None
) -> CopyResult:
    """Copy every BanGUI table from the SQLite file ``path`` into the default database."""
    open_source(path)
    try:
        _check(DEFAULT_DB_ALIAS)
        target = connections[DEFAULT_DB_ALIAS]
        chosen = copied_models()
        result = CopyResult()
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            # Whatever the first start wrote (settings rows, schedules' status) goes:
            # the copy is the whole state.
            tables = [m._meta.db_table for m in chosen]
            flush = target.ops.sql_flush(no_style(), tables, allow_cascade=True)
            target.ops.execute_sql_flush(flush)
            maps = _id_maps(DEFAULT_DB_ALIAS)
            for model in chosen:
                _copy_model(model, maps, result)
                if progress is not None:
                    progress(model._meta.label_lower, result.rows[model._meta.label_lower])
            with target.cursor() as cursor:
                for statement in target.ops.sequence_reset_sql(no_style(), chosen):
                    cursor.execute(statement)
        return result
    finally:
        connections[SOURCE].close()
        del connections[SOURCE]  # a later copy from another file gets a new connection
        del connections.settings[SOURCE]
