"""Passwords, TOTP secrets, recovery codes, failed logins by address, SSH public keys,
service accounts (kind, owner, expiry).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="person"))
        batch.add_column(sa.Column("owner_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_accounts_owner_id_accounts", "accounts", ["owner_id"], ["id"])
    op.create_table(
        "credentials",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kek_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_totp_secret", sa.LargeBinary(), nullable=True),
        sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_credentials_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_credentials"),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_recovery_codes_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", "digest", name="pk_recovery_codes"),
    )
    op.create_table(
        "login_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_address", "login_failures", ["address"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.create_table(
        "ssh_keys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("algorithm", sa.String(40), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(60), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_ssh_keys_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ssh_keys"),
        sa.UniqueConstraint("fingerprint", name="uq_ssh_keys_fingerprint"),
    )
    op.create_index("ix_ssh_keys_account_id", "ssh_keys", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_ssh_keys_account_id", table_name="ssh_keys")
    op.drop_table("ssh_keys")
    op.drop_index("ix_login_failures_at", table_name="login_failures")
    op.drop_index("ix_login_failures_address", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("recovery_codes")
    op.drop_table("credentials")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("fk_accounts_owner_id_accounts", type_="foreignkey")
        batch.drop_column("expires_at")
        batch.drop_column("owner_id")
        batch.drop_column("kind")
