"""Synthetic datasets shaped like the leaked laboratory file: valid NIRs consistent with each
person, French names and places, care pools, comments naming pathologies and leaking
identifiers, portal credentials. For demonstrations, tests and benchmarks; no real person.
"""

from ecluse.synth.generate import HEADERS, synthesise, write_export
from ecluse.synth.nir import is_valid_nir

__all__ = ["HEADERS", "is_valid_nir", "synthesise", "write_export"]
