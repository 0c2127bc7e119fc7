from __future__ import annotations

from alerts import services
from alerts.models import Channel, Rule
from alerts.tests.receivers import HookServer


def webhook(hooks: HookServer, name: str = "hook", path: str = "/hook") -> Channel:
    return services.channel_save(
        channel=Channel(name=name, kind="webhook", target=hooks.url(path)), secret="k3y"
    )


def rule(event: str, channels: list[Channel], **fields: object) -> Rule:
    return services.rule_save(
        rule=Rule(name=fields.pop("name", event), event=event, **fields), channels=channels
    )
