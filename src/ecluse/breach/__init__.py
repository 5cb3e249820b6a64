"""Breach handling: tracing a leaked sample back to the packages it came from.

Owns `trace` (keyed row digests and canary rows of every package against a sample, in
memory only) and the incident alerts it opens for each controller concerned.
"""

from ecluse.breach.trace import TraceMatch, read_sample, trace

__all__ = ["TraceMatch", "read_sample", "trace"]
