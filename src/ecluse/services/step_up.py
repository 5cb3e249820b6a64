"""Step-up: an act that commits the organisation (signing an agreement, an instruction or a
migration's sign-off, revoking an instruction, adding a recipient key) needs a fresh code of
the person's second factor in the same request, whatever the credential already passed.

The code is checked and spent in a transaction of its own, before the act: a code passes once,
even if the act is then refused. A missing, wrong or replayed code is audited and refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ecluse.audit import Action
from ecluse.errors import PolicyViolation
from ecluse.identity import Principal
from ecluse.identity.credentials import step_up
from ecluse.instance.platform import Platform

REFUSED = (
    "this act needs a fresh code from your authenticator app (or a recovery code), "
    "given with the request: --code, or totp_code"
)


def confirm_presence(
    platform: Platform, p: Principal, code: str | None, *, command: str, **refs: str
) -> None:
    """Return if `code` is a fresh second-factor code of `p`'s person; else audit, refuse."""
    with platform.db.transaction() as s:
        passed = step_up(s, platform.keys, p.account_id, code, now=datetime.now(UTC))
    if passed:
        return
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.STEP_UP_REFUSED,
            refs={"command": command, **{k: v[:60] for k, v in refs.items()}},
            details={"code_given": bool(code), "via": p.via},
        )
    raise PolicyViolation(REFUSED)
