"""A token's and an SSH key's second factor, fixed when it was made; failed attempts kept by
kind (login, enrolment, step-up) and by subject (the digest of the e-mail typed, or the
account), for the 24-hour throttling of logins and the per-address throttling of enrolments.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("api_tokens", "ssh_keys"):  # made before: no second factor, whatever since
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("second_factor", sa.Boolean(), nullable=False, server_default=sa.false())
            )
    with op.batch_alter_table("login_failures") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="login"))
        batch.add_column(sa.Column("subject", sa.String(64), nullable=True))
    op.create_index("ix_login_failures_subject", "login_failures", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_subject", table_name="login_failures")
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_column("subject")
        batch.drop_column("kind")
    for table in ("api_tokens", "ssh_keys"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("second_factor")
