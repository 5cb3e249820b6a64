"""The encrypted blob store: the `BlobStore` role, its local-filesystem implementation, and
key rotation over the stored objects. Only ciphertext is ever written to disk.
"""

from ecluse.store.interfaces import BlobInfo, BlobStore, BlobWriter
from ecluse.store.local import LocalBlobStore

__all__ = ["BlobInfo", "BlobStore", "BlobWriter", "LocalBlobStore"]
