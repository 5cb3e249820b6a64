"""What each role may do, as data. Anything not listed is denied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from ecluse.errors import PolicyViolation
from ecluse.kinds import Permission, Role

P = Permission
#: the admin manages the platform and never touches health data (separation of duties)
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(
            {
                P.ORG_MANAGE,
                P.ACCOUNT_MANAGE,
                P.DIRECTORY_READ,
                P.TOKEN_SELF,
                P.KEYS_MANAGE,
                P.ALERT_READ,
                P.ALERT_HANDLE,
                P.CONCERN_FILE,
                P.METRICS_READ,
            }
        ),
        Role.DPO: frozenset(
            {
                P.DIRECTORY_READ,
                P.TOKEN_SELF,
                P.AGREEMENT_SIGN,
                P.INSTRUCTION_SIGN,
                P.REPORT_READ,
                P.REPORT_SIGN_OFF,
                P.AUDIT_READ,
                P.ALERT_READ,
                P.ALERT_HANDLE,
                P.CONCERN_FILE,
            }
        ),
        Role.OPERATOR: frozenset(
            {P.TOKEN_SELF, P.AGREEMENT_SIGN, P.EXTRACTION_RUN, P.CONCERN_FILE}
        ),
        Role.RECIPIENT: frozenset(
            {P.TOKEN_SELF, P.PACKAGE_DOWNLOAD, P.RECEIPT_CONFIRM, P.RECIPIENT_KEYS, P.CONCERN_FILE}
        ),
        Role.AUDITOR: frozenset(
            {
                P.DIRECTORY_READ,
                P.TOKEN_SELF,
                P.REPORT_READ,
                P.AUDIT_READ,
                P.ALERT_READ,
                P.CONCERN_FILE,
                P.METRICS_READ,
            }
        ),
        # every organisation's trail and reports, nothing else (docs/adr/0010); like any
        # member of staff, it may file a security concern
        Role.PLATFORM_AUDITOR: frozenset(
            {P.DIRECTORY_READ, P.TOKEN_SELF, P.REPORT_READ, P.AUDIT_READ, P.CONCERN_FILE}
        ),
    }
)
HEALTH_DATA = frozenset({P.EXTRACTION_RUN, P.PACKAGE_DOWNLOAD, P.RECEIPT_CONFIRM})


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """What the roles in effect (approved ones only) permit; every account manages its own
    credentials, so a person whose roles still wait for approval can enrol and set a factor,
    and every person may file a security concern (whoever sees a flaw reports it)."""
    granted: set[Permission] = {P.TOKEN_SELF, P.CONCERN_FILE}
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def require(granted: frozenset[Permission], needed: Permission) -> None:
    """Deny by default: raise unless `needed` was granted."""
    if needed not in granted:
        hint = (
            "health data needs a second factor: `ecluse totp enable`, or log in with your code"
            if needed in HEALTH_DATA
            else "ask your organisation's admin"
        )
        raise PolicyViolation(f"not permitted: {needed.value} ({hint})")
