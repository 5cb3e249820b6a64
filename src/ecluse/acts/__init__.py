"""Acts that every channel (CLI, HTTPS, SFTP) performs the same way: the service call, its
audit event in the same transaction, and the audit of a refusal. Callers authenticate and
check the permission first (`ecluse.access`).

- `governance`: agreements, instructions, packages and recipient keys.
- `identity`: organisations, accounts, enrolment, logins, tokens, credentials.
"""

from ecluse.acts.governance import (
    add_recipient_key,
    draft_instruction,
    list_packages,
    propose_agreement,
    revoke_instruction,
    revoke_recipient_key,
    sign_agreement,
    sign_instruction,
)

__all__ = [
    "add_recipient_key",
    "draft_instruction",
    "list_packages",
    "propose_agreement",
    "revoke_instruction",
    "revoke_recipient_key",
    "sign_agreement",
    "sign_instruction",
]
