"""The embedding cache in MariaDB: sha256(model id, text) -> float32 vector. Survives restarts and
reindexes; a reindex of unchanged listings embeds nothing."""
from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, text

GET = text("SELECT content_hash, embedding FROM embedding_cache WHERE content_hash IN :hashes").bindparams(
    bindparam("hashes", expanding=True))
PUT = text("INSERT IGNORE INTO embedding_cache (content_hash, model_id, dim, embedding) "
           "VALUES (:hash, :model_id, :dim, :vector)")


def as_field(vector: np.ndarray) -> list[float]:
    """A vector as documents store it: plain floats, 6 decimals (plenty for cosine, half the JSON)."""
    return [round(float(x), 6) for x in vector]


def get_many(conn: Connection, hashes: list[str]) -> dict[str, np.ndarray]:
    if not hashes:
        return {}
    return {h: np.frombuffer(v, dtype=np.float32) for h, v in conn.execute(GET, {"hashes": sorted(set(hashes))})}


def put_many(engine: Engine, model_id: str, vectors: dict[str, np.ndarray]) -> None:
    if not vectors:
        return
    with engine.begin() as conn:
        conn.execute(PUT, [{"hash": h, "model_id": model_id, "dim": int(v.shape[0]),
                            "vector": v.astype(np.float32).tobytes()} for h, v in vectors.items()])
