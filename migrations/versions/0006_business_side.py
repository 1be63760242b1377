"""business side

Roles granted in the database, blocked users, the append-only audit log, muted notices, users'
@usernames, the local calendar's closures, claims of phoned-in bookings.

Revision ID: 0006_s7_biz17
Revises: 0005_s7many18_webhook_inbox
Create Date: 2026-12-02 00:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0006_s7_biz17"
down_revision: str | None = "0005_s7many18_webhook_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: UPDATE and DELETE on the audit log are refused by the database itself.
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]
_POSTGRES_TRIGGERS = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "at",
            storage.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)
    op.create_table(
        "blocked_users",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("blocked_by", sa.BigInteger(), nullable=False),
        sa.Column("blocked_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_blocked_users")),
    )
    op.create_table(
        "notice_mutes",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("business_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "business_id", "kind", name=op.f("pk_notice_mutes")),
    )
    with op.batch_alter_table("admins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("staff_name", sa.String(length=200), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_username"), ["username"], unique=False)
    op.create_table(
        "local_closures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("start_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_local_closures_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["local_staff.id"],
            name=op.f("fk_local_closures_staff_id_local_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_closures")),
    )
    with op.batch_alter_table("local_slot_claims", schema=None) as batch_op:
        batch_op.alter_column("appointment_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("closure_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_local_slot_claims_closure_id"), ["closure_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_local_slot_claims_closure_id_local_closures"),
            "local_closures",
            ["closure_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_table(
        "booking_claims",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_claims_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_booking_claims")),
    )
    triggers = (
        _POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    )
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DELETE FROM local_slot_claims WHERE closure_id IS NOT NULL")
    with op.batch_alter_table("local_slot_claims", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_local_slot_claims_closure_id_local_closures"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_local_slot_claims_closure_id"))
        batch_op.drop_column("closure_id")
        batch_op.alter_column("appointment_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("local_closures")
    op.drop_table("booking_claims")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_username"))
        batch_op.drop_column("username")
    with op.batch_alter_table("admins", schema=None) as batch_op:
        batch_op.drop_column("staff_name")
        batch_op.drop_column("granted_by")
    op.drop_table("notice_mutes")
    op.drop_table("blocked_users")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")
    op.drop_table("audit_log")
