"""A job for the request-ID tests: it logs a line and writes an audit row, as real jobs do."""

from __future__ import annotations

import logging

from jails.audit.services import Action, Actor, audit_record


def log_and_audit(target: str) -> str:
    logging.getLogger("jails.tests.jobprobe").info("probe job ran for %s", target)
    event = audit_record(actor=Actor.system(), action=Action.BAN, target=target, result="probe")
    return event.request_id
