"""Every audited action, tagged `"source:subject:action"`."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    INSTANCE_INIT = "cli:instance:init"
    ORG_CREATE = "identity:organisation:create"
    ACCOUNT_CREATE = "identity:account:create"
    ACCOUNT_ENROL = "identity:account:enrol"
    ENROL_REFUSED = "identity:account:enrol-refused"
    # action tags, not passwords (bandit's B105 guesses from the word "token")
    TOKEN_ISSUE = "identity:token:issue"  # nosec B105
    TOKEN_REVOKE = "identity:token:revoke"  # nosec B105
    AUTH_REFUSED = "identity:token:refused"
    PERMISSION_DENIED = "identity:permission:denied"
    PASSWORD_SET = "identity:password:set"  # nosec B105
    TOTP_START = "identity:totp:start"
    TOTP_ENABLE = "identity:totp:enable"
    RECOVERY_RENEW = "identity:recovery-codes:renew"
    ACCOUNT_UNLOCK = "identity:account:unlock"
    SSH_KEY_ADD = "identity:ssh-key:add"
    SSH_KEY_REVOKE = "identity:ssh-key:revoke"
    REQUEST_REFUSED = "cli:request:refused"  # by any channel (the tag predates the servers)
    SESSION_OPEN = "identity:session:open"
    SESSION_CLOSE = "identity:session:close"
    LOGIN_REFUSED = "identity:login:refused"
    SERVER_START = "server:instance:start"
    SFTP_OPEN = "server:sftp:open"
    SFTP_CLOSE = "server:sftp:close"
    SFTP_REFUSED = "server:sftp:refused"
    AGREEMENT_CREATE = "governance:agreement:create"
    AGREEMENT_SIGN = "governance:agreement:sign"
    INSTRUCTION_CREATE = "governance:instruction:create"
    INSTRUCTION_SIGN = "governance:instruction:sign"
    INSTRUCTION_REVOKE = "governance:instruction:revoke"
    RECIPIENT_KEY_ADD = "packages:recipient-key:add"
    RECIPIENT_KEY_REVOKE = "packages:recipient-key:revoke"
    EXTRACTION_START = "packages:extraction:start"
    EXTRACTION_DONE = "packages:extraction:done"
    EXTRACTION_FAILED = "packages:extraction:failed"
    PACKAGE_LIST = "packages:package:list"
    PACKAGE_DOWNLOAD = "packages:package:download"
    PACKAGE_REFUSED = "packages:package:refused"
    RECEIPT_CONFIRM = "packages:receipt:confirm"
    RECEIPT_MISMATCH = "packages:receipt:mismatch"
    PACKAGE_SHRED = "packages:package:shred"
    MIGRATION_REPORT = "governance:migration:report"
    MIGRATION_SIGN_OFF = "governance:migration:sign-off"
    ALERT_RAISE = "supervision:alert:raise"
    ALERT_REPEAT = "supervision:alert:repeat"
    ALERT_ACKNOWLEDGE = "supervision:alert:acknowledge"
    ALERT_RESOLVE = "supervision:alert:resolve"
    ALERT_ESCALATE = "supervision:alert:escalate"
    ALERT_DELIVER = "supervision:alert:deliver"
    ALERT_CONTACT_SET = "supervision:contact:set"
    SECURITY_REPORT_FILE = "supervision:security-report:file"
    SECURITY_REPORT_READ = "supervision:security-report:read"
    LEAK_TRACE = "breach:leak:trace"
    SUPERVISION_REPORT = "supervision:report:write"
    SIGNING_KEY_REGISTER = "crypto:signing-key:register"
    KEK_ROTATE = "crypto:kek:rotate"
    KEK_DESTROY = "crypto:kek:destroy"
    BLOB_PUT = "store:blob:put"
    BLOB_READ = "store:blob:read"
    BLOB_SHRED = "store:blob:shred"
    AUDIT_VERIFY = "audit:log:verify"
    AUDIT_EXPORT = "audit:log:export"
    AUDIT_PURGE = "audit:log:purge"
    SELFCHECK = "cli:instance:selfcheck"
    # recovery within a minute (issue 15, item 9): a run whose process died
    EXTRACTION_ABANDONED = "packages:extraction:abandoned"
    # issue 15 item 5: a trail nobody can cut (the witness log)
    AUDIT_WITNESS_START = "audit:witness:start"
    # issue 15 item 1: separation of duties (two-person rule on health-data roles)
    ROLE_APPROVE = "identity:role:approve"
    ROLE_REFUSE = "identity:role:refuse"
    SECURITY_CONTACT_SET = "identity:security-contact:set"
    # issue 15 item 4: tenant isolation
    PLATFORM_AUDITOR_GRANT = "cli:platform-auditor:grant"
    PLATFORM_AUDITOR_WITHDRAW = "cli:platform-auditor:withdraw"
    # issue 15 item 2 (step-up) and item 3 (account lifecycle)
    STEP_UP_REFUSED = "identity:step-up:refused"
    ACCOUNT_DISABLE = "identity:account:disable"
    CREDENTIALS_REVOKE = "identity:credentials:revoke"
    # issue 15 item 7: a download counts from its first byte
    PACKAGE_DOWNLOAD_START = "packages:package:download-start"
