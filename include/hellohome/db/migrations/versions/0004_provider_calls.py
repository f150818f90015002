"""provider_calls: third-party requests per provider and UTC day (the daily quota's ledger)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TABLE = dict(mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_collate="utf8mb4_unicode_ci")


def upgrade() -> None:
    op.create_table(
        "provider_calls",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "day"),
        **TABLE,
    )


def downgrade() -> None:
    op.drop_table("provider_calls")
