"""Separation of duties: a role that reaches health data takes effect once approved by a
person of the organisation with authority (`account_roles.approved_at`, `approved_by`); a
processor's or recipient's designated security contact (`organisations.security_contact_id`).
Roles granted before this revision are kept as approved (recorded as by this migration).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_roles") as batch:
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(254), nullable=True))
    op.execute(
        "UPDATE account_roles SET approved_at = CURRENT_TIMESTAMP, approved_by = 'migration:0011'"
    )
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("security_contact_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("security_contact_id")
    op.execute("DELETE FROM account_roles WHERE approved_at IS NULL")
    with op.batch_alter_table("account_roles") as batch:
        batch.drop_column("approved_by")
        batch.drop_column("approved_at")
