"""API writes: validated models and the single-row statements behind them. They go to MariaDB only;
the CDC indexer carries every change to search."""
from __future__ import annotations

import datetime as dt
import decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hellohome.db.models import Inquiry, ListingStatus, Property, PropertyImage, Role, User, UserProfile
from hellohome.errors import Conflict, Invalid, NotFound

Id = Annotated[int, Field(gt=0, lt=2**63)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Money = Annotated[decimal.Decimal, Field(ge=0, le=decimal.Decimal("9999999999.99"), decimal_places=2)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PropertyFields(Model):
    title: Annotated[Text, Field(max_length=500)] = None
    description: Annotated[str, Field(max_length=100_000)] | None = None
    property_type: Annotated[Text, Field(max_length=100)] | None = None
    room_type: Annotated[Text, Field(max_length=50)] = None
    bedrooms: Annotated[int, Field(ge=0, le=100)] | None = None
    beds: Annotated[int, Field(ge=0, le=200)] | None = None
    bathrooms: Annotated[decimal.Decimal, Field(ge=0, le=100, decimal_places=1)] | None = None
    accommodates: Annotated[int, Field(ge=1, le=500)] | None = None
    price: Money | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = None
    city: Annotated[Text, Field(max_length=100)] = None
    area: Annotated[Text, Field(max_length=100)] | None = None
    neighbourhood: Annotated[Text, Field(max_length=100)] = None
    latitude: Annotated[decimal.Decimal, Field(ge=-90, le=90, decimal_places=7)] = None
    longitude: Annotated[decimal.Decimal, Field(ge=-180, le=180, decimal_places=7)] = None
    amenities: Annotated[list[Annotated[Text, Field(max_length=100)]], Field(max_length=200)] | None = None
    minimum_nights: Annotated[int, Field(ge=1, le=10_000)] | None = None
    availability_365: Annotated[int, Field(ge=0, le=366)] | None = None
    status: ListingStatus | None = None


REQUIRED_ON_CREATE = ("title", "room_type", "currency", "city", "neighbourhood", "latitude", "longitude")


class PropertyCreate(PropertyFields):
    host_id: Id

    @model_validator(mode="after")
    def _required(self):
        missing = [f for f in REQUIRED_ON_CREATE if getattr(self, f) is None]
        if missing:
            raise ValueError(f"required: {', '.join(missing)}")
        return self


class PropertyPatch(PropertyFields):
    expected_version: int | None = Field(None, ge=1, description="refuse (409) unless the row is at this version")

    @model_validator(mode="after")
    def _not_nulling_required(self):
        nulled = [f for f in REQUIRED_ON_CREATE if f in self.model_fields_set and getattr(self, f) is None]
        if nulled:
            raise ValueError(f"cannot be null: {', '.join(nulled)}")
        if not self.model_fields_set - {"expected_version"}:
            raise ValueError("nothing to change")
        return self


class ImageCreate(Model):
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)]
    position: Annotated[int, Field(ge=0, le=1000)] | None = None
    caption: Annotated[str, Field(max_length=500)] | None = None


class UserCreate(Model):
    email: EmailStr
    name: Annotated[Text, Field(max_length=255)]
    role: Role = Role.guest


class ProfileUpdate(Model):
    bio: Annotated[str, Field(max_length=10_000)] | None = None
    home_location: Annotated[str, Field(max_length=255)] | None = None
    home_latitude: Annotated[decimal.Decimal, Field(ge=-90, le=90)] | None = None
    home_longitude: Annotated[decimal.Decimal, Field(ge=-180, le=180)] | None = None
    is_superhost: bool | None = None
    host_since: dt.date | None = None


class InquiryCreate(Model):
    property_id: Id
    user_id: Id
    message: Annotated[Text, Field(max_length=5_000)]


def _exists(conn, column, value) -> bool:
    return conn.execute(select(column).where(column == value)).first() is not None


def create_property(engine: Engine, body: PropertyCreate) -> dict:
    values = body.model_dump(exclude_none=True)
    with engine.begin() as conn:
        if not _exists(conn, User.id, body.host_id):
            raise Invalid("host_id", f"no user {body.host_id}")
        new_id = conn.execute(insert(Property).values(source="api", **values)).inserted_primary_key[0]
    return {"id": str(new_id), "version": 1}


def patch_property(engine: Engine, listing_id: int, body: PropertyPatch) -> dict:
    values = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    with engine.begin() as conn:
        row = conn.execute(select(Property.version, Property.status).where(Property.id == listing_id)
                           .with_for_update()).first()
        if row is None or row.status is ListingStatus.deleted:
            raise NotFound(f"listing {listing_id} does not exist")
        if body.expected_version is not None and row.version != body.expected_version:
            raise Conflict(f"listing {listing_id} is at version {row.version}, not {body.expected_version}")
        conn.execute(update(Property).where(Property.id == listing_id).values(**values))
        version = conn.execute(select(Property.version).where(Property.id == listing_id)).scalar_one()
    return {"id": str(listing_id), "version": version}


def delete_property(engine: Engine, listing_id: int) -> None:
    """Soft delete: the row stays (inquiries keep their listing), search drops it."""
    with engine.begin() as conn:
        done = conn.execute(update(Property).where(Property.id == listing_id, Property.status != ListingStatus.deleted)
                            .values(status=ListingStatus.deleted))
    if done.rowcount != 1:
        raise NotFound(f"listing {listing_id} does not exist")


def add_image(engine: Engine, listing_id: int, body: ImageCreate) -> dict:
    with engine.begin() as conn:
        if conn.execute(select(Property.id).where(Property.id == listing_id).with_for_update()).first() is None:
            raise NotFound(f"listing {listing_id} does not exist")
        position = body.position
        if position is None:
            last = conn.execute(select(PropertyImage.position).where(PropertyImage.property_id == listing_id)
                                .order_by(PropertyImage.position.desc()).limit(1)).scalar()
            position = 0 if last is None else last + 1
        try:
            new_id = conn.execute(insert(PropertyImage).values(property_id=listing_id, url=body.url, position=position,
                                                               caption=body.caption)).inserted_primary_key[0]
        except IntegrityError as exc:
            raise Conflict(f"listing {listing_id} already has an image at position {position}") from exc
    return {"id": str(new_id), "position": position}


def delete_image(engine: Engine, listing_id: int, image_id: int) -> None:
    with engine.begin() as conn:
        done = conn.execute(delete(PropertyImage).where(PropertyImage.id == image_id,
                                                        PropertyImage.property_id == listing_id))
    if done.rowcount != 1:
        raise NotFound(f"image {image_id} of listing {listing_id} does not exist")


def create_user(engine: Engine, body: UserCreate) -> dict:
    try:
        with engine.begin() as conn:
            new_id = conn.execute(insert(User).values(source="api", **body.model_dump())).inserted_primary_key[0]
    except IntegrityError as exc:
        raise Conflict(f"a user with e-mail {body.email} already exists") from exc
    return {"id": str(new_id)}


def put_profile(engine: Engine, user_id: int, body: ProfileUpdate) -> dict:
    values = body.model_dump()
    with engine.begin() as conn:
        if not _exists(conn, User.id, user_id):
            raise NotFound(f"user {user_id} does not exist")
        if _exists(conn, UserProfile.user_id, user_id):
            conn.execute(update(UserProfile).where(UserProfile.user_id == user_id).values(**values))
        else:
            conn.execute(insert(UserProfile).values(user_id=user_id, **values))
    return {"user_id": str(user_id)}


def create_inquiry(engine: Engine, body: InquiryCreate) -> dict:
    with engine.begin() as conn:
        listing = conn.execute(select(Property.status).where(Property.id == body.property_id)).first()
        if listing is None or listing.status is ListingStatus.deleted:
            raise Invalid("property_id", f"no listing {body.property_id}")
        if not _exists(conn, User.id, body.user_id):
            raise Invalid("user_id", f"no user {body.user_id}")
        new_id = conn.execute(insert(Inquiry).values(**body.model_dump())).inserted_primary_key[0]
    return {"id": str(new_id)}
