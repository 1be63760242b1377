"""news answered: whether a customer answered about a business's news

A preferences row is also written when only the reminders are switched, so its existence does
not say the customer answered about news. Rows from before news was opt-in (news was on by
default) count as answered when news is off, the customer's explicit no; a news "on" there was
the default, so it is not taken as a yes: the customer is asked once, and gets no news until
they answer.

Revision ID: 0004_s7_follow_news_answered
Revises: 0003_s7_rel14
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_s7_follow_news_answered"
down_revision: str | None = "0003_s7_rel14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_preferences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("news_answered", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    preferences = sa.table(
        "delivery_preferences", sa.column("news", sa.Boolean()), sa.column("news_answered")
    )
    op.execute(
        preferences.update().where(preferences.c.news.is_(sa.false())).values(news_answered=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("delivery_preferences", schema=None) as batch_op:
        batch_op.drop_column("news_answered")
