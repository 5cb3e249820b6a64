"""Écluse: governed, encrypted, self-deleting transfer of laboratory patient data.

The public surface is small: the CLI (`ecluse.cli`), settings (`ecluse.config`), the platform
assembly (`ecluse.instance.platform`) and the errors (`ecluse.errors`). Everything else is reached
through them.
"""

__version__ = "0.1.0"
