"""Migration sign-off by the controller's dpo.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "migration_signoffs",
        sa.Column("instruction_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("kid", sa.String(32), nullable=False),
        sa.Column("report_sha256", sa.String(64), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instruction_id"],
            ["instructions.id"],
            name="fk_migration_signoffs_instruction_id_instructions",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_migration_signoffs_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("instruction_id", name="pk_migration_signoffs"),
    )


def downgrade() -> None:
    op.drop_table("migration_signoffs")
