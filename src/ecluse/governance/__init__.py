"""Governance: the data dictionary of laboratory patient exports (and, next, agreements,
signed instructions and records of processing). Pure data and rules, no I/O.
"""

from ecluse.governance.dictionary import (
    DICTIONARY,
    Category,
    FieldDef,
    HeaderMapping,
    map_headers,
)

__all__ = ["DICTIONARY", "Category", "FieldDef", "HeaderMapping", "map_headers"]
