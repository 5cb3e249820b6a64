"""The one error tree of Écluse.

Every failure the product reports derives from `EcluseError`. Messages name the problem and
what to do about it; they never carry patient data, secrets or key material. Third-party
errors are wrapped at the boundary (`raise ... from e`) into one of the subtrees below.
"""

from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T")


class EcluseError(Exception):
    """Root of every error Écluse raises on purpose."""

    #: process exit status used by the CLI for this kind of error
    exit_code: int = 1

    def diagnostics(self) -> str:
        """A one-paragraph explanation for the CLI, free of patient data and secrets."""
        return str(self)


class ConfigurationError(EcluseError):
    """Settings, home directory or instance state are wrong (loose permissions, missing init)."""

    exit_code = 2


class ValidationError(EcluseError):
    """Input refused before anything was written."""

    exit_code = 2


class AuthenticationError(EcluseError):
    """Credentials missing, wrong or expired."""

    exit_code = 3


class PolicyViolation(EcluseError):
    """The action is forbidden by role, instruction or policy (deny by default)."""

    exit_code = 4


class IntegrityError(EcluseError):
    """Ciphertext, signature or audit chain failed verification."""

    exit_code = 5


class KeyManagerError(EcluseError):
    """The key manager is unreachable, locked, or refused an operation."""

    exit_code = 6


class StorageError(EcluseError):
    """The blob store or the database cannot do what was asked."""

    exit_code = 7


class DatabaseUnavailable(StorageError):
    """The metadata database cannot be reached."""


class AuditWriteError(StorageError):
    """An audit event could not be written, so the action it records did not happen."""


def present(value: _T | None, what: str) -> _T:
    """`value`, which the database's constraints guarantee; fail closed if it is missing."""
    if value is None:
        raise IntegrityError(f"{what} is missing: the database is inconsistent")
    return value
