"""API behaviour the other API tests leave out: key revocation and the admin scope, a profile put,
an image removed, a listing read back, and what the rate limiter does when Redis is down."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from hellohome.api import keys
from hellohome.db.engine import get_engine
from hellohome.db.models import AUTO_ID_START

pytestmark = pytest.mark.usefixtures("leaves_loaded_data_as_found")


def _prefix(key: str) -> str:
    return key.split("_", 2)[1]


def test_a_revoked_key_fails_at_once_and_admin_needs_its_scope(client, search_settings):
    engine = get_engine(search_settings, "app")
    write, admin = keys.create(engine, "revocation", ["write"]), keys.create(engine, "ops", ["admin"])
    body = {"email": "revoked@example.com", "name": "Revoked"}
    assert client.post("/api/v1/users", json=body, headers={"X-API-Key": write}).status_code == 201
    assert keys.revoke(engine, _prefix(write))
    refused = client.post("/api/v1/users", json={**body, "email": "revoked2@example.com"}, headers={"X-API-Key": write})
    assert refused.status_code == 401 and "revoked" in refused.get_json()["error"]["message"]
    status = client.get("/api/v1/admin/status", headers={"X-API-Key": admin})
    assert status.status_code == 200 and status.get_json()["documents"] > 50_000
    assert client.post("/api/v1/users", json=body, headers={"X-API-Key": admin}).status_code == 403  # admin ≠ write
    assert keys.revoke(engine, _prefix(admin))
    assert client.get("/api/v1/admin/status", headers={"X-API-Key": admin}).status_code == 401


@pytest.fixture(scope="module")
def writer(search_settings):
    return {"X-API-Key": keys.create(get_engine(search_settings, "app"), "writes", ["write"])}


def _row(settings, sql: str, **params):
    with get_engine(settings, "readonly").connect() as conn:
        return conn.execute(text(sql), params).first()


def test_put_profile_creates_then_replaces_it(client, search_settings, writer):
    uid = client.post("/api/v1/users", json={"email": "profile@example.com", "name": "P", "role": "host"},
                      headers=writer).get_json()["id"]
    first = client.put(f"/api/v1/users/{uid}/profile", json={"bio": "Hi", "is_superhost": True,
                                                             "home_latitude": "55.95", "home_longitude": "-3.19"},
                       headers=writer)
    assert first.status_code == 200 and first.get_json() == {"user_id": uid}
    again = client.put(f"/api/v1/users/{uid}/profile", json={"bio": "Changed"}, headers=writer)
    assert again.status_code == 200
    row = _row(search_settings, "SELECT bio, is_superhost, home_latitude FROM user_profiles WHERE user_id = :u",
               u=int(uid))
    assert (row.bio, row.is_superhost, row.home_latitude) == ("Changed", None, None)  # a put replaces the profile
    missing = client.put("/api/v1/users/4611686018427387000/profile", json={"bio": "x"}, headers=writer)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    bad = client.put(f"/api/v1/users/{uid}/profile", json={"home_latitude": 91}, headers=writer)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"][0]["field"] == "home_latitude"


def test_delete_an_image_of_a_listing(client, search_settings, writer):
    host = client.post("/api/v1/users", json={"email": "img-host@example.com", "name": "H", "role": "host"},
                       headers=writer).get_json()["id"]
    pid = client.post("/api/v1/properties", headers=writer, json={
        "host_id": int(host), "title": "Image test flat", "room_type": "Entire home/apt", "currency": "GBP",
        "city": "Edinburgh", "neighbourhood": "Leith", "latitude": 55.97, "longitude": -3.17}).get_json()["id"]
    image = client.post(f"/api/v1/properties/{pid}/images", json={"url": "https://img.example/del.jpg",
                                                                  "position": 77}, headers=writer)
    assert image.status_code == 201
    image_id = image.get_json()["id"]
    assert client.delete(f"/api/v1/properties/{pid}/images/{image_id}", headers=writer).status_code == 204
    assert _row(search_settings, "SELECT id FROM property_images WHERE id = :i", i=int(image_id)) is None
    again = client.delete(f"/api/v1/properties/{pid}/images/{image_id}", headers=writer)
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"
    assert client.delete(f"/api/v1/properties/{pid}/images/{image_id}").status_code == 401  # no key


def test_get_a_listing_returns_its_document(client, search_settings):
    row = _row(search_settings, "SELECT id, title, price, city FROM properties WHERE status = 'active' "
                                "AND id < :made ORDER BY id DESC LIMIT 1", made=AUTO_ID_START)  # a loaded one
    r = client.get(f"/api/v1/properties/{row.id}")
    assert r.status_code == 200
    doc = r.get_json()
    assert (doc["id"], doc["title"], doc["price"], doc["city"]) == (str(row.id), row.title, float(row.price), row.city)
    assert "text_vector" not in doc and "image_vector" not in doc
    assert client.get("/api/v1/properties/4611686018427387000").status_code == 404


def test_rate_limits_fail_open_when_redis_is_down(search_settings, search_service, unused_tcp_port):
    """The policy: limits protect the cluster, they are not authorisation; with Redis unreachable the
    API keeps serving (unlimited, logged by Flask-Limiter) rather than failing every search."""
    from serving.app import create_app

    no_redis = search_settings.model_copy(update={"redis_port": unused_tcp_port, "api_search_limit": "2 per minute",
                                                  "index_prefix": search_settings.index_prefix})
    c = create_app(no_redis, search_service).test_client()
    statuses = [c.get("/api/v1/autocomplete?q=harl").status_code for _ in range(5)]
    assert statuses == [200] * 5  # past the 2-per-minute limit: nothing counted, nothing refused
