"""webhook inbox: each update_id handled once across workers

Revision ID: 0005_s7many18_webhook_inbox
Revises: 0004_s7_follow_news_answered
Create Date: 2026-12-02 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005_s7many18_webhook_inbox"
down_revision: str | None = "0004_s7_follow_news_answered"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("received_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_webhook_updates")),
    )
    op.create_index(
        "ix_webhook_updates_lease_until", "webhook_updates", ["lease_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_updates_lease_until", table_name="webhook_updates")
    op.drop_table("webhook_updates")
