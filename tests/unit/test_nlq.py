"""Natural-language phrasings -> filters, sort and remaining text (table-driven)."""
from __future__ import annotations

import pytest

from hellohome.search import nlq
from hellohome.search.gazetteer import Gazetteer, Place
from hellohome.search.request import Filters, Sort

GAZETTEER = Gazetteer(
    places=[Place("New York", "city", 48000, "New York"), Place("Edinburgh", "city", 5700, "Edinburgh"),
            Place("Brooklyn", "area", 20000, "New York"), Place("Manhattan", "area", 21000, "New York"),
            Place("Queens", "area", 5600, "New York"), Place("Bronx", "area", 1000, "New York"),
            Place("Staten Island", "area", 370, "New York"), Place("Williamsburg", "neighbourhood", 3900, "New York"),
            Place("Harlem", "neighbourhood", 2600, "New York"), Place("Park Slope", "neighbourhood", 1000, "New York"),
            Place("East Village", "neighbourhood", 1800, "New York"),
            Place("Old Town, Princes Street and Leith Street", "neighbourhood", 900, "Edinburgh"),
            Place("Leith", "neighbourhood", 300, "Edinburgh")],
    property_types={"New York": set(), "Edinburgh": {"Entire condo", "Private room in condo", "Entire home",
                                                     "Entire townhouse", "Entire rental unit"}},
    amenities={"New York": set(), "Edinburgh": {"wifi", "kitchen", "washer", "free parking on premises"}},
)

# (query, expected filter values, expected text, expected sort)
CASES = [
    ("3BR condo in Brooklyn under $800K", {"bedrooms_min": 3, "area": ["Brooklyn"], "price_max": 800_000}, "condo", None),
    ("cheap private room near Central Park", {"room_type": ["Private room"]}, "Central Park", Sort.price_asc),
    ("2 bed 1 bath Williamsburg max $200/night",
     {"bedrooms_min": 2, "bathrooms_min": 1, "neighbourhood": ["Williamsburg"], "price_max": 200}, "", None),
    ("entire home for 6 in Queens with parking",
     {"room_type": ["Entire home/apt"], "accommodates_min": 6, "area": ["Queens"]}, "parking", None),
    ("loft in brookln", {"area": ["Brooklyn"]}, "loft", None),
    ("apartment in Manhatan", {"area": ["Manhattan"]}, "apartment", None),
    ("2BR in Harlem", {"bedrooms_min": 2, "neighbourhood": ["Harlem"]}, "", None),
    ("two bedroom apartment in Park Slope", {"bedrooms_min": 2, "neighbourhood": ["Park Slope"]}, "apartment", None),
    ("studio East Village under 150", {"neighbourhood": ["East Village"], "price_max": 150}, "studio", None),
    ("shared room in the Bronx", {"room_type": ["Shared room"], "area": ["Bronx"]}, "", None),
    ("hotel room Manhattan", {"room_type": ["Hotel room"], "area": ["Manhattan"]}, "", None),
    ("sleeps 4 Staten Island", {"accommodates_min": 4, "area": ["Staten Island"]}, "", None),
    ("place for 3 guests in Queens", {"accommodates_min": 3, "area": ["Queens"]}, "place", None),
    ("$100-$200 private room Brooklyn",
     {"price_min": 100, "price_max": 200, "room_type": ["Private room"], "area": ["Brooklyn"]}, "", None),
    ("between 80 and 120 a night in Harlem", {"price_min": 80, "price_max": 120, "neighbourhood": ["Harlem"]}, "", None),
    ("over $300 Manhattan penthouse", {"price_min": 300, "area": ["Manhattan"]}, "penthouse", None),
    ("at least 2 baths", {"bathrooms_min": 2}, "least", None),
    ("1.5 bath loft", {"bathrooms_min": 1.5}, "loft", None),
    ("top rated room in Williamsburg", {"neighbourhood": ["Williamsburg"]}, "room", Sort.rating),
    ("newest listings in Brooklyn", {"area": ["Brooklyn"]}, "", Sort.newest),
    ("cozy flat in Edinburgh with wifi", {"city": ["Edinburgh"], "amenities": ["wifi"]}, "cozy flat", None),
    ("condo in Edinburgh", {"city": ["Edinburgh"], "property_type": ["Entire condo", "Private room in condo"]}, "", None),
    ("townhouse Edinburgh under £150", {"city": ["Edinburgh"], "property_type": ["Entire townhouse"],
                                        "price_max": 150}, "", None),
    ("Leith with a kitchen", {"neighbourhood": ["Leith"], "amenities": ["kitchen"]}, "", None),
    ("Old Town, Princes Street and Leith Street 2 bedrooms",
     {"neighbourhood": ["Old Town, Princes Street and Leith Street"], "bedrooms_min": 2}, "", None),
    ("quiet flat near the castle with a view", {}, "quiet flat castle view", None),
    ("affordable studio", {}, "studio", Sort.price_asc),
    ("3 bd 2 ba for 5 people", {"bedrooms_min": 3, "bathrooms_min": 2, "accommodates_min": 5}, "", None),
    ("4 bedrooms under 1.2m in Manhattan", {"bedrooms_min": 4, "price_max": 1_200_000, "area": ["Manhattan"]}, "", None),
    ("under $1,500 per night Brooklyn", {"price_max": 1500, "area": ["Brooklyn"]}, "", None),
    ("budget of $90 in Queens", {"price_max": 90, "area": ["Queens"]}, "", None),
    ("less than 75 dollars private room", {"price_max": 75, "room_type": ["Private room"]}, "dollars", None),
    ("entire apartment brooklyn", {"room_type": ["Entire home/apt"], "area": ["Brooklyn"]}, "", None),
    ("BROOKLYN 2BR", {"area": ["Brooklyn"], "bedrooms_min": 2}, "", None),
    ("rooftop terrace", {}, "rooftop terrace", None),
    ("", {}, "", None),
    ("new york loft", {"city": ["New York"]}, "loft", None),
    ("cheapest place in Staten Island for two", {"area": ["Staten Island"], "accommodates_min": 2}, "place",
     Sort.price_asc),
    ("whole house for 8 in Edinburgh", {"room_type": ["Entire home/apt"], "accommodates_min": 8,
                                        "city": ["Edinburgh"]}, "", None),
    ("house in Queens", {"area": ["Queens"]}, "house", None),  # NYC data has no property types: stays text
    ("'; DROP TABLE properties; -- in Brooklyn", {"area": ["Brooklyn"]}, "'; DROP TABLE properties; --", None),
    ("{\"match_all\": {}} Harlem", {"neighbourhood": ["Harlem"]}, "{\"match_all\": {}}", None),
    ("Brooklyn Manhattan", {"area": ["Brooklyn"]}, "Manhattan", None),  # one place per kind; the rest is text
]


@pytest.mark.parametrize(("query", "expected", "text", "sort"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_phrasing(query, expected, text, sort):
    parsed = nlq.parse(query, GAZETTEER)
    got = {k: v for k, v in parsed.filters.model_dump().items() if v not in (None, [])}
    assert got == expected
    assert parsed.text == text
    assert parsed.sort == sort


def test_at_least_forty_phrasings():
    assert len(CASES) >= 40


def test_interpretation_names_the_words_it_came_from():
    parsed = nlq.parse("3BR condo in Brooklyn under $800K", GAZETTEER)
    assert {(i.field, i.text) for i in parsed.interpretation} == {
        ("bedrooms_min", "3BR"), ("area", "Brooklyn"), ("price_max", "under $800K")}


def test_explicit_filters_win_over_parsed_ones():
    parsed = nlq.parse("Brooklyn under $100", GAZETTEER).filters
    merged = nlq.merge(Filters(area=["Queens"]), parsed)
    assert merged.area == ["Queens"] and merged.price_max == 100
