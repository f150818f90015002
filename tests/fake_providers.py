"""A local HTTP server speaking the documented shapes of Walk Score, GreatSchools and CrimeoMeter
(the real services are paid and unreachable here). Answers 200 to the key "good-key", 403 to any
other; `FakeApis.failures[path]` queues statuses to answer first; `FakeApis.calls` counts requests."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

from tests.http_server import QuietHandler

ANSWERS = {
    "/score": {"status": 1, "walkscore": 98, "description": "Walker's Paradise", "transit": {"score": 100},
               "bike": {"score": 71}, "snapped_lat": 40.71, "snapped_lon": -74.0},
    "/nearby-schools": {"schools": [{"name": "PS 1", "rating": 8}, {"name": "PS 2", "rating": 5},
                                    {"name": "New school", "rating": None}]},
    "/v1/incidents/stats": [{"total_incidents": 412, "report_types": [{"type": "theft", "count": 300}]}],
}
AUTH = {"/score": ("query", "wsapikey"), "/nearby-schools": ("header", "X-API-Key"),
        "/v1/incidents/stats": ("header", "x-api-key")}


class FakeApis(QuietHandler):
    calls: dict[str, int] = {}
    failures: dict[str, list[int]] = {}

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        FakeApis.calls[url.path] = FakeApis.calls.get(url.path, 0) + 1
        where, name = AUTH[url.path]
        key = parse_qs(url.query).get(name, [None])[0] if where == "query" else self.headers.get(name)
        queued = FakeApis.failures.get(url.path) or []
        status = queued.pop(0) if queued else (200 if key == "good-key" else 403)
        self.reply(status, "application/json",
                   json.dumps(ANSWERS[url.path] if status == 200 else {"error": "nope"}).encode())
