"""Supervision: alert handling (grouping, escalation, changes with reasons), deliveries to
sinks, detector cursor and memory, staff security reports (never deleted), organisations'
working hours.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
_NO_DELETE = "security reports are never deleted"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("working_hours", sa.String(80), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("group_key", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("occurrences", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("last_seen_at", TZ, nullable=True))
        batch.add_column(sa.Column("level", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("level_since", TZ, nullable=True))
        batch.add_column(sa.Column("acknowledged_at", TZ, nullable=True))
        batch.add_column(sa.Column("resolved_at", TZ, nullable=True))
        batch.create_index("ix_alerts_group_key", ["group_key"])
    op.create_table(
        "alert_changes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=False),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        _fk("alert_changes", "alert_id", "alerts"),
        _fk("alert_changes", "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_changes"),
    )
    op.create_index("ix_alert_changes_alert_id", "alert_changes", ["alert_id"])
    op.create_table(
        "alert_contacts",
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        _fk("alert_contacts", "organisation_id", "organisations"),
        _fk("alert_contacts", "account_id", "accounts"),
        sa.PrimaryKeyConstraint("organisation_id", "level", name="pk_alert_contacts"),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("sink", sa.String(20), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("last_error", sa.String(100), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        _fk("alert_deliveries", "alert_id", "alerts"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
    )
    for column in ("alert_id", "state", "next_attempt_at"):
        op.create_index(f"ix_alert_deliveries_{column}", "alert_deliveries", [column])
    op.create_table(
        "supervision_cursors",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_ts", sa.String(32), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_supervision_cursors"),
    )
    # the detectors start at the chain's head: history before the upgrade is not re-judged
    op.execute(
        "INSERT INTO supervision_cursors (name, seq, event_ts, updated_at) "
        "SELECT 'detectors', COALESCE(MAX(seq), 0), NULL, CURRENT_TIMESTAMP FROM audit_events"
    )
    op.create_table(
        "detector_memory",
        sa.Column("detector", sa.String(40), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("detector", "key", name="pk_detector_memory"),
    )
    op.create_index("ix_detector_memory_expires_at", "detector_memory", ["expires_at"])
    op.create_table(
        "security_reports",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("reporter_id", sa.String(36), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("body_blob_id", sa.String(36), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        _fk("security_reports", "organisation_id", "organisations"),
        _fk("security_reports", "reporter_id", "accounts"),
        _fk("security_reports", "body_blob_id", "blobs"),
        _fk("security_reports", "alert_id", "alerts"),
        sa.PrimaryKeyConstraint("id", name="pk_security_reports"),
    )
    op.create_index("ix_security_reports_organisation_id", "security_reports", ["organisation_id"])
    _forbid_deletion()


def _forbid_deletion() -> None:
    """Nobody, not even the database's owner through the app, deletes a security report."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ecluse_security_reports_kept() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_NO_DELETE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER security_reports_kept BEFORE DELETE OR TRUNCATE ON security_reports "
            "FOR EACH STATEMENT EXECUTE FUNCTION ecluse_security_reports_kept()"
        )
    else:
        op.execute(
            "CREATE TRIGGER security_reports_kept BEFORE DELETE ON security_reports "
            f"BEGIN SELECT RAISE(ABORT, '{_NO_DELETE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER security_reports_kept ON security_reports")
        op.execute("DROP FUNCTION ecluse_security_reports_kept()")
    else:
        op.execute("DROP TRIGGER security_reports_kept")
    for table in (
        "security_reports",
        "detector_memory",
        "supervision_cursors",
        "alert_deliveries",
        "alert_contacts",
        "alert_changes",
    ):
        op.drop_table(table)
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_group_key")
        for column in (
            "resolved_at",
            "acknowledged_at",
            "level_since",
            "level",
            "last_seen_at",
            "occurrences",
            "group_key",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("working_hours")
