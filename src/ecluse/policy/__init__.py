"""The policy engine: applies a signed instruction to records (scope, fields, transforms,
screening, volume). Pure: no I/O. This first part compiles row scopes to Polars filters.
"""

from ecluse.policy.scope import scope_filter

__all__ = ["scope_filter"]
