"""initial schema: five source-of-truth tables

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

MS = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mariadb").with_variant(mysql.DATETIME(fsp=3), "mysql")

# properties.version goes up by one on every UPDATE that changes content, whoever writes it;
# a no-op upsert (an idempotent reload) leaves version and updated_at alone.
VERSIONED_COLUMNS = (
    "source", "host_id", "title", "description", "property_type", "room_type", "bedrooms", "beds",
    "bathrooms", "accommodates", "price", "currency", "city", "area", "neighbourhood", "latitude",
    "longitude", "amenities", "minimum_nights", "availability_365", "number_of_reviews",
    "review_score", "last_review", "status",
)
UNCHANGED = " AND ".join(f"NEW.`{c}` <=> OLD.`{c}`" for c in VERSIONED_COLUMNS)
VERSION_TRIGGER = (
    "CREATE TRIGGER properties_bump_version BEFORE UPDATE ON properties FOR EACH ROW "
    f"SET NEW.version = OLD.version + IF({UNCHANGED}, 0, 1)"
)


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('guest', 'host', 'agent', 'admin', name='user_role'), server_default='guest', nullable=False),
    sa.Column('source', sa.String(length=32), server_default='api', nullable=False),
    sa.Column('created_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.Column('updated_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email'),
    mysql_auto_increment='4611686018427387904',
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_users_role', 'users', ['role'], unique=False)
    op.create_table('properties',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=32), server_default='api', nullable=False),
    sa.Column('host_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', mysql.MEDIUMTEXT(), nullable=True),
    sa.Column('property_type', sa.String(length=100), nullable=True),
    sa.Column('room_type', sa.String(length=50), nullable=False),
    sa.Column('bedrooms', sa.SmallInteger(), nullable=True),
    sa.Column('beds', sa.SmallInteger(), nullable=True),
    sa.Column('bathrooms', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('accommodates', sa.SmallInteger(), nullable=True),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('area', sa.String(length=100), nullable=True),
    sa.Column('neighbourhood', sa.String(length=100), nullable=False),
    sa.Column('latitude', sa.Numeric(precision=10, scale=7), nullable=False),
    sa.Column('longitude', sa.Numeric(precision=10, scale=7), nullable=False),
    sa.Column('amenities', sa.JSON(), nullable=True),
    sa.Column('minimum_nights', sa.Integer(), nullable=True),
    sa.Column('availability_365', sa.SmallInteger(), nullable=True),
    sa.Column('number_of_reviews', sa.Integer(), nullable=True),
    sa.Column('review_score', sa.Numeric(precision=3, scale=2), nullable=True),
    sa.Column('last_review', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('active', 'inactive', 'deleted', name='listing_status'), server_default='active', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.Column('updated_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    mysql_auto_increment='4611686018427387904',
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    op.create_index('ft_properties_title_description', 'properties', ['title', 'description'], unique=False, mysql_prefix='FULLTEXT')
    op.create_index('ix_properties_area_neighbourhood', 'properties', ['city', 'area', 'neighbourhood'], unique=False)
    op.create_index('ix_properties_host_id', 'properties', ['host_id'], unique=False)
    op.create_index('ix_properties_status', 'properties', ['status'], unique=False)
    op.create_index('ix_properties_updated_at', 'properties', ['updated_at'], unique=False)
    op.create_table('user_profiles',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('preferences', sa.JSON(), nullable=True),
    sa.Column('saved_searches', sa.JSON(), nullable=True),
    sa.Column('home_location', sa.String(length=255), nullable=True),
    sa.Column('home_latitude', sa.Numeric(precision=10, scale=7), nullable=True),
    sa.Column('home_longitude', sa.Numeric(precision=10, scale=7), nullable=True),
    sa.Column('host_since', sa.Date(), nullable=True),
    sa.Column('is_superhost', sa.Boolean(), nullable=True),
    sa.Column('created_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.Column('updated_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    op.create_table('inquiries',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('property_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('new', 'answered', 'closed', name='inquiry_status'), server_default='new', nullable=False),
    sa.Column('created_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.Column('updated_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.ForeignKeyConstraint(['property_id'], ['properties.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    op.create_index('ix_inquiries_property_created', 'inquiries', ['property_id', 'created_at'], unique=False)
    op.create_index('ix_inquiries_user_created', 'inquiries', ['user_id', 'created_at'], unique=False)
    op.create_table('property_images',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('property_id', sa.BigInteger(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('position', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('caption', sa.String(length=500), nullable=True),
    sa.Column('checksum', sa.String(length=64), nullable=True),
    sa.Column('created_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.Column('updated_at', MS, server_default=sa.text('CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)'), nullable=False),
    sa.ForeignKeyConstraint(['property_id'], ['properties.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('property_id', 'position', name='uq_property_images_position'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    op.execute(VERSION_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS properties_bump_version")
    for table in ("property_images", "inquiries", "user_profiles", "properties", "users"):
        op.drop_table(table)
