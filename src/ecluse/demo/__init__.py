"""`ecluse demo`: the 2020-21 migration again, with Écluse in the way (`play`), played by its
cast (`cast`): the laboratories' network, the old and the new vendor, their people."""

from ecluse.demo.cast import FIELDS_A, cast_of, instruct, recipient_key
from ecluse.demo.play import run_demo

__all__ = ["FIELDS_A", "cast_of", "instruct", "recipient_key", "run_demo"]
