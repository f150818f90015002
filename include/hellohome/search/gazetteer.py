"""The place names, property types and amenities the data itself holds, with their counts.

Read from the live index with one aggregation request (and cached by the caller): autocomplete
suggests places from it and the natural-language parser recognises places and types by it, so no
external geocoder is involved and a newly listed neighbourhood appears on its own.
"""
from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field

from opensearchpy import OpenSearch

PLACE_KINDS = ("city", "area", "neighbourhood")


def fold(text: str) -> str:
    """lowercase, accents removed: the form names are compared in."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Place:
    name: str
    kind: str  # city | area | neighbourhood
    count: int
    city: str

    @property
    def folded(self) -> str:
        return fold(self.name)


@dataclass
class Gazetteer:
    places: list[Place] = field(default_factory=list)
    property_types: dict[str, set[str]] = field(default_factory=dict)  # city -> property types seen there
    amenities: dict[str, set[str]] = field(default_factory=dict)  # city -> amenities seen there (folded)
    by_folded: dict[str, Place] = field(init=False, default_factory=dict)

    def __post_init__(self):
        # the most specific kind wins a name clash ("Manhattan" the area over a hotel called so)
        rank = {k: i for i, k in enumerate(PLACE_KINDS)}
        for place in sorted(self.places, key=lambda p: (rank[p.kind], -p.count)):
            self.by_folded.setdefault(place.folded, place)

    def lookup(self, words: str, fuzzy: bool = False) -> Place | None:
        key = fold(words)
        if key in self.by_folded:
            return self.by_folded[key]
        if fuzzy and len(key) >= 5 and " " not in key:
            close = difflib.get_close_matches(key, [k for k in self.by_folded if " " not in k], n=1, cutoff=0.84)
            return self.by_folded[close[0]] if close else None
        return None

    def suggest(self, prefix: str, limit: int = 5) -> list[Place]:
        """Places whose name (or a word of it) starts with prefix; typo-tolerant when none does."""
        key = fold(prefix).strip()
        if not key:
            return []
        hits = [p for k, p in self.by_folded.items()
                if k.startswith(key) or any(w.startswith(key) for w in k.split())]
        if not hits and len(key) >= 3:
            heads = {k[:len(key)]: None for k in self.by_folded}
            close = set(difflib.get_close_matches(key, list(heads), n=5, cutoff=0.75))
            hits = [p for k, p in self.by_folded.items() if k[:len(key)] in close]
        return sorted(hits, key=lambda p: -p.count)[:limit]

    def city_of(self, name: str) -> str | None:
        place = self.by_folded.get(fold(name))
        return place.city if place else None

    def all_property_types(self, city: str | None = None) -> set[str]:
        if city is not None:
            return self.property_types.get(city, set())
        return set().union(*self.property_types.values()) if self.property_types else set()

    def all_amenities(self, city: str | None = None) -> set[str]:
        if city is not None:
            return self.amenities.get(city, set())
        return set().union(*self.amenities.values()) if self.amenities else set()


def _terms(field_name: str, size: int, **sub) -> dict:
    return {"terms": {"field": field_name, "size": size}, **({"aggs": sub} if sub else {})}


def load(client: OpenSearch, index: str) -> Gazetteer:
    body = {"size": 0, "query": {"term": {"status": "active"}}, "aggs": {"cities": _terms(
        "city", 100, areas=_terms("area", 100), neighbourhoods=_terms("neighbourhood", 1000),
        property_types=_terms("property_type", 200), amenities=_terms("amenities", 500))}}
    raw = client.search(index=index, body=body, request_timeout=30)["aggregations"]["cities"]["buckets"]
    places, types, amenities = [], {}, {}
    for city in raw:
        name = city["key"]
        places.append(Place(name, "city", city["doc_count"], name))
        places += [Place(b["key"], "area", b["doc_count"], name) for b in city["areas"]["buckets"]]
        places += [Place(b["key"], "neighbourhood", b["doc_count"], name) for b in city["neighbourhoods"]["buckets"]]
        types[name] = {b["key"] for b in city["property_types"]["buckets"]}
        amenities[name] = {b["key"] for b in city["amenities"]["buckets"]}
    return Gazetteer(places, types, amenities)
