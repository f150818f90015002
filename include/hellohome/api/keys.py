"""API keys: `hh_<prefix>_<secret>`. Only a sha256 of the whole key is stored; the prefix finds the
row, and the hash is compared in constant time."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from hellohome.db.models import ApiKey
from hellohome.errors import Invalid

SCOPES = ("write", "admin")


@dataclass(frozen=True)
class Key:
    id: int
    name: str
    scopes: frozenset[str]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(engine: Engine, name: str, scopes: list[str]) -> str:
    """Store a new key and return it in clear text: the only time it is ever seen."""
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise Invalid("scopes", f"choose from {', '.join(SCOPES)} (got {', '.join(scopes) or 'none'})")
    if not name.strip() or len(name) > 100:
        raise Invalid("name", "1 to 100 characters")
    prefix = secrets.token_hex(6)
    key = f"hh_{prefix}_{secrets.token_urlsafe(24)}"
    with engine.begin() as conn:
        conn.execute(insert(ApiKey).values(name=name.strip(), prefix=prefix, key_hash=_hash(key),
                                           scopes=",".join(sorted(set(scopes)))))
    return key


def verify(engine: Engine, presented: str | None) -> Key | None:
    if not presented or not presented.startswith("hh_") or presented.count("_") < 2 or len(presented) > 200:
        return None
    prefix = presented.split("_", 2)[1]
    with engine.connect() as conn:
        row = conn.execute(select(ApiKey.id, ApiKey.name, ApiKey.key_hash, ApiKey.scopes)
                           .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))).first()
    if row is None or not hmac.compare_digest(row.key_hash, _hash(presented)):
        return None
    return Key(row.id, row.name, frozenset(row.scopes.split(",")))


def revoke(engine: Engine, prefix: str) -> bool:
    with engine.begin() as conn:
        done = conn.execute(update(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
                            .values(revoked_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
    return done.rowcount == 1


def listing(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(ApiKey.prefix, ApiKey.name, ApiKey.scopes, ApiKey.created_at, ApiKey.revoked_at)
                            .order_by(ApiKey.id)).all()
    return [r._asdict() for r in rows]
