"""booking funnel counts

How many booking conversations first reached each step, per business and day (``/stats``).
Numbers only: no user, chat or answer. Counting starts with this revision: conversations
before it are not in the table.

Revision ID: 0007_s7_funnel
Revises: 0006_s7_biz17
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_s7_funnel"
down_revision: str | None = "0006_s7_biz17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "funnel_counts",
        sa.Column("business_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_funnel_counts_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "day", "step", name=op.f("pk_funnel_counts")),
    )


def downgrade() -> None:
    op.drop_table("funnel_counts")
