"""`hellohome generate`: resample the real listings into N realistic ones, straight into MariaDB.

Each generated listing starts from a real template row of the same city: coordinates jittered by
~300 m and kept inside the city's real bounding box, price scaled by a log-normal factor, title
spliced from two real titles of the same neighbourhood, description re-mixed from real sentences,
amenities thinned, review figures borrowed from another real listing. Hosts are a generated pool
(about 4 listings each) with real first names. Same seed → same rows; a larger count extends a smaller
one, and re-running upserts the same ids (GENERATED_ID_START + n).
"""
from __future__ import annotations

import json
import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Engine, text
from tqdm import tqdm

from hellohome.db.models import GENERATED_ID_START
from hellohome.loaders.records import ListingRecord, check_listing
from hellohome.loaders.writer import upsert_listings

SOURCE = "generated"
SENTENCE = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)
SPLIT_TITLE = re.compile(r"\s+(?:-|–|\||in|near|by|with|w/)\s+|,\s*", re.IGNORECASE)
TEMPLATE_QUERY = text("SELECT * FROM properties WHERE source <> :generated ORDER BY id")
FIRST_IMAGES = text("SELECT i.property_id, i.url FROM property_images i JOIN properties p ON p.id = i.property_id "
                    "WHERE p.source <> :generated ORDER BY i.property_id, i.position DESC")

@dataclass
class GenerateReport:
    rows: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class Resampler:
    def __init__(self, templates: list[dict], host_names: list[str], seed: int):
        if not templates:
            raise ValueError("no real listings to resample: run `hellohome load nyc` / `load edinburgh` first")
        self.templates, self.host_names = templates, host_names or ["Alex"]
        self.rng = random.Random(seed)
        self.by_place: dict[tuple, list[dict]] = defaultdict(list)
        self.by_city: dict[str, list[dict]] = defaultdict(list)
        self.bounds: dict[str, tuple[float, float, float, float]] = {}
        for t in templates:
            self.by_place[(t["city"], t["neighbourhood"])].append(t)
            self.by_city[t["city"]].append(t)
        for city, rows in self.by_city.items():
            lats, lons = [float(r["latitude"]) for r in rows], [float(r["longitude"]) for r in rows]
            self.bounds[city] = (min(lats), max(lats), min(lons), max(lons))
        self.described = {city: [r for r in rows if r["description"]] for city, rows in self.by_city.items()}

    def _title(self, t: dict) -> str:
        if self.rng.random() < 0.4:
            return t["title"]
        other = self.rng.choice(self.by_place[(t["city"], t["neighbourhood"])])["title"]
        head = SPLIT_TITLE.split(t["title"], maxsplit=1)[0]
        tail = SPLIT_TITLE.split(other, maxsplit=1)
        joined = f"{head} - {tail[-1]}" if len(tail) > 1 and tail[-1] else f"{head} - {other}"
        return joined[:500]

    def _description(self, t: dict) -> str | None:
        pool = self.described.get(t["city"])
        if pool:
            sentences = [s for s in SENTENCE.split(t["description"] or self.rng.choice(pool)["description"]) if s.strip()]
            sentences += [s for s in SENTENCE.split(self.rng.choice(pool)["description"]) if s.strip()][:3]
            keep = sorted(self.rng.sample(range(len(sentences)), k=max(1, int(len(sentences) * 0.7))))
            return " ".join(sentences[i].strip() for i in keep)
        # a city whose real data has no descriptions: real titles of the same neighbourhood as sentences
        place = self.by_place[(t["city"], t["neighbourhood"])]
        return ". ".join(self.rng.choice(place)["title"] for _ in range(3)) + "."

    def listing(self, n: int) -> ListingRecord:
        rng, t = self.rng, self.rng.choice(self.templates)
        lat_min, lat_max, lon_min, lon_max = self.bounds[t["city"]]
        lat = min(lat_max, max(lat_min, float(t["latitude"]) + rng.gauss(0, 0.003)))
        lon = min(lon_max, max(lon_min, float(t["longitude"]) + rng.gauss(0, 0.004)))
        price = None if t["price"] is None else round(float(t["price"]) * rng.lognormvariate(0, 0.2))
        amenities = json.loads(t["amenities"]) if isinstance(t["amenities"], str) else t["amenities"]
        if amenities:
            amenities = sorted(a for a in amenities if rng.random() > 0.1)
        reviews = rng.choice(self.by_city[t["city"]])
        host_n = rng.randrange(n // 4 + 1)  # depends on n only, so a larger count extends a smaller one
        prop = {
            "id": GENERATED_ID_START + n, "source": SOURCE, "host_id": GENERATED_ID_START + host_n,
            "title": self._title(t), "description": self._description(t),
            "property_type": t["property_type"], "room_type": t["room_type"], "bedrooms": t["bedrooms"],
            "beds": t["beds"], "bathrooms": t["bathrooms"], "accommodates": t["accommodates"], "price": price,
            "currency": t["currency"], "city": t["city"], "area": t["area"], "neighbourhood": t["neighbourhood"],
            "latitude": round(lat, 6), "longitude": round(lon, 6), "amenities": amenities,
            "minimum_nights": reviews["minimum_nights"], "availability_365": reviews["availability_365"],
            "number_of_reviews": reviews["number_of_reviews"], "review_score": reviews["review_score"],
            "last_review": reviews["last_review"],
        }
        host = {"id": GENERATED_ID_START + host_n, "source": SOURCE,
                "name": self.host_names[host_n % len(self.host_names)]}
        return ListingRecord(property=prop, host=host, images=[t["image"]] if t["image"] else [])


def load_templates(engine: Engine) -> tuple[list[dict], list[str]]:
    with engine.connect() as conn:
        templates = [dict(r._mapping) for r in conn.execute(TEMPLATE_QUERY, {"generated": SOURCE})]
        first_image = dict(conn.execute(FIRST_IMAGES, {"generated": SOURCE}).all())  # descending, so the lowest position wins
        for t in templates:
            t["image"] = first_image.get(t["id"])
        names = [r[0] for r in conn.execute(text(
            "SELECT DISTINCT name FROM users WHERE source <> :generated AND name NOT LIKE 'Host %' ORDER BY name"),
            {"generated": SOURCE})]
    return templates, names


def generate(engine: Engine, count: int, *, seed: int = 42, batch_size: int = 5000,
             progress: bool = True) -> GenerateReport:
    started = time.perf_counter()
    templates, names = load_templates(engine)
    resampler = Resampler(templates, names, seed)
    with tqdm(total=count, unit="row", desc="generate", disable=not progress, mininterval=0.5) as bar:
        for start in range(0, count, batch_size):
            batch = [resampler.listing(n) for n in range(start, min(count, start + batch_size))]
            for rec in batch:
                problems = check_listing(rec, generated=True)
                if problems:  # a template the generator cannot use is a bug here, not bad input
                    raise AssertionError(f"generated listing {rec.property['id']} invalid: {problems}")
            with engine.begin() as conn:
                upsert_listings(conn, batch)
            bar.update(len(batch))
    return GenerateReport(rows=count, seconds=time.perf_counter() - started)
