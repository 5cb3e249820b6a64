"""Organisations' registry numbers (FINESS for a controller, SIRET otherwise) and login
sessions with an idle timeout.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("finess", sa.String(9), nullable=True))
        batch.add_column(sa.Column("siret", sa.String(14), nullable=True))
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("second_factor", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_login_sessions_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_login_sessions"),
    )


def downgrade() -> None:
    op.drop_table("login_sessions")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("siret")
        batch.drop_column("finess")
