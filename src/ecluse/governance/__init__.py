"""Governance vocabulary: the data dictionary of laboratory patient exports (fields, their
categories and kinds, header mapping), the scope language, and signed-document validation.
Pure data and rules, no I/O; the policy engine and the mandates build on it.
"""

from ecluse.governance.dictionary import (
    DICTIONARY,
    Category,
    FieldDef,
    HeaderMapping,
    map_headers,
)

__all__ = ["DICTIONARY", "Category", "FieldDef", "HeaderMapping", "map_headers"]
