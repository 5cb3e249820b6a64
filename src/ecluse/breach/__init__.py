"""Breach handling: tracing a leaked sample back to the packages it came from.

Owns `trace` (keyed row digests and canary rows of every package against a sample, in
memory only) and `matching` (the evidence rule); the services record a trace and open its
incident alerts (`ecluse.services.breach`).
"""

from ecluse.breach.trace import TraceMatch, candidates, match_package, read_sample

__all__ = ["TraceMatch", "candidates", "match_package", "read_sample"]
