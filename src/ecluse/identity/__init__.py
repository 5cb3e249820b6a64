"""Organisations and named accounts, their roles, and one-time enrolment codes.

Every account is one named person. This package grows the password policy, TOTP, lockout,
API tokens and SSH keys; for now it creates the platform organisation and the first admin.
"""

from ecluse.identity.accounts import Role, create_account, create_organisation

__all__ = ["Role", "create_account", "create_organisation"]
