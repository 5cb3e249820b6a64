"""The policy engine: applies a signed instruction's rules to records (row scope, allowed
fields and their transforms, free-text screening, credential refusal, volume stop). Pure: no
I/O; batches in, governed batches and findings out.
"""

from ecluse.policy.engine import CredentialsRefused, Engine, Findings, VolumeExceeded
from ecluse.policy.rules import FieldRule, Rules, Transform
from ecluse.policy.scope import scope_filter

__all__ = [
    "CredentialsRefused",
    "Engine",
    "FieldRule",
    "Findings",
    "Rules",
    "Transform",
    "VolumeExceeded",
    "scope_filter",
]
