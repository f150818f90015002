"""Index settings and mappings, in code. Vector dimensions come from settings, so a change of
embedding model changes the mapping (and so needs a new index version and a reindex)."""
from __future__ import annotations

import hashlib
import json

from hellohome.config import Settings
from hellohome.search import facets

HNSW = {"name": "hnsw", "space_type": "cosinesimil", "engine": "lucene",  # faiss: see README
        "parameters": {"m": 32, "ef_construction": 512}}

ANALYSIS = {
    "filter": {
        "english_stop": {"type": "stop", "stopwords": "_english_"},
        "english_stemmer": {"type": "stemmer", "language": "english"},
        "english_possessive": {"type": "stemmer", "language": "possessive_english"},
    },
    "analyzer": {
        # the built-in english chain plus ascii folding, so "café" matches "cafe"
        "listing_english": {"type": "custom", "tokenizer": "standard", "char_filter": ["html_strip"],
                            "filter": ["english_possessive", "lowercase", "asciifolding", "english_stop",
                                       "english_stemmer"]},
        "folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
    },
    "normalizer": {"lowercase": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
}

KEYWORD = {"type": "keyword"}
# place names: exact for facets, folded text for matching; place autocomplete uses a gazetteer of
# the few hundred distinct names, not shingles on every listing (indexing cost, see bench/backfill)
PLACE = {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": "folded"}}}
# every place name of a listing in one text field: one fuzzy clause per word instead of three
LISTING_PLACE = {**PLACE, "copy_to": "places"}


def fingerprint(body: dict) -> str:
    """What decides how documents are indexed: the mappings, the analysis and the facet buckets
    (documents carry their bucket keys). A live index with another fingerprint needs a backfill."""
    basis = {"mappings": {k: v for k, v in body["mappings"].items() if k != "_meta"},
             "analysis": body["settings"].get("analysis"), "facet_ranges": facets.RANGES}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


def _fingerprinted(body: dict) -> dict:
    body["mappings"]["_meta"] = {"fingerprint": fingerprint(body)}
    return body


def properties_body(settings: Settings) -> dict:
    return _fingerprinted({
        "settings": {"index": {
            "number_of_shards": settings.index_shards, "number_of_replicas": settings.index_replicas,
            "refresh_interval": settings.index_refresh_interval, "knn": True,
            "knn.algo_param.ef_search": 256, "max_result_window": 10_000,
        }, "analysis": ANALYSIS},
        "mappings": {"dynamic": "strict", "properties": {
            "id": {"type": "long"},
            "source": KEYWORD,
            "title": {"type": "text", "analyzer": "listing_english",
                      "fields": {"raw": {"type": "keyword", "ignore_above": 500},
                                 "folded": {"type": "text", "analyzer": "folded"},
                                 "suggest": {"type": "search_as_you_type", "analyzer": "folded"}}},
            "description": {"type": "text", "analyzer": "listing_english"},
            "property_type": KEYWORD, "room_type": KEYWORD, "city": LISTING_PLACE, "area": LISTING_PLACE,
            "neighbourhood": LISTING_PLACE, "places": {"type": "text", "analyzer": "folded"},
            "amenities": {"type": "keyword", "normalizer": "lowercase"},
            "bedrooms": {"type": "short"}, "beds": {"type": "short"}, "accommodates": {"type": "short"},
            "bathrooms": {"type": "half_float"},
            "price": {"type": "scaled_float", "scaling_factor": 100}, "currency": KEYWORD,
            "location": {"type": "geo_point"},
            "minimum_nights": {"type": "integer"}, "availability_365": {"type": "short"},
            "number_of_reviews": {"type": "integer"}, "review_score": {"type": "half_float"},
            "last_review": {"type": "date"}, "status": KEYWORD,
            "created_at": {"type": "date"}, "updated_at": {"type": "date"},
            "host": {"properties": {"id": {"type": "long"}, "name": {"type": "text", "analyzer": "folded"},
                                    "role": KEYWORD, "is_superhost": {"type": "boolean"},
                                    "host_since": {"type": "date"}}},
            "images": {"properties": {"url": {"type": "keyword", "index": False}, "position": {"type": "short"},
                                      "caption": {"type": "text", "analyzer": "listing_english"}}},
            "image_count": {"type": "short"},
            # provenance: what the document was built from, for versioning and parity checks
            "source_version": {"type": "long"},
            "source_commit_ms": {"type": "date", "format": "epoch_millis"},
            "checksum": KEYWORD,
            # "facet=value" per keyed facet (search/facets.py): only aggregated, so doc values, no index
            facets.KEYS_FIELD: {"type": "keyword", "index": False, "eager_global_ordinals": True},
            "text_vector": {"type": "knn_vector", "dimension": settings.text_vector_dim, "method": HNSW},
            "image_vector": {"type": "knn_vector", "dimension": settings.image_vector_dim, "method": HNSW},
            "enrichment": {"type": "object", "enabled": False},
        }},
    })


def user_profiles_body(settings: Settings) -> dict:
    return {
        "settings": {"index": {"number_of_shards": settings.profiles_index_shards,
                               "number_of_replicas": settings.index_replicas,
                               "refresh_interval": settings.index_refresh_interval}, "analysis": ANALYSIS},
        "mappings": {"dynamic": "strict", "properties": {
            "user_id": {"type": "long"}, "name": {"type": "text", "analyzer": "folded"}, "role": KEYWORD,
            "bio": {"type": "text", "analyzer": "listing_english"}, "home_location": PLACE,
            "home": {"type": "geo_point"}, "is_superhost": {"type": "boolean"}, "host_since": {"type": "date"},
            "updated_at": {"type": "date"},
        }},
    }
