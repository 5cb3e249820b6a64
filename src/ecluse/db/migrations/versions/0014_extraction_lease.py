"""Extractions hold a lease while they run: the process that runs one (host:pid:nonce), when
its lease ends unless renewed, and the ids of the objects it is writing, so that a run whose
process died is recognised within a minute and what it half wrote is removed.

Revision ID: 0014
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("extractions") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(120), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("writing", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("extractions") as batch:
        batch.drop_column("writing")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
