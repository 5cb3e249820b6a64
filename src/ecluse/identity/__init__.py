"""Organisations and named accounts, their roles and permissions, one-time enrolment codes,
and scoped, expiring API tokens (stored as hashes). Every account is one named person.
The password rules (CNIL 2022-100) with Argon2id hashing, and one-time codes (TOTP) with
recovery codes, are here as building blocks.

Next (issue 4): passwords and TOTP on accounts, throttling and lockout, SSH keys.
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
