"""Image vectors from photos served over real HTTP by a local server (images the test draws):
fetch limits, safe decoding, cache, recorded failures, and the listing vector in the document."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import text

from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.documents import documents_for
from hellohome.enrich.enricher import Enricher
from hellohome.enrich.image import DIM, ImageEmbedder
from hellohome.search import bulk, indexes
from tests.http_server import QuietHandler, serving

pytestmark = pytest.mark.usefixtures("leaves_loaded_data_as_found")


def drawn(colour: str, size=(400, 300), fmt="JPEG") -> bytes:
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).ellipse((50, 50, 250, 250), fill="white")
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def resized(body: bytes, size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(body)).resize(size).save(out, "PNG")
    return out.getvalue()


FILES = {"/red.jpg": ("image/jpeg", drawn("red")), "/red-big.png": ("image/png", resized(drawn("red"))),
         "/blue.jpg": ("image/jpeg", drawn("navy")), "/page.html": ("text/html", b"<html>no</html>"),
         "/broken.jpg": ("image/jpeg", drawn("red")[:300]), "/huge.jpg": ("image/jpeg", b"x" * (9 * 2**20))}
REQUESTS: list[str] = []


class Photos(QuietHandler):
    def do_GET(self):  # noqa: N802
        REQUESTS.append(self.path)
        if self.path not in FILES:
            self.send_error(404)
            return
        kind, body = FILES[self.path]
        self.reply(200, kind, body)


@pytest.fixture(scope="module")
def photos():
    with serving(Photos) as url:
        yield url


@pytest.fixture(scope="module")
def images():
    return ImageEmbedder(timeout_s=2)


def test_fetch_decode_embed_and_cache(photos, images, loaded_db):
    engine = get_engine(get_settings(), "app")
    urls = [f"{photos}{p}" for p in ("/red.jpg", "/red-big.png", "/blue.jpg", "/page.html", "/broken.jpg",
                                     "/huge.jpg", "/missing.jpg")]
    vectors, errors = images.vectors(engine, urls)
    assert set(vectors) == set(urls[:3])
    assert all(v.shape == (DIM,) and abs(np.linalg.norm(v) - 1) < 1e-3 for v in vectors.values())
    assert "content type text/html" in errors[urls[3]] and "not a decodable image" in errors[urls[4]]
    assert "larger than" in errors[urls[5]] and "404" in errors[urls[6]]
    red, red_big, blue = (vectors[u] for u in urls[:3])
    assert float(red @ red_big) > float(red @ blue)  # the same picture at another size stays closest
    REQUESTS.clear()
    again, again_errors = images.vectors(engine, urls)
    assert REQUESTS == [] and set(again) == set(urls[:3])  # cached vectors, failures not retried within the hour
    assert all("retried after an hour" in e for e in again_errors.values())
    with engine.begin() as conn:  # an hour later
        conn.execute(text("UPDATE provider_cache SET expires_at = '2020-01-01' WHERE provider = 'image-fetch'"))
    images.vectors(engine, urls)
    assert sorted(REQUESTS) == sorted(p.removeprefix(photos) for p in urls[3:])


def test_listing_image_vector_in_the_document_and_kept_by_rebuilds(photos, search_settings, loaded_db, request):
    engine = get_engine(get_settings(), "app")
    with engine.begin() as conn:
        host = conn.execute(text("SELECT id FROM users LIMIT 1")).scalar()
        conn.execute(text("INSERT INTO properties (host_id, title, room_type, currency, city, neighbourhood, "
                          "latitude, longitude, price) VALUES (:h, 'Photo flat', 'Entire home/apt', 'GBP', "
                          "'Edinburgh', 'Leith', 55.97, -3.17, 90)"), {"h": host})
        pid = conn.execute(text("SELECT LAST_INSERT_ID()")).scalar()
        for position, path in enumerate(("/red.jpg", "/blue.jpg", "/missing-too.jpg")):
            conn.execute(text("INSERT INTO property_images (property_id, url, position) VALUES (:p, :u, :n)"),
                         {"p": pid, "u": f"{photos}{path}", "n": position})
    client = indexes.client(search_settings)
    alias = indexes.write_alias("properties", search_settings.index_prefix)
    with engine.connect() as conn:
        docs = documents_for(get_settings(), conn, [pid])
    bulk.apply(client, alias, docs, {}, {pid: 1})
    request.addfinalizer(lambda: client.delete(index=alias, id=str(pid), refresh=True))  # leave the index as found
    enricher = Enricher(search_settings, wait_s=5)
    assert enricher.enrich({pid: (0, 0)})["enriched"] == 1
    doc = client.get(index=alias, id=str(pid))["_source"]
    meta = doc["enrichment"]["image"]
    assert (meta["images"], meta["embedded"], meta["failed"]) == (3, 2, 1) and "404" in meta["errors"][0]
    assert len(doc["image_vector"]) == DIM and doc["text_vector"]
    with engine.begin() as conn:  # the broken photo is replaced: all three now cached -> rebuilt docs carry it
        conn.execute(text("UPDATE property_images SET url = :u WHERE property_id = :p AND position = 2"),
                     {"u": f"{photos}/red-big.png", "p": pid})
    enricher.images.vectors(engine, [f"{photos}/red-big.png"])
    with engine.connect() as conn:
        rebuilt = documents_for(get_settings(), conn, [pid])[pid]
    assert len(rebuilt["image_vector"]) == DIM and rebuilt["enrichment"]["image"]["embedded"] == 3
    assert rebuilt["text_vector"] == doc["text_vector"]
