"""Services for blocklist sources: save, delete, and start imports by hand.

Each writes the audit log and keeps the source's next scheduled run right,
so views only turn requests into these calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from blocklists.models import BlocklistSource, ImportRun
from blocklists.scheduling import source_reschedule
from blocklists.services import running_run, runs_queue, runs_start
from jails.audit.services import Action, Actor, audit_record


def _save(*, actor: Actor, source: BlocklistSource, action: str) -> BlocklistSource:
    """Save a validated source, put its next import on its schedule, audit it."""
    with transaction.atomic():
        source.save()
        source_reschedule(source)
    params = {"url": source.url, "schedule": source.schedule, "enabled": source.enabled}
    audit_record(actor=actor, action=action, target=source.name, params=params)
    return source


def source_create(*, actor: Actor, source: BlocklistSource) -> BlocklistSource:
    """Save a new (validated, unsaved) source and schedule its first import."""
    return _save(actor=actor, source=source, action=Action.BLOCKLIST_ADD)


def source_update(*, actor: Actor, source: BlocklistSource) -> BlocklistSource:
    """Save a changed (validated) source; its next import follows the new schedule."""
    return _save(actor=actor, source=source, action=Action.BLOCKLIST_EDIT)


def source_delete(*, actor: Actor, source: BlocklistSource) -> str:
    """Forget a source; its bans stay and expire with their ban time, its runs stay listed."""
    name = source.name
    source.delete()
    audit_record(actor=actor, action=Action.BLOCKLIST_DELETE, target=name)
    return name


@dataclass
class ImportStart:
    started: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)


def imports_start(*, actor: Actor, sources: list[BlocklistSource]) -> ImportStart:
    """Queue an import of each source that is not importing already, and start them."""
    outcome = ImportStart()
    todo = []
    for source in sources:
        if running_run(source) is not None:
            outcome.busy.append(source.name)
        else:
            todo.append(source)
    if todo:
        runs = runs_queue(todo, actor=actor, trigger=ImportRun.Trigger.MANUAL)
        runs_start(runs)
        outcome.started = [s.name for s in todo]
        audit_record(
            actor=actor, action=Action.BLOCKLIST_IMPORT, target=", ".join(outcome.started),
            params={"runs": [r.pk for r in runs]},
            result=f"import queued for {', '.join(outcome.started)}; its outcome follows",
        )  # fmt: skip
    return outcome
