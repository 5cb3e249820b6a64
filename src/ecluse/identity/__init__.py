"""Organisations and named accounts, their roles and permissions, one-time enrolment codes,
and scoped, expiring API tokens (stored as hashes). Every account is one named person.
Credentials: passwords under the CNIL 2022-100 rules, hashed with Argon2id; TOTP (secret
sealed by the key manager) with single-use recovery codes; logins throttled per account
(delay after 5 failures, lock after 10) and per address. Login sessions with an idle timeout;
SSH public keys; service accounts owned by a named person. Health data only after a second
factor, and a health-data role only once another person with authority approved it
(`approvals`).
"""

from ecluse.identity.accounts import create_account, create_organisation, enrol
from ecluse.identity.permissions import require
from ecluse.identity.tokens import Principal, authenticate, issue, revoke
from ecluse.kinds import OrgKind, Permission, Role

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
