"""The Flask API over real OpenSearch, MariaDB and Redis: contract, auth, limits, bad input, degraded modes."""
from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import text

from hellohome.api import keys
from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.search.service import SearchService
from hellohome.stack import api as api_service

pytestmark = pytest.mark.usefixtures("leaves_loaded_data_as_found")


@pytest.fixture(scope="module")
def write_key(search_settings):
    return keys.create(get_engine(get_settings(), "app"), "tests", ["write"])


def counts(settings) -> dict:
    with get_engine(settings, "readonly").connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', id, updated_at))), 0) "
                                     f"FROM {t}")).one() for t in ("properties", "users", "inquiries", "property_images")}


def test_search_get_and_post_agree(client):
    got = client.get("/api/v1/search?q=loft&area=Brooklyn&price_max=200&size=5").get_json()
    posted = client.post("/api/v1/search", json={"q": "loft", "filters": {"area": ["Brooklyn"], "price_max": 200},
                                                 "size": 5}).get_json()
    assert got["total"] == posted["total"] > 0 and [h["id"] for h in got["hits"]] == [h["id"] for h in posted["hits"]]
    assert len(got["facets"]) >= 15 and isinstance(got["hits"][0]["id"], str)


def test_autocomplete_and_openapi(client):
    r = client.get("/api/v1/autocomplete?q=harl").get_json()
    assert r["places"][0]["name"] == "Harlem"
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/search" in spec["paths"]
    assert "SearchRequest" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200 and client.get("/docs/swagger-ui-bundle.js").status_code == 200


def test_writes_need_a_valid_key(client, write_key, search_settings):
    body = {"email": "nokey@example.com", "name": "No Key"}
    assert client.post("/api/v1/users", json=body).status_code == 401
    assert client.post("/api/v1/users", json=body, headers={"X-API-Key": "hh_bogus_bogus"}).status_code == 401
    assert client.get("/api/v1/admin/status", headers={"X-API-Key": write_key}).status_code == 403
    created = client.post("/api/v1/users", json=body, headers={"X-API-Key": write_key})
    assert created.status_code == 201
    again = client.post("/api/v1/users", json=body, headers={"X-API-Key": write_key})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"


def test_write_lifecycle_goes_to_mariadb(client, write_key, search_settings):
    h = {"X-API-Key": write_key}
    user = client.post("/api/v1/users", json={"email": "host@example.com", "name": "Host", "role": "host"}, headers=h)
    listing = {"host_id": int(user.get_json()["id"]), "title": "API loft", "room_type": "Entire home/apt",
               "currency": "USD", "city": "New York", "area": "Brooklyn", "neighbourhood": "Bushwick",
               "latitude": 40.7, "longitude": -73.92, "price": "99.50"}
    created = client.post("/api/v1/properties", json=listing, headers=h)
    assert created.status_code == 201
    pid = int(created.get_json()["id"])
    patched = client.patch(f"/api/v1/properties/{pid}", json={"price": "120.00", "expected_version": 1}, headers=h)
    assert patched.status_code == 200 and patched.get_json()["version"] == 2
    stale = client.patch(f"/api/v1/properties/{pid}", json={"price": "130.00", "expected_version": 1}, headers=h)
    assert stale.status_code == 409
    image = client.post(f"/api/v1/properties/{pid}/images", json={"url": "https://img.example/1.jpg"}, headers=h)
    assert image.status_code == 201 and image.get_json()["position"] == 0
    inquiry = client.post("/api/v1/inquiries", json={"property_id": pid, "user_id": int(user.get_json()["id"]),
                                                     "message": "Is it free in May?"}, headers=h)
    assert inquiry.status_code == 201
    assert client.delete(f"/api/v1/properties/{pid}", headers=h).status_code == 204
    assert client.delete(f"/api/v1/properties/{pid}", headers=h).status_code == 404
    with get_engine(search_settings, "readonly").connect() as conn:
        row = conn.execute(text("SELECT price, status, version FROM properties WHERE id = :i"), {"i": pid}).one()
    assert (str(row.price), row.status, row.version) == ("120.00", "deleted", 3)


BAD_SEARCHES = [
    ("GET", "/api/v1/search?price_min=-5", 422), ("GET", "/api/v1/search?price_min=500&price_max=100", 422),
    ("GET", "/api/v1/search?size=10000", 422), ("GET", "/api/v1/search?sort=cheapest_first", 422),
    ("GET", "/api/v1/search?page=0", 422), ("GET", "/api/v1/search?page=500&size=100", 422),
    ("GET", "/api/v1/search?near=40.7,abc,2", 400), ("GET", "/api/v1/search?bbox=1,2,3", 400),
    ("GET", "/api/v1/search?sort=distance", 422), ("GET", "/api/v1/search?cursor=notacursor", 422),
    ("GET", "/api/v1/search?surprise=1", 400), ("GET", "/api/v1/search?q=" + "x" * 10_000, 422),
    ("GET", "/api/v1/search?q=%00", 422), ("GET", "/api/v1/autocomplete?q=", 400),
    ("GET", "/api/v1/autocomplete?q=ab&size=999", 400), ("GET", "/api/v1/properties/99999999999999999999", 404),
    ("GET", "/api/v1/properties/123/similar?size=0", 400),
]


@pytest.mark.parametrize(("method", "url", "status"), BAD_SEARCHES, ids=[u[:60] for _, u, _ in BAD_SEARCHES])
def test_bad_search_input_is_a_clear_4xx(client, method, url, status):
    r = client.open(url, method=method)
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"]["message"]


INJECTIONS = ["'; DROP TABLE properties; --", "\" OR 1=1 --", '{"query": {"match_all": {}}}',
              "*:* OR title:*", "<script>alert(1)</script>", "Ünïcödé 住宅 🏠", "\\u0000", "title:(a OR b)^99"]


@pytest.mark.parametrize("q", INJECTIONS)
def test_injection_strings_are_plain_text(client, search_settings, q):
    """The hostile text alone, as the query: matched as words, never as `*:*` or query syntax (a
    query_string regression would return every listing, or a 400 for its syntax)."""
    before = counts(search_settings)
    everything = client.post("/api/v1/search", json={}).get_json()  # with facets: the total is exact
    assert everything["total_is_exact"] and everything["total"] > 50_000
    r = client.post("/api/v1/search", json={"q": q, "interpret": False})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.get_json()["total_is_exact"] and r.get_json()["total"] < everything["total"]
    as_filter = client.post("/api/v1/search", json={"q": q, "filters": {"area": [q]}})
    assert as_filter.status_code == 200 and as_filter.get_json()["total"] == 0  # no area is called that
    assert client.get("/api/v1/autocomplete", query_string={"q": q[:100]}).status_code == 200
    assert counts(search_settings) == before


BAD_WRITES = [
    ("/api/v1/properties", b"{not json", 400), ("/api/v1/properties", {"title": "x"}, 422),
    ("/api/v1/properties", {"host_id": 1, "title": "x", "room_type": "r", "currency": "usd", "city": "c",
                            "neighbourhood": "n", "latitude": 91, "longitude": 0}, 422),
    ("/api/v1/properties", {"host_id": 9, "title": "x", "room_type": "r", "currency": "USD", "city": "c",
                            "neighbourhood": "n", "latitude": 1, "longitude": 1, "price": "-1"}, 422),
    ("/api/v1/properties", {"host_id": 12345678901, "title": "x", "room_type": "r", "currency": "USD", "city": "c",
                            "neighbourhood": "n", "latitude": 1, "longitude": 1}, 422),
    ("/api/v1/users", {"email": "not-an-email", "name": "x"}, 422),
    ("/api/v1/users", {"email": "a@example.com", "name": "x", "is_admin": True}, 422),
    ("/api/v1/inquiries", {"property_id": 1, "user_id": 1, "message": ""}, 422),
    ("/api/v1/inquiries", {"property_id": 999999999999, "user_id": 1, "message": "hi"}, 422),
]


@pytest.mark.parametrize(("url", "body", "status"), BAD_WRITES, ids=[str(b)[:50] for _, b, _ in BAD_WRITES])
def test_bad_writes_change_nothing(client, write_key, search_settings, url, body, status):
    before = counts(search_settings)
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, bytes) else {"json": body}
    r = client.post(url, headers={"X-API-Key": write_key}, **kwargs)
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"]["code"] and counts(search_settings) == before


def test_rate_limit_answers_429_with_retry_after_then_recovers(search_settings, search_service):
    from serving.app import create_app

    limited = create_app(search_settings.model_copy(update={"api_search_limit": "3 per 2 second",
                                                            "index_prefix": "test-ratelimit-"}), search_service)
    c = limited.test_client()
    c.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    statuses = [c.get("/api/v1/autocomplete?q=harl").status_code for _ in range(5)]
    assert statuses[:3] == [200] * 3 and statuses[3:] == [429, 429]
    r = c.get("/api/v1/autocomplete?q=harl")
    assert r.get_json()["error"]["code"] == "too_many_requests" and int(r.headers["Retry-After"]) >= 1
    other = limited.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.9.8.8"
    assert other.get("/api/v1/autocomplete?q=harl").status_code == 200
    time.sleep(2.1)
    assert c.get("/api/v1/autocomplete?q=harl").status_code == 200


def test_opensearch_down_search_503_writes_work(search_settings, write_key, unused_tcp_port):
    from serving.app import create_app

    dead = search_settings.model_copy(update={"opensearch_port": unused_tcp_port})
    c = create_app(dead, SearchService(dead)).test_client()
    r = c.get("/api/v1/search?q=loft")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "search_unavailable"
    ready = c.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["search"] is False and ready.get_json()["writes"] is True
    w = c.post("/api/v1/users", json={"email": "while-os-down@example.com", "name": "x"}, headers={"X-API-Key": write_key})
    assert w.status_code == 201


def test_mariadb_down_writes_503_search_works(search_settings, search_service, write_key, unused_tcp_port):
    """An app whose MariaDB does not answer (its settings point at a port nobody listens on)."""
    from serving.app import create_app

    db_down = search_settings.model_copy(update={"db_port": unused_tcp_port})
    c = create_app(db_down, search_service).test_client()
    w = c.post("/api/v1/users", json={"email": "db-down@example.com", "name": "x"}, headers={"X-API-Key": write_key})
    assert w.status_code == 503 and w.get_json()["error"]["code"] == "database_unavailable"
    assert c.get("/api/v1/search?q=loft").status_code == 200
    ready = c.get("/readyz").get_json()
    assert ready["writes"] is False and ready["search"] is True


def _autocomplete_count(base: str) -> float:
    metrics = requests.get(f"{base}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("hellohome_api_request_seconds_count") and 'endpoint="search.autocomplete"' in line)


def test_gunicorn_workers_share_metrics(stack):
    """30 requests spread over the API's gunicorn workers: /metrics (whichever worker answers it)
    counts every one of them, not only its own."""
    base = api_service.url(stack)
    before = _autocomplete_count(base)
    for _ in range(30):
        assert requests.get(f"{base}/api/v1/autocomplete?q=harl", timeout=10).status_code == 200
    assert _autocomplete_count(base) - before == 30
