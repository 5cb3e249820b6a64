"""Packages: recipients' public keys, extractions, packages, alerts.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, key: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{key}"], name=f"fk_{table}_{column}_{target}"
    )


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "recipient_keys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("added_by", sa.String(36), nullable=False),
        sa.Column("added_at", TZ, nullable=False),
        sa.Column("revoked_by", sa.String(36), nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        _fk("recipient_keys", "organisation_id", "organisations"),
        _fk("recipient_keys", "added_by", "accounts"),
        _fk("recipient_keys", "revoked_by", "accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_recipient_keys"),
        sa.UniqueConstraint("fingerprint", name="uq_recipient_keys_fingerprint"),
    )
    _indexes("recipient_keys", "organisation_id")
    op.create_table(
        "extractions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("instruction_id", sa.String(36), nullable=False),
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("source_bytes", sa.BigInteger(), nullable=True),
        sa.Column("quarantine_id", sa.String(36), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        _fk("extractions", "instruction_id", "instructions"),
        _fk("extractions", "operator_id", "accounts"),
        _fk("extractions", "quarantine_id", "blobs"),
        sa.PrimaryKeyConstraint("id", name="pk_extractions"),
    )
    _indexes("extractions", "instruction_id", "state")
    op.create_table(
        "packages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("extraction_id", sa.String(36), nullable=False),
        sa.Column("instruction_id", sa.String(36), nullable=False),
        sa.Column("recipient_id", sa.String(36), nullable=False),
        sa.Column("blob_id", sa.String(36), nullable=False),
        sa.Column("digests_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("plaintext_sha256", sa.String(64), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(32), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_trace_key", sa.LargeBinary(), nullable=True),
        sa.Column("canaries", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("deadline_at", TZ, nullable=False),
        sa.Column("receipt_by", sa.String(36), nullable=True),
        sa.Column("receipt_at", TZ, nullable=True),
        sa.Column("receipt_rows", sa.BigInteger(), nullable=True),
        sa.Column("receipt_sha256", sa.String(64), nullable=True),
        sa.Column("shred_at", TZ, nullable=True),
        sa.Column("shredded_at", TZ, nullable=True),
        sa.Column("shred_reason", sa.String(40), nullable=True),
        _fk("packages", "extraction_id", "extractions"),
        _fk("packages", "instruction_id", "instructions"),
        _fk("packages", "recipient_id", "organisations"),
        _fk("packages", "blob_id", "blobs"),
        _fk("packages", "digests_id", "blobs"),
        _fk("packages", "kid", "signing_keys", key="kid"),
        _fk("packages", "receipt_by", "accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_packages"),
        sa.UniqueConstraint("extraction_id", name="uq_packages_extraction_id"),
    )
    _indexes(
        "packages",
        "instruction_id",
        "recipient_id",
        "state",
        "kek_version",
        "deadline_at",
        "shred_at",
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        _fk("alerts", "organisation_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    _indexes("alerts", "kind", "state", "organisation_id")


def downgrade() -> None:
    for table in ("alerts", "packages", "extractions", "recipient_keys"):
        op.drop_table(table)
