"""Organisations and named accounts, their roles and permissions, one-time enrolment codes,
and scoped, expiring API tokens (stored as hashes). Every account is one named person.

Next (issue 4): password policy, TOTP, throttling and lockout, SSH keys.
"""

from ecluse.identity.accounts import OrgKind, Role, create_account, create_organisation, enrol
from ecluse.identity.permissions import Permission, require
from ecluse.identity.tokens import Principal, authenticate, issue, revoke

__all__ = [
    "OrgKind",
    "Permission",
    "Principal",
    "Role",
    "authenticate",
    "create_account",
    "create_organisation",
    "enrol",
    "issue",
    "require",
    "revoke",
]
