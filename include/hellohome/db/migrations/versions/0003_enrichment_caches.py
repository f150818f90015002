"""enrichment caches: embeddings by content hash, third-party answers by rounded location

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

MS = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mariadb").with_variant(mysql.DATETIME(fsp=3), "mysql")
TABLE = dict(mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_collate="utf8mb4_unicode_ci")


# Column names: Debezium's MariaDB DDL parser refuses `hash` and `vector` as column names (it stopped
# the connector on this very table), so even tables it does not capture avoid them.


def upgrade() -> None:
    op.create_table(
        "embedding_cache",
        sa.Column("content_hash", sa.CHAR(64), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("dim", sa.SmallInteger(), nullable=False),
        sa.Column("embedding", sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"), nullable=False),
        sa.Column("created_at", MS, server_default=sa.text("CURRENT_TIMESTAMP(3)"), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
        **TABLE,
    )
    op.create_table(
        "provider_cache",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("geo_key", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("fetched_at", MS, nullable=False),
        sa.Column("expires_at", MS, nullable=False),
        sa.PrimaryKeyConstraint("provider", "geo_key"),
        **TABLE,
    )


def downgrade() -> None:
    op.drop_table("provider_cache")
    op.drop_table("embedding_cache")
