"""Governance: instructions (Art. 29).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=f"fk_instructions_{column}_{table}"
    )


def upgrade() -> None:
    op.create_table(
        "instructions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agreement_id", sa.String(36), nullable=False),
        sa.Column("controller_id", sa.String(36), nullable=False),
        sa.Column("recipient_id", sa.String(36), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_pseudonym_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("signed_by", sa.String(36), nullable=True),
        sa.Column("signed_at", TZ, nullable=True),
        sa.Column("kid", sa.String(32), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("revoked_by", sa.String(36), nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revoke_reason", sa.String(500), nullable=True),
        _fk("agreement_id", "agreements"),
        _fk("controller_id", "organisations"),
        _fk("recipient_id", "organisations"),
        _fk("created_by", "accounts"),
        _fk("signed_by", "accounts"),
        _fk("revoked_by", "accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_instructions"),
    )
    for column in ("agreement_id", "controller_id", "recipient_id", "kek_version"):
        op.create_index(f"ix_instructions_{column}", "instructions", [column])


def downgrade() -> None:
    op.drop_table("instructions")
