"""Versioned indexes behind aliases: create, swap atomically, refuse to drop a live one; an index
built from an older mapping is recognised."""
import pytest
from opensearchpy import OpenSearch, RequestError

from hellohome.errors import HelloHomeError
from hellohome.search import facets, indexes, mappings

PREFIX = "test-idx-"


@pytest.fixture
def os_client(stack):
    client = OpenSearch(stack.opensearch_url, timeout=60)
    client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)
    yield client
    client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)


def test_mapping_follows_configured_dimensions_and_hnsw(stack, os_client):
    name = indexes.create(os_client, stack, "properties", PREFIX)
    assert name == f"{PREFIX}properties_v1"
    props = os_client.indices.get_mapping(index=name)[name]["mappings"]["properties"]
    assert props["text_vector"]["dimension"] == stack.text_vector_dim
    assert props["image_vector"]["method"]["parameters"] == {"m": 32, "ef_construction": 512}
    settings = os_client.indices.get_settings(index=name)[name]["settings"]["index"]
    assert settings["number_of_shards"] == str(stack.index_shards) and settings["knn"] == "true"
    tokens = os_client.indices.analyze(index=name, body={"analyzer": "listing_english", "text": "Café apartments<br/>"})
    assert [t["token"] for t in tokens["tokens"]] == ["cafe", "apart"]


def test_swap_moves_both_aliases_and_drop_refuses_the_live_index(stack, os_client):
    v1 = indexes.create(os_client, stack, "properties", PREFIX)
    v2 = indexes.create(os_client, stack, "properties", PREFIX)
    assert indexes.current(os_client, "properties", PREFIX) == v1
    with pytest.raises(HelloHomeError, match="live behind"):
        indexes.drop(os_client, v1)
    indexes.swap(os_client, "properties", v2, PREFIX)
    assert indexes.current(os_client, "properties", PREFIX) == v2
    write = os_client.indices.get_alias(name=indexes.write_alias("properties", PREFIX))
    assert list(write) == [v2]
    indexes.drop(os_client, v1)
    assert [r["index"] for r in indexes.listing(os_client, PREFIX)] == [v2]
    with pytest.raises(HelloHomeError, match="not a version"):
        indexes.swap(os_client, "properties", "elsewhere", PREFIX)


def test_an_index_from_an_older_mapping_is_found_and_gets_the_new_fields(stack, os_client):
    assert indexes.outdated(os_client, stack, "properties", PREFIX) is None  # no index yet
    name = indexes.create(os_client, stack, "properties", PREFIX)
    assert indexes.outdated(os_client, stack, "properties", PREFIX) is None  # built by this code
    # what an index from before facet_keys looks like: the field missing, the fingerprint another
    older = mappings.properties_body(stack)
    del older["mappings"]["properties"][facets.KEYS_FIELD]
    older["mappings"]["_meta"] = {"fingerprint": "older"}
    os_client.indices.delete(index=name)
    os_client.indices.create(index=name, body={**older, "aliases": {
        indexes.read_alias("properties", PREFIX): {},
        indexes.write_alias("properties", PREFIX): {"is_write_index": True}}})
    write = indexes.write_alias("properties", PREFIX)
    with pytest.raises(RequestError, match="strict_dynamic_mapping"):
        os_client.index(index=write, id="1", body={"id": 1, facets.KEYS_FIELD: ["city=Leith"]})
    assert indexes.outdated(os_client, stack, "properties", PREFIX) == name
    indexes.add_new_fields(os_client, stack, "properties", PREFIX)
    os_client.index(index=write, id="1", body={"id": 1, facets.KEYS_FIELD: ["city=Leith"]}, refresh=True)
    # the fields are there, the documents are not rebuilt: it still needs a backfill
    assert indexes.outdated(os_client, stack, "properties", PREFIX) == name


def test_a_field_mapped_differently_is_refused_with_a_clear_error(stack, os_client):
    older = mappings.properties_body(stack)
    older["mappings"]["properties"][facets.KEYS_FIELD] = {"type": "long"}
    os_client.indices.create(index=f"{PREFIX}properties_v1", body={**older, "aliases": {
        indexes.read_alias("properties", PREFIX): {},
        indexes.write_alias("properties", PREFIX): {"is_write_index": True}}})
    with pytest.raises(HelloHomeError, match="hellohome backfill"):
        indexes.add_new_fields(os_client, stack, "properties", PREFIX)
