"""Who may do what: three roles, and one table that says which role each page needs.

- **viewer** sees everything and changes nothing;
- **operator** also bans and unbans, edits the runtime ignore lists, starts
  blocklist imports, stops and starts jails;
- **admin** also changes the configuration, server settings, blocklist
  sources, reloads and restarts fail2ban, manages users, uses the Django admin.

The table is checked on the server for every request (``RoleMiddleware``),
by URL name: a page not named here needs a viewer to read (GET, HEAD) and an
admin to change anything (any other method). So a new page is safe until
someone decides it is for operators. Templates hide what a role cannot do
(``can`` in every page's context); the server refuses it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"


RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Pages any logged-in user may use whatever the method: their own session and account.
ANY_ROLE = frozenset(
    {
        "logout",
        "account",
        "account_password",
        "account_totp",
        "account_totp_disable",
        "account_recovery_codes",
        "config_recovery_dismiss",  # hides a banner for this session only
        "status_bar",
    }
)
# What operators may change (any method but GET/HEAD/OPTIONS).
OPERATOR = frozenset(
    {
        "ban_new",
        "unban",
        "unban_all",
        "jail_stop",
        "jail_start",
        "jail_idle",
        "ignore_add",
        "ignore_remove",
        "ignoreself_set",
        "blocklist_import",
        "blocklist_import_all",
    }
)
# Pages whose GET already is an operator's tool (a form only operators can submit).
OPERATOR_PAGES = frozenset({"ban_new", "unban_all"})
# Pages whose GET already is an admin's tool (an edit form, the users).
ADMIN_PAGES = frozenset(
    {
        "config_file_new",
        "config_file_edit",
        "config_filter_new",
        "blocklist_edit",
        "users",
        "user_new",
        "user_edit",
        # Alerts: channel targets and rules are an admin's business, the list too.
        "alerts",
        "alert_channel_edit",
        "alert_rule_edit",
        "alert_notifications",
    }
)


@dataclass(frozen=True)
class Can:
    """What the current user's role allows, for templates (``{% if can.operate %}``)."""

    role: str

    @property
    def operate(self) -> bool:
        return RANK.get(Role(self.role), 0) >= RANK[Role.OPERATOR] if self.role else False

    @property
    def administer(self) -> bool:
        return self.role == Role.ADMIN


def user_role(user: AbstractBaseUser | AnonymousUser) -> str:
    """The role of a logged-in, active user; "" for anybody else."""
    if not user.is_authenticated or not getattr(user, "is_active", False):
        return ""
    profile = getattr(user, "bangui_profile", None)
    if profile is not None:
        return str(profile.role)
    # A user made outside BanGUI (createsuperuser) without a profile.
    return Role.ADMIN if getattr(user, "is_superuser", False) else Role.VIEWER


def required_role(url_name: str, method: str, *, admin_site: bool = False) -> Role | None:
    """The least role a request needs; None when any logged-in user may."""
    if admin_site:
        return Role.ADMIN
    if url_name in ANY_ROLE:
        return None
    if url_name in ADMIN_PAGES:
        return Role.ADMIN
    if method in SAFE_METHODS:
        return Role.OPERATOR if url_name in OPERATOR_PAGES else Role.VIEWER
    return Role.OPERATOR if url_name in OPERATOR else Role.ADMIN


def allows(role: str, needed: Role | None) -> bool:
    if needed is None:
        return bool(role)
    return bool(role) and RANK[Role(role)] >= RANK[needed]
