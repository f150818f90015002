"""SQLAlchemy models of the five source-of-truth tables (utf8mb4, InnoDB).

Ids are BIGINT and never pass through a float. Imported and generated rows keep ids below
``AUTO_ID_START``; rows created through the API take AUTO_INCREMENT ids from there, so a later
import or generation can never collide with them.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.mysql import DATETIME, MEDIUMBLOB, MEDIUMTEXT
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

AUTO_ID_START = 2**62  # first id handed out by AUTO_INCREMENT
GENERATED_ID_START = 3 * 10**18  # `hellohome generate` uses GENERATED_ID_START + n
TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


MS_TIMESTAMP = DateTime().with_variant(DATETIME(fsp=3), "mysql", "mariadb")  # millisecond precision
CREATED = dict(server_default=text("CURRENT_TIMESTAMP(3)"), nullable=False)
UPDATED = dict(server_default=text("CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)"), nullable=False)


class Role(enum.StrEnum):
    guest = "guest"
    host = "host"
    agent = "agent"
    admin = "admin"


class ListingStatus(enum.StrEnum):
    active = "active"
    inactive = "inactive"
    deleted = "deleted"


class InquiryStatus(enum.StrEnum):
    new = "new"
    answered = "answered"
    closed = "closed"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=True, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_role", "role"), {**TABLE_ARGS, "mysql_auto_increment": str(AUTO_ID_START)})

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"), nullable=False, server_default=Role.guest.value)
    source: Mapped[str] = mapped_column(String(32), nullable=False, server_default="api")
    created_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **CREATED)
    updated_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **UPDATED)

    profile: Mapped[UserProfile | None] = relationship(back_populates="user", passive_deletes=True)


class UserProfile(Base):
    __tablename__ = "user_profiles"
    __table_args__ = (TABLE_ARGS,)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    bio: Mapped[str | None] = mapped_column(Text)
    preferences: Mapped[dict | None] = mapped_column(JSON)
    saved_searches: Mapped[list | None] = mapped_column(JSON)
    home_location: Mapped[str | None] = mapped_column(String(255))
    home_latitude: Mapped[decimal.Decimal | None] = mapped_column(Numeric(10, 7))
    home_longitude: Mapped[decimal.Decimal | None] = mapped_column(Numeric(10, 7))
    host_since: Mapped[dt.date | None] = mapped_column(Date)
    is_superhost: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **CREATED)
    updated_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **UPDATED)

    user: Mapped[User] = relationship(back_populates="profile")


class Property(Base):
    __tablename__ = "properties"
    __table_args__ = (
        Index("ix_properties_host_id", "host_id"),
        Index("ix_properties_status", "status"),
        Index("ix_properties_updated_at", "updated_at"),
        Index("ix_properties_area_neighbourhood", "city", "area", "neighbourhood"),
        Index("ft_properties_title_description", "title", "description", mysql_prefix="FULLTEXT"),
        {**TABLE_ARGS, "mysql_auto_increment": str(AUTO_ID_START)},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False, server_default="api")
    host_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str | None] = mapped_column(MEDIUMTEXT)
    property_type: Mapped[str | None] = mapped_column(String(100))
    room_type: Mapped[str] = mapped_column(String(50), nullable=False)
    bedrooms: Mapped[int | None] = mapped_column(SmallInteger)
    beds: Mapped[int | None] = mapped_column(SmallInteger)
    bathrooms: Mapped[decimal.Decimal | None] = mapped_column(Numeric(4, 1))
    accommodates: Mapped[int | None] = mapped_column(SmallInteger)
    price: Mapped[decimal.Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    city: Mapped[str] = mapped_column(String(100), nullable=False)
    area: Mapped[str | None] = mapped_column(String(100))
    neighbourhood: Mapped[str] = mapped_column(String(100), nullable=False)
    latitude: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 7), nullable=False)
    longitude: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 7), nullable=False)
    amenities: Mapped[list | None] = mapped_column(JSON)
    minimum_nights: Mapped[int | None] = mapped_column(Integer)
    availability_365: Mapped[int | None] = mapped_column(SmallInteger)
    number_of_reviews: Mapped[int | None] = mapped_column(Integer)
    review_score: Mapped[decimal.Decimal | None] = mapped_column(Numeric(3, 2))
    last_review: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[ListingStatus] = mapped_column(
        _enum(ListingStatus, "listing_status"), nullable=False, server_default=ListingStatus.active.value
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **CREATED)
    updated_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **UPDATED)

    images: Mapped[list[PropertyImage]] = relationship(
        back_populates="property", order_by="PropertyImage.position", passive_deletes=True
    )


class PropertyImage(Base):
    __tablename__ = "property_images"
    __table_args__ = (UniqueConstraint("property_id", "position", name="uq_property_images_position"), TABLE_ARGS)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    property_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("properties.id", ondelete="CASCADE"), nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    caption: Mapped[str | None] = mapped_column(String(500))
    checksum: Mapped[str | None] = mapped_column(String(64))  # sha256 of the fetched bytes
    created_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **CREATED)
    updated_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **UPDATED)

    property: Mapped[Property] = relationship(back_populates="images")


class Inquiry(Base):
    __tablename__ = "inquiries"
    __table_args__ = (
        Index("ix_inquiries_property_created", "property_id", "created_at"),
        Index("ix_inquiries_user_created", "user_id", "created_at"),
        TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    property_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("properties.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[InquiryStatus] = mapped_column(
        _enum(InquiryStatus, "inquiry_status"), nullable=False, server_default=InquiryStatus.new.value
    )
    created_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **CREATED)
    updated_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **UPDATED)


class ApiKey(Base):
    """API keys for writes and admin: only a sha256 of the secret is stored; `prefix` finds the row."""

    __tablename__ = "api_keys"
    __table_args__ = (TABLE_ARGS,)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[str] = mapped_column(String(100), nullable=False)  # comma-separated: write,admin
    created_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **CREATED)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(MS_TIMESTAMP)


class EmbeddingCache(Base):
    """sha256(model id, text) -> vector (float32 bytes): unchanged text is never embedded twice."""

    __tablename__ = "embedding_cache"
    __table_args__ = (TABLE_ARGS,)

    # not `hash`/`vector`: Debezium's DDL parser stops the connector on those names (migration 0003)
    content_hash: Mapped[str] = mapped_column(CHAR(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(200), nullable=False)
    dim: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    embedding: Mapped[bytes] = mapped_column(LargeBinary().with_variant(MEDIUMBLOB(), "mysql", "mariadb"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, **CREATED)


class ProviderCache(Base):
    """Third-party answers (or failures) per provider and rounded location, until expires_at."""

    __tablename__ = "provider_cache"
    __table_args__ = (TABLE_ARGS,)

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    geo_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
    fetched_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(MS_TIMESTAMP, nullable=False)


class ProviderCalls(Base):
    """Requests made to a third-party API per UTC day: what its daily quota is checked against."""

    __tablename__ = "provider_calls"
    __table_args__ = (TABLE_ARGS,)

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, nullable=False)


# Columns whose change must bump properties.version (the trigger; checked by test_migrations).
PROPERTY_CONTENT_COLUMNS = tuple(
    c.name for c in Property.__table__.columns if c.name not in ("id", "version", "created_at", "updated_at")
)
