"""Every audited action, tagged `"source:subject:action"`."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    INSTANCE_INIT = "cli:instance:init"
    ACCOUNT_CREATE = "identity:account:create"
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
