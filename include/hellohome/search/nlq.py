"""Natural-language queries -> structured filters + the words left for full text.

"3BR condo in Brooklyn under $800K" -> bedrooms >= 3, property type condo (where the data has
such types), area Brooklyn, price <= 800,000, and no text left. Every piece recognised is
returned as an `Interpretation` (field, value, the words it came from), so a client can show it as
a chip and undo it. Places, property types and amenities come from the data's own gazetteer.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from hellohome.search.gazetteer import Gazetteer, fold
from hellohome.search.request import Filters, Sort

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "a": 1, "single": 1}
NUM = r"(\d+(?:\.\d+)?|" + "|".join(NUMBER_WORDS) + r")"
MONEY = r"[$£€]?\s*(\d[\d,]*(?:\.\d+)?)\s*([km])?\b"
PER_NIGHT = r"(?:\s*(?:/|per|a)\s*night|\s*nightly)?"

PRICE_BETWEEN = re.compile(rf"(?<![\w.])(?:between\s+)?{MONEY}\s*(?:-|to|and)\s*{MONEY}{PER_NIGHT}", re.I)
PRICE_MAX = re.compile(rf"\b(?:under|below|less\s+than|max(?:imum)?|up\s+to|at\s+most|no\s+more\s+than|"
                       rf"cheaper\s+than|within|budget(?:\s+of)?)\s*{MONEY}{PER_NIGHT}|<=?\s*{MONEY}{PER_NIGHT}", re.I)
PRICE_MIN = re.compile(rf"\b(?:over|above|more\s+than|at\s+least|min(?:imum)?|from)\s*{MONEY}{PER_NIGHT}"
                       rf"|>=?\s*{MONEY}{PER_NIGHT}", re.I)
BEDROOMS = re.compile(rf"\b{NUM}\s*-?\s*(?:br|bd|bdr|bdrm|bed(?:room)?s?)\b", re.I)
BATHROOMS = re.compile(rf"\b{NUM}\s*-?\s*(?:ba|bth|bath(?:room)?s?)\b", re.I)
GUESTS = re.compile(rf"\b(?:for|sleeps|sleeping|fits|accommodates)\s+{NUM}(?:\s*(?:people|persons|guests|adults))?\b"
                    rf"|\b{NUM}\s*(?:people|persons|guests|adults)\b", re.I)
ROOM_TYPES = [
    (re.compile(r"\bprivate\s+rooms?\b", re.I), "Private room"),
    (re.compile(r"\bshared\s+rooms?\b", re.I), "Shared room"),
    (re.compile(r"\bhotel\s+rooms?\b", re.I), "Hotel room"),
    (re.compile(r"\b(?:entire|whole)\s+(?:home|house|place|apartment|apt|flat|unit)\b", re.I), "Entire home/apt"),
]
SORTS = [
    (re.compile(r"\b(?:cheap(?:est)?|budget|affordable|inexpensive)\b", re.I), Sort.price_asc),
    (re.compile(r"\b(?:top|best|highly|highest)[\s-]+rated\b", re.I), Sort.rating),
    (re.compile(r"\b(?:new(?:est)?\s+listings?|newest|latest)\b", re.I), Sort.newest),
]
PROPERTY_WORDS = {"condo": "condo", "condos": "condo", "condominium": "condo", "townhouse": "townhouse",
                  "townhouses": "townhouse", "house": "home", "houses": "home", "home": "home", "loft": "loft",
                  "cottage": "cottage", "bungalow": "bungalow", "villa": "villa", "cabin": "cabin",
                  "guesthouse": "guesthouse", "serviced apartment": "serviced apartment", "boat": "boat",
                  "hostel": "hostel", "bed and breakfast": "bed and breakfast"}
# "near the castle" is a landmark, not a property type
PROPERTY = re.compile(r"(?<!near )(?<!near the )(?<!by the )(?<!to the )\b(" + "|".join(sorted(PROPERTY_WORDS, key=len, reverse=True)) + r")\b", re.I)
AMENITY = re.compile(r"\bwith\s+(?:a\s+|an\s+)?([a-z][a-z \-]{1,40}?)(?=$|[,.;]|\s+(?:and|in|near|under|for|max)\b)",
                     re.I)
CONNECTORS = {"in", "near", "with", "for", "and", "a", "an", "the", "at", "around", "by", "of", "per", "night",
              "nightly", "close", "to", "max", "under", "me", "please", "find", "show", "i", "want", "need"}
MAX_PLACE_WORDS = 8
FIELDS = {"price_range": {"price_min", "price_max"}}  # interpretations that set more than one filter


@dataclass
class Interpretation:
    field: str
    value: object
    text: str


@dataclass
class Parsed:
    filters: Filters
    text: str
    sort: Sort | None
    interpretation: list[Interpretation]

    def as_json(self) -> list[dict]:
        return [asdict(i) for i in self.interpretation]


def _number(token: str) -> float:
    return float(NUMBER_WORDS.get(token.lower(), token))


def _money(amount: str, suffix: str | None) -> float:
    value = float(amount.replace(",", ""))
    return value * {"k": 1e3, "m": 1e6}.get((suffix or "").lower(), 1)


class _Reader:
    """Consumes recognised spans of the query, leaving the rest for full text."""

    def __init__(self, q: str):
        self.rest = q
        self.found: dict[str, Interpretation] = {}

    def take(self, pattern: re.Pattern, field: str, value_of) -> bool:
        match = pattern.search(self.rest)
        if not match or field in self.found:
            return False
        value = value_of(match)
        if value is None:
            return False
        self.found[field] = Interpretation(field, value, match.group(0).strip())
        self.rest = self.rest[:match.start()] + " " + self.rest[match.end():]
        return True


def _first(match: re.Match, *groups: int):
    return next(match.group(g) for g in groups if match.group(g) is not None)


def _price_bound(match: re.Match) -> float:
    amount = next(i for i in (1, 3) if match.group(i) is not None)
    return _money(match.group(amount), match.group(amount + 1))


def _place(reader: _Reader, gazetteer: Gazetteer) -> None:
    words = reader.rest.split()
    for n in range(min(MAX_PLACE_WORDS, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            phrase = " ".join(words[i:i + n]).strip(",.;")
            if n == 1 and fold(phrase) in CONNECTORS | set(PROPERTY_WORDS):
                continue
            place = gazetteer.lookup(phrase, fuzzy=(n == 1))
            if place and place.kind not in reader.found:
                reader.found[place.kind] = Interpretation(place.kind, place.name, phrase)
                reader.rest = " ".join(words[:i] + words[i + n:])
                return _place(reader, gazetteer)


def parse(q: str, gazetteer: Gazetteer, context_city: str | None = None) -> Parsed:
    """context_city: the city the client already filters on, if any (types and amenities depend on it)."""
    r = _Reader(q)
    # counted things first, so "at least 2 baths" is never read as a price
    r.take(BEDROOMS, "bedrooms_min", lambda m: int(_number(m.group(1))))
    r.take(BATHROOMS, "bathrooms_min", lambda m: _number(m.group(1)))
    r.take(GUESTS, "accommodates_min", lambda m: int(_number(_first(m, 1, 2))))
    r.take(PRICE_BETWEEN, "price_range", lambda m: (_money(m.group(1), m.group(2)), _money(m.group(3), m.group(4))))
    r.take(PRICE_MAX, "price_max", _price_bound)
    r.take(PRICE_MIN, "price_min", _price_bound)
    for pattern, room_type in ROOM_TYPES:
        if r.take(pattern, "room_type", lambda m, rt=room_type: rt):
            break
    for pattern, sort in SORTS:
        if r.take(pattern, "sort", lambda m, s=sort: s):
            break
    _place(r, gazetteer)
    city = context_city
    for kind in ("city", "area", "neighbourhood"):
        if kind in r.found:
            city = gazetteer.city_of(r.found[kind].value)
            break
    # property types and amenities become filters only where the data has them (NYC's has neither)
    known_types = gazetteer.all_property_types(city)
    r.take(PROPERTY, "property_type", lambda m: sorted(
        t for t in known_types if PROPERTY_WORDS[m.group(1).lower()] in fold(t)) or None)
    known_amenities = gazetteer.all_amenities(city)
    r.take(AMENITY, "amenities", lambda m: [fold(m.group(1).strip())] if fold(m.group(1).strip()) in known_amenities
           else None)
    return _assemble(r)


def _assemble(r: _Reader) -> Parsed:
    updates: dict = {}
    for field, item in r.found.items():
        if field == "price_range":
            updates["price_min"], updates["price_max"] = sorted(item.value)
        elif field in ("city", "area", "neighbourhood", "room_type"):
            updates[field] = [item.value]
        elif field != "sort":
            updates[field] = item.value
    rest = [w for w in re.split(r"\s+", r.rest) if w and fold(w.strip(",.;!?")) not in CONNECTORS]
    sort = r.found["sort"].value if "sort" in r.found else None
    return Parsed(Filters.model_validate(updates), " ".join(rest).strip(" ,.;"), sort,
                  list(r.found.values()))


def merge(explicit: Filters, parsed: Filters) -> Filters:
    """Explicit filters win; parsed ones fill only what the client left unset."""
    merged = explicit.model_dump()
    for name, value in parsed.model_dump().items():
        if value not in (None, []) and merged.get(name) in (None, []):
            merged[name] = value
    return Filters.model_validate(merged)
