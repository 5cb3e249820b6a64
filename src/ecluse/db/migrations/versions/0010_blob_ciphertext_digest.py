"""Blobs no longer record a SHA-256 of their ciphertext: nothing read it, and every segment
of an object is already authenticated (AES-GCM, bound to the object's id, the last segment
marked), which a digest kept beside the file added nothing to.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE blobs DROP COLUMN ciphertext_sha256")


def downgrade() -> None:
    op.add_column("blobs", sa.Column("ciphertext_sha256", sa.String(64), nullable=True))
