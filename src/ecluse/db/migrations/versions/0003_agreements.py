"""Governance: personal signing keys, agreements and their signatures.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "personal_keys",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("kid", sa.String(32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_seed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_personal_keys_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_personal_keys"),
        sa.UniqueConstraint("kid", name="uq_personal_keys_kid"),
    )
    op.create_index("ix_personal_keys_kek_version", "personal_keys", ["kek_version"])
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("controller_id", sa.String(36), nullable=False),
        sa.Column("processor_id", sa.String(36), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("terms_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["controller_id"],
            ["organisations.id"],
            name="fk_agreements_controller_id_organisations",
        ),
        sa.ForeignKeyConstraint(
            ["processor_id"], ["organisations.id"], name="fk_agreements_processor_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name="fk_agreements_created_by_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agreements"),
    )
    op.create_index("ix_agreements_controller_id", "agreements", ["controller_id"])
    op.create_index("ix_agreements_processor_id", "agreements", ["processor_id"])
    op.create_table(
        "agreement_signatures",
        sa.Column("agreement_id", sa.String(36), nullable=False),
        sa.Column("party", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("kid", sa.String(32), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name="fk_agreement_signatures_agreement_id_agreements",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_agreement_signatures_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("agreement_id", "party", name="pk_agreement_signatures"),
    )


def downgrade() -> None:
    for table in ("agreement_signatures", "agreements", "personal_keys"):
        op.drop_table(table)
